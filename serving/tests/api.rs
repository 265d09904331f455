//! The HTTP API over embedded backends: merged answers, and clear JSON errors for bad input.

use model::SlotStart;
use ports::{BackendUrls, Backends, BatchTable, SlotCount, SpeedTable};
use serde_json::Value;
use serving::ServingConfig;
use tokio_util::sync::CancellationToken;

async fn start() -> (tempfile::TempDir, Backends, String, CancellationToken) {
    let dir = tempfile::tempdir().unwrap();
    let backends = Backends::open(&BackendUrls::default(), dir.path()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let cfg = ServingConfig {
        assets_dir: dir.path().join("no-dashboard").display().to_string(),
        ..ServingConfig::default()
    };
    tokio::spawn(serving::serve(
        listener,
        backends.clone(),
        cfg,
        None,
        shutdown.clone(),
    ));
    (dir, backends, base, shutdown)
}

async fn get(base: &str, path: &str) -> (u16, Value) {
    let r = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn series_merges_the_active_pair_and_buckets_on_request() {
    let (_dir, b, base, shutdown) = start().await;
    b.views.migrate().await.unwrap();
    let t0 = 1_700_000_100_000 - 1_700_000_100_000 % 3_600_000; // an hour boundary
    let cell = |slot: i64, count: i64| SlotCount {
        hashtag: "rust".into(),
        slot: SlotStart(t0 + slot * 300_000),
        count,
    };
    // Initial pair: batch_view_a + speed_view_0. The other tables must not be read.
    b.views
        .write_batch_rows(BatchTable::A, &[cell(0, 5), cell(1, 1)])
        .await
        .unwrap();
    b.views
        .add_increments(SpeedTable::Zero, &[cell(1, 2), cell(13, 4)])
        .await
        .unwrap();
    b.views
        .write_batch_rows(BatchTable::B, &[cell(0, 100)])
        .await
        .unwrap();
    b.views
        .add_increments(SpeedTable::One, &[cell(0, 100)])
        .await
        .unwrap();

    let (status, body) = get(
        &base,
        &format!(
            "/api/v1/hashtags/%23Rust/series?from={t0}&to={}",
            t0 + 13 * 300_000
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hashtag"], "rust", "the tag is normalised");
    let counts: Vec<(i64, i64, i64)> = body["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["count"].as_i64().unwrap(),
                p["batch"].as_i64().unwrap(),
                p["speed"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, vec![(5, 5, 0), (3, 1, 2), (4, 0, 4)]);
    assert_eq!(
        body["tables"],
        serde_json::json!(["batch_view_a", "speed_view_0"])
    );

    let (_, hourly) = get(
        &base,
        &format!(
            "/api/v1/hashtags/rust/series?from={t0}&to={}&step=60",
            t0 + 13 * 300_000
        ),
    )
    .await;
    let hourly: Vec<i64> = hourly["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["count"].as_i64().unwrap())
        .collect();
    assert_eq!(hourly, vec![8, 4]);
    shutdown.cancel();
}

#[tokio::test]
async fn bad_requests_get_json_errors() {
    let (_dir, _b, base, shutdown) = start().await;
    for path in [
        "/api/v1/trending?minutes=0",
        "/api/v1/trending?limit=100000",
        "/api/v1/hashtags/rust/series?from=yesterday",
        "/api/v1/hashtags/rust/series?from=2026-11-23T00:00:00Z&to=2026-11-22T00:00:00Z",
        "/api/v1/hashtags/rust/series?step=7",
        "/api/v1/hashtags/%23/series",
    ] {
        let (status, body) = get(&base, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{path}: {body}"
        );
    }
    let (status, body) = get(&base, "/api/v1/trending").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["hashtags"],
        serde_json::json!([]),
        "an empty system trends nothing"
    );
    let page = reqwest::get(format!("{base}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("build-dashboard.sh"),
        "without a built dashboard, / says how to build it"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn long_ranges_are_paged_at_the_cap() {
    let (_dir, _b, base, shutdown) = start().await;
    // A year at 5-minute slots is more than 10,000 points: one page, and where the next starts.
    let (status, body) = get(
        &base,
        "/api/v1/hashtags/rust/series?from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["next_from"], "2025-02-04T17:20:00Z",
        "10,000 slots after the start"
    );
    let (_, auto) = get(
        &base,
        "/api/v1/hashtags/rust/series?from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&step=auto",
    )
    .await;
    assert_eq!(
        auto["slot_minutes"], 360,
        "auto picks 6-hour buckets for a year"
    );
    assert_eq!(auto["next_from"], Value::Null);
    shutdown.cancel();
}
