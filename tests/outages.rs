//! Backend outages (issue 10): with the pipeline running on real servers (`collect`, `speed`,
//! `ingest`, `serve` as separate processes), Kafka, Cassandra and ZooKeeper are each stopped for
//! `LT_OUTAGE_SECONDS` (default 30) and started again (`scripts/it/down.sh` / `up.sh`). Checks:
//! - no component exits; the components that need the missing server report it on `/readyz`
//!   (503) during the outage, and every `/readyz` is 200 again after it;
//! - a recompute during the ZooKeeper outage fails with a clear error, and leaves no half flip:
//!   the active pair is unchanged and no recompute is pending once ZooKeeper is back;
//! - no acknowledged post is lost: after the collector stops and everything catches up, the
//!   master dataset holds every post of the log exactly once, the speed view has no hashtag
//!   below its true count, and after a recompute the served series equal the ground truth.
//!
//! It stops and starts the shared test servers, so it must run alone: cargo runs test binaries
//! one after another, and this binary has one test.

mod common;

use common::{Children, lambda_trends};
use ports::EventLog;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn it_script(script: &str, server: &str) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("scripts/it").join(script))
        .arg(server)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scripts/it/{script} {server}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Pipeline {
    dir: PathBuf,
    children: Children,
    /// `/readyz` per component.
    ready: BTreeMap<&'static str, String>,
    api: String,
}

impl Pipeline {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = lambda_trends();
        c.arg("--config")
            .arg(self.dir.join("lambda-trends.toml"))
            .args(args)
            .env("RUST_LOG", "info");
        c
    }

    fn status(&self) -> Value {
        let out = self.command(&["status", "--json"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `/readyz` status code of each component (0: no answer).
    async fn readiness(&self) -> BTreeMap<&'static str, u16> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap();
        let mut out = BTreeMap::new();
        for (name, url) in &self.ready {
            let code = match client.get(url).send().await {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            };
            out.insert(*name, code);
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_backend_down_for_a_while_loses_nothing_and_is_reported() {
    let Some((kafka, cassandra, zk)) = common::real_servers() else {
        return;
    };
    let outage = Duration::from_secs(
        std::env::var("LT_OUTAGE_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(30),
    );
    let dir = tempfile::tempdir().unwrap();
    let id = format!("{:08x}", rand::random::<u32>());
    let (api, speed_t, ingest_t, collect_t) = (
        common::free_port(),
        common::free_port(),
        common::free_port(),
        common::free_port(),
    );
    common::write_real_pipeline_config(
        dir.path(),
        ("outage", &id),
        (&kafka, &cassandra, &zk),
        api,
        "wait-timeout-secs = 20",
    );
    let mut p = Pipeline {
        dir: dir.path().to_path_buf(),
        children: Children::new(dir.path()),
        ready: BTreeMap::from([
            ("collect", format!("http://127.0.0.1:{collect_t}/readyz")),
            ("speed", format!("http://127.0.0.1:{speed_t}/readyz")),
            ("ingest", format!("http://127.0.0.1:{ingest_t}/readyz")),
            ("serve", format!("http://127.0.0.1:{api}/readyz")),
        ]),
        api: format!("http://127.0.0.1:{api}"),
    };
    let out = p.command(&["migrate"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, args, port) in [
        ("speed", vec!["speed"], Some(speed_t)),
        ("ingest", vec!["ingest"], Some(ingest_t)),
        ("serve", vec!["serve"], None),
        (
            "collect",
            vec!["collect", "--source", "synthetic", "--rate", "500"],
            Some(collect_t),
        ),
    ] {
        let mut c = p.command(&args);
        if let Some(port) = port {
            c.env("LT__TELEMETRY__LISTEN", format!("127.0.0.1:{port}"));
        }
        p.children.spawn(name, c);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while p.readiness().await.values().any(|c| *c != 200) {
        p.children.assert_alive(&[]);
        assert!(
            Instant::now() < deadline,
            "not ready: {:?}\n{}",
            p.readiness().await,
            p.children.logs()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let before = p.status();

    let mut reported: BTreeMap<&str, BTreeMap<&str, u16>> = BTreeMap::new();
    for server in ["kafka", "cassandra", "zookeeper"] {
        tokio::time::sleep(Duration::from_secs(3)).await;
        it_script("down.sh", server);
        let started = Instant::now();
        let mut seen: BTreeMap<&str, u16> = BTreeMap::new();
        let mut recompute_err = None;
        while started.elapsed() < outage {
            p.children.assert_alive(&[]);
            let sample = p.readiness().await;
            eprintln!(
                "{:>5.1} s without {server}: {sample:?}",
                started.elapsed().as_secs_f64()
            );
            for (name, code) in sample {
                if code != 200 {
                    seen.insert(name, code);
                }
            }
            if server == "zookeeper"
                && recompute_err.is_none()
                && started.elapsed() > Duration::from_secs(3)
            {
                let out = p.command(&["recompute"]).output().unwrap();
                assert!(
                    !out.status.success(),
                    "a recompute without ZooKeeper cannot succeed"
                );
                recompute_err = Some(String::from_utf8_lossy(&out.stderr).into_owned());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        it_script("up.sh", server);
        if let Some(err) = recompute_err {
            let error = err
                .lines()
                .find(|l| l.starts_with("Error:"))
                .unwrap_or_else(|| panic!("no error line: {err}"));
            eprintln!("recompute during the ZooKeeper outage: {error}");
            assert!(
                error.contains("coordinator") && error.contains("zk://"),
                "the error names what is missing: {err}"
            );
        }
        // Everything recovers by itself.
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let r = p.readiness().await;
            if r.values().all(|c| *c == 200) {
                break;
            }
            p.children.assert_alive(&[]);
            assert!(
                Instant::now() < deadline,
                "still not ready after {server} came back: {r:?}\n{}",
                p.children.logs()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        eprintln!("{server} down for {outage:?}: not ready meanwhile {seen:?}");
        reported.insert(server, seen);
    }
    // Who needs what: the collector, the speed layer and the ingest need Kafka; the speed
    // layer and serving need Cassandra and ZooKeeper.
    for (server, component) in [
        ("kafka", "collect"),
        ("kafka", "speed"),
        ("kafka", "ingest"),
        ("cassandra", "speed"),
        ("cassandra", "serve"),
        ("zookeeper", "speed"),
        ("zookeeper", "serve"),
    ] {
        assert!(
            reported[server].contains_key(component),
            "{component} did not report the {server} outage on /readyz: {reported:?}"
        );
    }
    // No half flip.
    let after = p.status();
    assert_eq!(
        after["active"], before["active"],
        "the active pair is unchanged"
    );
    assert!(
        after["speed_state"]["recompute"].is_null(),
        "no recompute left pending: {after}"
    );

    // The collector stops (SIGTERM: it flushes); the rest catch up.
    let pid = p.children.pid("collect");
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = p.status();
        let ends = s["log_end_offsets"].as_object().unwrap();
        let caught_up = p.children.exit_status("collect").is_some()
            && ends.iter().all(|(part, e)| {
                let e = e.as_u64().unwrap();
                s["speed_committed"][part].as_u64().unwrap_or(0) >= e
                    && s["master_offsets"][part].as_u64().unwrap_or(0) >= e
            });
        if caught_up {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no catch-up: {s}\n{}",
            p.children.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    p.children.assert_alive(&["collect"]);

    let raw = kafka::KafkaEventLog::connect(&format!("kafka://{kafka}"), Default::default())
        .await
        .unwrap();
    let log: Arc<dyn EventLog> =
        Arc::new(ports::NamespacedLog::new(raw, &format!("lt-outage-{id}")).unwrap());
    let views = cassandra::CassandraViewStore::connect_with(
        &format!("cassandra://{cassandra}/lt_outage_{id}"),
        Default::default(),
    )
    .await
    .unwrap();
    let (truth, total) = common::log_truth(&log).await;
    assert!(total > 1000, "posts were collected ({total})");

    common::assert_master_exactly_once(&dir.path().join("data/master"), total).await;

    let check = common::assert_speed_lost_nothing(views.as_ref(), &truth).await;

    let out = p.command(&["recompute"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let epoch = p.status()["active"]["epoch"].as_u64().unwrap();
    common::assert_served_series_equal_truth(&p.api, epoch, &truth, &check, 30).await;
    p.children.assert_alive(&["collect"]);
}
