//! Graceful shutdown (issue 10): every long-running component stops on SIGTERM within 10 s, with
//! exit status 0, and flushes on the way out. The speed layer and the ingest run with flush
//! intervals far longer than the test, so only their shutdown flush can have committed what they
//! had read; `serve` has a live socket.io client and an open keep-alive connection when told to
//! stop; `up` runs everything in one process.

mod common;

use common::{Children, lambda_trends};
use model::avro::PostCodec;
use model::{POSTS_TOPIC, Post};
use ports::NewRecord;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const POSTS: u64 = 500;
/// The longest a component may take to stop.
const GRACE: Duration = Duration::from_secs(10);

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = lambda_trends();
    c.arg("--config")
        .arg(dir.join("lambda-trends.toml"))
        .args(args)
        .env("RUST_LOG", "info");
    c
}

async fn counter(url: &str, name: &str) -> u64 {
    let Ok(r) = reqwest::get(url).await else {
        return 0;
    };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// Sends SIGTERM to `name` and waits for it to exit: panics unless it exits successfully within
/// [`GRACE`]; returns how long it took.
fn terminate(children: &mut Children, name: &str) -> Duration {
    let pid = children.pid(name);
    let started = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    loop {
        if let Some(status) = children.exit_status(name) {
            assert!(
                status.success(),
                "`{name}` exited with {status} on SIGTERM:\n{}",
                children.logs()
            );
            return started.elapsed();
        }
        assert!(
            started.elapsed() < GRACE,
            "`{name}` did not stop within {GRACE:?} of SIGTERM:\n{}",
            children.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn status(dir: &Path) -> serde_json::Value {
    let out = command(dir, &["status", "--json"]).output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_component_stops_on_sigterm_within_ten_seconds_with_its_flush() {
    let dir = tempfile::tempdir().unwrap();
    let (api, speed_m, ingest_m) = (
        common::free_port(),
        common::free_port(),
        common::free_port(),
    );
    std::fs::write(
        dir.path().join("lambda-trends.toml"),
        format!(
            r#"data-dir = "{data}"
[speed]
flush-interval-ms = 3600000
flush-max-records = 1000000
[ingest]
flush-interval-ms = 3600000
flush-max-records = 1000000
[serving]
listen = "127.0.0.1:{api}"
assets-dir = "{data}/no-dashboard"
"#,
            data = dir.path().join("data").display()
        ),
    )
    .unwrap();
    {
        let backends =
            ports::Backends::open(&ports::BackendUrls::default(), &dir.path().join("data"))
                .unwrap();
        let codec = PostCodec::new();
        let now = chrono::Utc::now().timestamp_millis();
        let records = (0..POSTS as i64)
            .map(|i| NewRecord {
                key: i.to_string().into_bytes(),
                value: codec.encode(&Post {
                    userid: i,
                    username: format!("u{i}"),
                    timestamp: now - i * 1000,
                    tweetid: i,
                    tweet: format!("#shutdown post {i}"),
                    source: None,
                    lang: None,
                    hashtags: None,
                }),
                headers: vec![],
            })
            .collect();
        backends.log.ensure_topic(POSTS_TOPIC).await.unwrap();
        backends.log.append(POSTS_TOPIC, records).await.unwrap();
    }
    let mut children = Children::new(dir.path());
    let mut speed = command(dir.path(), &["speed"]);
    speed.env("LT__TELEMETRY__LISTEN", format!("127.0.0.1:{speed_m}"));
    children.spawn("speed", speed);
    let mut ingest = command(dir.path(), &["ingest"]);
    ingest.env("LT__TELEMETRY__LISTEN", format!("127.0.0.1:{ingest_m}"));
    children.spawn("ingest", ingest);
    children.spawn("serve", command(dir.path(), &["serve"]));

    // Both have read every post, and (with hour-long flush intervals) committed nothing yet.
    let deadline = Instant::now() + Duration::from_secs(60);
    let speed_metrics = format!("http://127.0.0.1:{speed_m}/metrics");
    let ingest_metrics = format!("http://127.0.0.1:{ingest_m}/metrics");
    while counter(&speed_metrics, "lambda_speed_received_events_total").await < POSTS
        || counter(&ingest_metrics, "lambda_ingest_received_events_total").await < POSTS
    {
        children.assert_alive(&[]);
        assert!(
            Instant::now() < deadline,
            "the posts were not read:\n{}",
            children.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = status(dir.path());
    assert_eq!(
        common::offsets_sum(&before, "speed_committed"),
        0,
        "nothing committed before the shutdown: {before}"
    );
    assert_eq!(
        common::offsets_sum(&before, "master_offsets"),
        0,
        "{before}"
    );

    // serve, with a socket.io client connected and a keep-alive HTTP connection open.
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{api}");
    assert!(
        client
            .get(format!("{base}/api/v1/status"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let (socket, _) = tokio_tungstenite::connect_async(format!(
        "ws://127.0.0.1:{api}/socket.io/?EIO=4&transport=websocket"
    ))
    .await
    .expect("a socket.io client connects");

    let took = [
        ("speed", terminate(&mut children, "speed")),
        ("ingest", terminate(&mut children, "ingest")),
        ("serve", terminate(&mut children, "serve")),
    ];
    drop(socket);
    let after = status(dir.path());
    assert_eq!(
        common::offsets_sum(&after, "speed_committed"),
        POSTS,
        "the speed layer flushed and committed on SIGTERM: {after}"
    );
    assert_eq!(
        common::offsets_sum(&after, "master_offsets"),
        POSTS,
        "the ingest wrote its files and manifest on SIGTERM: {after}"
    );
    let counted: u64 = {
        let backends =
            ports::Backends::open(&ports::BackendUrls::default(), &dir.path().join("data"))
                .unwrap();
        let now = model::SlotStart::containing(chrono::Utc::now().timestamp_millis());
        backends
            .views
            .read_series(
                ports::ViewTable::Speed(ports::SpeedTable::Zero),
                "shutdown",
                now.minus(3),
                now,
            )
            .await
            .unwrap()
            .iter()
            .map(|c| c.count as u64)
            .sum()
    };
    assert_eq!(
        counted, POSTS,
        "the flushed increments are in the speed view"
    );

    // A recompute waiting for speed workers that are not there stops too, abandoning its
    // recompute: the active pair is untouched and no recompute is left pending.
    children.spawn("recompute", command(dir.path(), &["recompute"]));
    let deadline = Instant::now() + Duration::from_secs(30);
    while status(dir.path())["speed_state"]["recompute"].is_null() {
        children.assert_alive(&["speed", "ingest", "serve"]);
        assert!(Instant::now() < deadline, "the recompute did not begin");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let started = Instant::now();
    let pid = children.pid("recompute");
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    while children.exit_status("recompute").is_none() {
        assert!(
            started.elapsed() < GRACE,
            "recompute did not stop within {GRACE:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let after = status(dir.path());
    assert!(after["speed_state"]["recompute"].is_null(), "{after}");
    assert_eq!(after["active"]["epoch"], 0, "{after}");

    // up: everything in one process.
    children.spawn("up", command(dir.path(), &["up", "--rate", "200"]));
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        children.assert_alive(&["speed", "ingest", "serve", "recompute"]);
        assert!(Instant::now() < deadline, "up did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let up_took = terminate(&mut children, "up");
    eprintln!("stopped in: {took:?}, up {up_took:?}");
}
