//! Freshness: from a post appended to the event log to its count visible in the served series,
//! at 6,000 posts/s of background load (the thesis's load test), on the embedded backends.
//!
//! ```sh
//! cargo bench --bench freshness                          # 200 probes at 6,000 posts/s (release)
//! cargo bench --bench freshness -- --rate 20000 --probes 500 --flush-ms 250
//! cargo test --bench freshness                           # smoke: 20 probes at 500 posts/s
//! ```
//!
//! One process runs the synthetic collector at the given rate, a speed worker (commit boundary
//! every `--flush-ms`, default 250: the knob that trades freshness for write batching), and
//! serving. A probe appends a post with a hashtag of its own, then asks `/series` for it every
//! 5 ms until its count shows: the time from the append's return to the first answer that
//! counts it. One JSON line on stdout.

mod common;
use collector::publisher::{CollectorConfig, SourceKind};
use common::arg;
use model::{POSTS_TOPIC, Post, SlotStart};
use ports::{BackendUrls, Backends, NewRecord};
use speed_layer::SpeedConfig;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let full = common::measuring();
    let rate: f64 = arg("--rate")
        .map(|s| s.parse().expect("--rate N"))
        .unwrap_or(if full { 6000.0 } else { 500.0 });
    let probes: usize = arg("--probes")
        .map(|s| s.parse().expect("--probes N"))
        .unwrap_or(if full { 200 } else { 20 });
    let flush_ms: u64 = arg("--flush-ms")
        .map(|s| s.parse().expect("--flush-ms N"))
        .unwrap_or(250);

    let dir = tempfile::tempdir().unwrap();
    let backends = Backends::open(&BackendUrls::default(), dir.path()).unwrap();
    backends.views.migrate().await.unwrap();
    let shutdown = CancellationToken::new();

    let collector = CollectorConfig {
        source: SourceKind::Synthetic,
        rate,
        ..CollectorConfig::default()
    };
    tokio::spawn(collector::publisher::run(
        backends.log.clone(),
        backends.codec.clone(),
        collector,
        shutdown.clone(),
        None,
    ));
    let speed = SpeedConfig {
        flush_interval_ms: flush_ms,
        ..SpeedConfig::default()
    };
    tokio::spawn(speed_layer::run(backends.clone(), speed, shutdown.clone()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serving::serve(
        listener,
        backends.clone(),
        serving::ServingConfig {
            listen: addr.to_string(),
            ..serving::ServingConfig::default()
        },
        None,
        serving::admin::AdminActions::default(),
        shutdown.clone(),
    ));
    // Let the pipeline reach its steady state.
    tokio::time::sleep(Duration::from_secs(if full { 5 } else { 2 })).await;

    let client = reqwest::Client::new();
    let mut delays_ms = Vec::with_capacity(probes);
    for i in 0..probes {
        let now = chrono::Utc::now().timestamp_millis();
        let tag = format!("fresh{i}x{:x}", rand::random::<u32>());
        let post = Post {
            userid: i as i64,
            username: "probe".into(),
            timestamp: now,
            tweetid: -(i as i64) - 1,
            tweet: format!("probe #{tag}"),
            source: Some("probe".into()),
            lang: None,
            hashtags: None,
        };
        let slot = SlotStart::containing(now);
        let from = chrono::DateTime::from_timestamp_millis(slot.0)
            .unwrap()
            .to_rfc3339()
            .replace('+', "%2B");
        let url = format!("http://{addr}/api/v1/hashtags/{tag}/series?from={from}");
        backends
            .log
            .append(
                POSTS_TOPIC,
                vec![NewRecord {
                    key: b"probe".to_vec(),
                    value: backends.codec.encode(&post),
                    headers: vec![],
                }],
            )
            .await
            .unwrap();
        let appended = Instant::now();
        let deadline = appended + Duration::from_secs(30);
        loop {
            let body: serde_json::Value =
                client.get(&url).send().await.unwrap().json().await.unwrap();
            let seen: i64 = body["points"]
                .as_array()
                .map(|ps| ps.iter().filter_map(|p| p["count"].as_i64()).sum())
                .unwrap_or(0);
            if seen > 0 {
                delays_ms.push(appended.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            assert!(Instant::now() < deadline, "probe {i} never became visible");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Probes spread over flush phases: wait a little, not a multiple of the flush interval.
        tokio::time::sleep(Duration::from_millis(37 + (i as u64 * 53) % 211)).await;
    }
    shutdown.cancel();
    let log_end: u64 = backends
        .log
        .end_offsets(POSTS_TOPIC)
        .await
        .unwrap()
        .values()
        .sum();
    delays_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        let i = ((delays_ms.len() as f64 - 1.0) * p).round() as usize;
        (delays_ms[i] * 10.0).round() / 10.0
    };
    let result = serde_json::json!({
        "bench": "freshness",
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "backends": "embedded",
        "rate": rate,
        "flush_ms": flush_ms,
        "probes": probes,
        "posts_in_log": log_end,
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": pct(1.0),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    });
    println!("{result}");
    eprintln!(
        "freshness at {rate} posts/s (flush every {flush_ms} ms): p50 {} ms, p95 {} ms, p99 {} ms",
        result["p50_ms"], result["p95_ms"], result["p99_ms"]
    );
}
