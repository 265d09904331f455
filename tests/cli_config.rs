//! The configuration as the command line layers it: `config show` with a file, environment
//! overrides, secrets redacted, unknown keys refused.

mod common;
use common::lambda_trends;

#[test]
fn config_show_layers_file_and_environment_and_never_prints_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lambda-trends.toml");
    std::fs::write(
        &file,
        "[cassandra]\nusername = \"analyst\"\n[serving]\nlisten = \"0.0.0.0:9000\"\n",
    )
    .unwrap();
    let out = lambda_trends()
        .args(["--config", file.to_str().unwrap(), "config", "show"])
        .env("LT__CASSANDRA__PASSWORD", "cassandra-pw-7f3a")
        .env("LT__KAFKA__SASL_PASSWORD", "kafka-pw-91bc")
        .env("LT__SERVING__ADMIN_TOKEN", "admin-tok-5d2e")
        .env("LT__SERVING__READ_TOKEN", "read-tok-c81a")
        .env("LT__TELEMETRY__LISTEN", "0.0.0.0:9464")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "config show failed: {stderr}");
    let shown: toml::Value = toml::from_str(&stdout).unwrap();
    assert_eq!(
        shown["serving"]["listen"].as_str(),
        Some("0.0.0.0:9000"),
        "from the file"
    );
    assert_eq!(
        shown["telemetry"]["listen"].as_str(),
        Some("0.0.0.0:9464"),
        "from the environment"
    );
    assert_eq!(shown["cassandra"]["username"].as_str(), Some("analyst"));
    assert_eq!(shown["cassandra"]["password"].as_str(), Some("<redacted>"));
    assert_eq!(shown["kafka"]["sasl-password"].as_str(), Some("<redacted>"));
    assert_eq!(shown["serving"]["admin-token"].as_str(), Some("<redacted>"));
    assert_eq!(shown["serving"]["read-token"].as_str(), Some("<redacted>"));
    for secret in [
        "cassandra-pw-7f3a",
        "kafka-pw-91bc",
        "admin-tok-5d2e",
        "read-tok-c81a",
    ] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} was printed"
        );
    }
}

#[test]
fn unknown_keys_are_refused_with_their_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo.toml");
    std::fs::write(&file, "[serving]\nlisten-on = \"0.0.0.0:9000\"\n").unwrap();
    let out = lambda_trends()
        .args(["--config", file.to_str().unwrap(), "config", "show"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("listen-on"),
        "the error names the key: {stderr}"
    );
}

/// `backends.master = "s3://…"` configured by the standard AWS_* variables, as the Helm chart
/// renders it, against the S3-compatible test server (`scripts/it/s3.sh`).
#[test]
fn an_s3_master_dataset_is_configured_by_the_aws_environment() {
    let Some(endpoint) = ports::conformance::server_address("LT_IT_S3", "S3 (moto)") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = lambda_trends()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["status", "--json"])
        .env("LT__BACKENDS__MASTER", "s3://lambda-trends-it/cli-status")
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["master_rows"], 0);
    // A wrong endpoint is an error that names the dataset, not a silent local fallback.
    let out = lambda_trends()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["status", "--json"])
        .env("LT__BACKENDS__MASTER", "s3://lambda-trends-it/cli-status")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_MAX_RETRIES", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("master dataset"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Kafka over TLS with SCRAM, configured the way the Helm chart renders it (`kafka.properties`
/// in the config file, the password in `LT__KAFKA__SASL_PASSWORD`), against the test broker's
/// SASL_SSL listener (`scripts/it/up.sh`): `migrate` creates the topics there; a wrong password
/// fails with the broker's reason and without the password in the output.
#[test]
fn kafka_over_tls_with_scram_is_configured_like_the_chart_renders_it() {
    let Some(addr) = ports::conformance::server_address("LT_IT_KAFKA_SASL_SSL", "Kafka SASL_SSL")
    else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lambda-trends.toml");
    let namespace = format!("lt-cli-tls-{:08x}", rand::random::<u32>());
    std::fs::write(
        &file,
        format!(
            "[backends]\nevent-log = \"kafka://{addr}/{namespace}\"\n\
             [kafka]\nclient-id = \"lambda-trends-cli-tls\"\n\
             [kafka.properties]\n\"security.protocol\" = \"SASL_SSL\"\n\
             \"sasl.mechanism\" = \"SCRAM-SHA-512\"\n\"sasl.username\" = \"{user}\"\n\
             \"ssl.ca.location\" = \"{ca}\"\n",
            user = var("LT_IT_KAFKA_USER"),
            ca = var("LT_IT_KAFKA_CA"),
        ),
    )
    .unwrap();
    let migrate = |password: &str| {
        lambda_trends()
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--config", file.to_str().unwrap(), "migrate"])
            .env("LT__KAFKA__SASL_PASSWORD", password)
            .output()
            .unwrap()
    };
    let out = migrate(&var("LT_IT_KAFKA_PASSWORD"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "migrate over SASL_SSL failed: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Topic posts is ready ("),
        "migrate made the topic on the TLS listener: {stdout}"
    );

    let out = migrate("wrong-password-5d1e");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "a wrong password was accepted");
    assert!(all.contains("SASL authentication error"), "{all}");
    assert!(
        !all.contains("wrong-password-5d1e"),
        "the password was printed: {all}"
    );
}

/// `serve` at the most verbose log level, asked with right and wrong tokens in headers and
/// query strings, admin actions included: no token ever reaches its log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_never_logs_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut children = common::Children::new(dir.path());
    let mut serve = common::lambda_trends_in(&dir.path().join("data"));
    serve
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "trace")
        .env("LT__SERVING__ADMIN_TOKEN", "admin-tok-5d2e")
        .env("LT__SERVING__READ_TOKEN", "read-tok-c81a");
    children.spawn("serve", serve);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        children.assert_alive(&[]);
        assert!(std::time::Instant::now() < deadline, "serve did not start");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut statuses = Vec::new();
    for token in ["read-tok-c81a", "wrong-tok-0b7f", "admin-tok-5d2e"] {
        let r = client
            .get(format!("{base}/api/v1/trending"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        let r = client
            .get(format!("{base}/api/v1/status?access_token={token}"))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        let r = client
            .post(format!("{base}/api/v1/admin/rollback"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(
        statuses,
        [200, 200, 401, 401, 401, 401, 200, 200, 409],
        "read, wrong and admin tokens (nothing to roll back: 409)"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "verbose log"
    );
    for secret in ["read-tok-c81a", "wrong-tok-0b7f", "admin-tok-5d2e"] {
        assert!(!log.contains(secret), "{secret} is in the log");
    }
}
