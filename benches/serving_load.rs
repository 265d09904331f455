//! Serving under load: requests/s and latency percentiles of the one-day series (288 slots) and
//! the trending endpoint, beside a hello-world axum route, in one run on the same machine.
//!
//! ```sh
//! cargo bench --bench serving_load                    # 10 s per endpoint, 64 connections (release)
//! cargo bench --bench serving_load -- --seconds 20 --connections 128
//! cargo bench --bench serving_load -- --only series   # one endpoint (hello, series, trending)
//! cargo test --bench serving_load                     # smoke: 1 s per endpoint, debug build
//! ```
//!
//! One process holds the two servers (serving on the embedded backends, with a day of counts for
//! 200 hashtags in the batch table and the last hour in the speed table; and a hello-world axum
//! router) and the load generator (keep-alive HTTP/1.1 connections, each sending its next request
//! as soon as the last answer arrived). They share the machine's cores, so the figures are a
//! floor; the ratio to hello-world is what compares. One JSON line on stdout.

mod common;
use axum::Router;
use axum::routing::get;
use common::arg;
use model::{SLOT_MILLIS, SlotStart};
use ports::{BackendUrls, Backends, BatchTable, SlotCount, SpeedTable};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const HASHTAGS: usize = 200;

/// A day of batch counts (288 slots per hashtag) and the last hour of speed counts.
async fn preload(backends: &Backends, now: SlotStart) {
    let day_ago = now.minus(287);
    for h in 0..HASHTAGS {
        let rows: Vec<SlotCount> = (0..288)
            .map(|i| SlotCount {
                hashtag: format!("tag{h}"),
                slot: SlotStart(day_ago.0 + i * SLOT_MILLIS),
                count: 1 + ((h as i64 * 31 + i) % 97),
            })
            .collect();
        backends
            .views
            .write_batch_rows(BatchTable::A, &rows)
            .await
            .unwrap();
        let live: Vec<SlotCount> = (0..12)
            .map(|i| SlotCount {
                hashtag: format!("tag{h}"),
                slot: now.minus(i),
                count: 1 + (h as i64 % 13),
            })
            .collect();
        backends
            .views
            .add_increments(SpeedTable::Zero, &live)
            .await
            .unwrap();
    }
}

/// Latency percentiles and throughput of `connections` closed-loop clients on `url`.
async fn load(url: String, connections: usize, seconds: f64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            // One keep-alive connection per client.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                match client.get(&url).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed().as_micros() as u64);
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64().max(seconds);
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 - 1.0) * p).round() as usize;
        all[i] as f64 / 1000.0
    };
    serde_json::json!({
        "requests": all.len(),
        "errors": errors,
        "rps": (all.len() as f64 / elapsed).round(),
        "p50_ms": (pct(0.50) * 100.0).round() / 100.0,
        "p99_ms": (pct(0.99) * 100.0).round() / 100.0,
        "max_ms": (pct(1.0) * 100.0).round() / 100.0,
    })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let full = common::measuring();
    let seconds: f64 = arg("--seconds")
        .map(|s| s.parse().expect("--seconds S"))
        .unwrap_or(if full { 10.0 } else { 1.0 });
    let connections: usize = arg("--connections")
        .map(|s| s.parse().expect("--connections N"))
        .unwrap_or(if full { 64 } else { 4 });

    let dir = tempfile::tempdir().unwrap();
    let backends = Backends::open(&BackendUrls::default(), dir.path()).unwrap();
    let now = SlotStart::containing(chrono::Utc::now().timestamp_millis());
    preload(&backends, now).await;
    let shutdown = CancellationToken::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let serving_addr = listener.local_addr().unwrap();
    let cfg = serving::ServingConfig {
        listen: serving_addr.to_string(),
        ..serving::ServingConfig::default()
    };
    tokio::spawn(serving::serve(
        listener,
        backends.clone(),
        cfg,
        None,
        serving::admin::AdminActions::default(),
        shutdown.clone(),
    ));
    let hello = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hello_addr = hello.local_addr().unwrap();
    tokio::spawn(async move {
        let app = Router::new().route("/hello", get(|| async { "Hello, world!" }));
        axum::serve(hello, app).await.unwrap();
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let from = chrono::DateTime::from_timestamp_millis(now.minus(287).0)
        .unwrap()
        .to_rfc3339();
    let to = chrono::DateTime::from_timestamp_millis(now.0 + SLOT_MILLIS - 1)
        .unwrap()
        .to_rfc3339();
    let series_url = format!(
        "http://{serving_addr}/api/v1/hashtags/tag7/series?from={}&to={}",
        urlencoding(&from),
        urlencoding(&to)
    );
    // Check the series really is a day of slots before measuring it.
    let body: serde_json::Value = reqwest::get(&series_url)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let points = body["points"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(points, 288, "one day of 5-minute slots: {body}");

    // `--only series` (or hello, trending) measures one endpoint, e.g. under a profiler.
    let only = arg("--only");
    let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let skipped = || serde_json::json!({"rps": 0.0, "skipped": true});
    let hello = if run("hello") {
        load(format!("http://{hello_addr}/hello"), connections, seconds).await
    } else {
        skipped()
    };
    let series = if run("series") {
        load(series_url, connections, seconds).await
    } else {
        skipped()
    };
    let trending = if run("trending") {
        load(
            format!("http://{serving_addr}/api/v1/trending?minutes=15&limit=10"),
            connections,
            seconds,
        )
        .await
    } else {
        skipped()
    };
    let ratio = |v: &serde_json::Value| {
        (v["rps"].as_f64().unwrap_or(0.0) / hello["rps"].as_f64().unwrap_or(1.0).max(1.0) * 1000.0)
            .round()
            / 1000.0
    };
    let result = serde_json::json!({
        "bench": "serving_load",
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "connections": connections,
        "seconds": seconds,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "hello": hello,
        "series_288": series,
        "trending": trending,
        "series_rps_over_hello": ratio(&series),
        "trending_rps_over_hello": ratio(&trending),
    });
    shutdown.cancel();
    println!("{result}");
    for (name, v) in [
        ("hello", &hello),
        ("series (288 slots)", &series),
        ("trending", &trending),
    ] {
        eprintln!(
            "{name:>20}: {:>8} req/s  p50 {:>6} ms  p99 {:>6} ms  errors {}",
            v["rps"], v["p50_ms"], v["p99_ms"], v["errors"]
        );
    }
}

fn urlencoding(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}
