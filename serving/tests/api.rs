//! The HTTP API over embedded backends: merged answers, and clear JSON errors for bad input.

mod common;

use model::SlotStart;
use ports::{Backends, BatchTable, SlotCount, SpeedTable};
use serde_json::Value;
use serving::ServingConfig;
use serving::admin::AdminActions;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

async fn start() -> (tempfile::TempDir, Backends, String, CancellationToken) {
    start_with(ServingConfig::default(), AdminActions::default()).await
}

async fn start_with(
    cfg: ServingConfig,
    actions: AdminActions,
) -> (tempfile::TempDir, Backends, String, CancellationToken) {
    let s = common::start_with(cfg, actions).await;
    (s.dir, s.backends, s.base, s.shutdown)
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

    // The batch half is now cached; the speed half is still read live.
    let slots = |body: &Value| -> Vec<(i64, i64, i64)> {
        body["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["t"].as_i64().unwrap(),
                    p["batch"].as_i64().unwrap(),
                    p["speed"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let url = format!(
        "/api/v1/hashtags/rust/series?from={t0}&to={}",
        t0 + 13 * 300_000
    );
    b.views
        .add_increments(SpeedTable::Zero, &[cell(1, 10), cell(2, 1)])
        .await
        .unwrap();
    let (_, live) = get(&base, &url).await;
    assert_eq!(
        slots(&live),
        vec![
            (t0, 5, 0),
            (t0 + 300_000, 1, 12),
            (t0 + 600_000, 0, 1),
            (t0 + 13 * 300_000, 0, 4)
        ],
        "speed increments show at once"
    );
    // A flip makes the other pair active: its batch table is read, not the cached half.
    let pair = flip_once(b.coordinator.clone()).await.unwrap();
    assert_eq!((pair.batch, pair.speed), (BatchTable::B, SpeedTable::One));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, after) = get(&base, &url).await;
        if after["epoch"] == 1 {
            assert_eq!(slots(&after), vec![(t0, 100, 100)], "{after}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "serving saw the flip");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
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
        assert_eq!(body["code"], "bad_parameter", "{path}");
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

/// One whole recompute protocol over one partition, as the batch layer drives it: the new pair
/// becomes active (a stand-in for the real recompute, which needs DataFusion).
async fn flip_once(coordinator: Arc<dyn ports::Coordinator>) -> Result<ports::ActivePair, String> {
    use ports::protocol::HandshakeProgress;
    let switch = ports::LambdaSwitch::new(coordinator);
    let e = |e: ports::PortError| e.to_string();
    let info = switch
        .begin_recompute(1, &model::ViewSet::default(), false)
        .await
        .map_err(e)?;
    switch
        .at_commit_boundary(&[(0, 5)].into())
        .await
        .map_err(e)?;
    switch.mark_restarted().await.map_err(e)?;
    switch
        .at_commit_boundary(&[(0, 6)].into())
        .await
        .map_err(e)?;
    let HandshakeProgress::Started(cut) = switch.handshake().await.map_err(e)? else {
        return Err("the speed layer did not restart".into());
    };
    switch.flip(&info, &cut).await.map_err(e)
}

#[tokio::test]
async fn admin_endpoints_need_the_token_and_recompute_then_roll_back() {
    let cfg = ServingConfig {
        admin_token: ports::Secret::new("s3cret-token"),
        ..ServingConfig::default()
    };
    // The recompute action flips through the backends the server uses, known once it started.
    let slot: Arc<std::sync::OnceLock<Backends>> = Arc::default();
    let for_action = slot.clone();
    let actions = AdminActions {
        recompute: Some(Arc::new(move |_shutdown| {
            let backends = for_action.get().cloned();
            Box::pin(async move {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                flip_once(backends.ok_or("no backends")?.coordinator).await
            })
        })),
    };
    let (_dir, b, base, shutdown) = start_with(cfg, actions).await;
    slot.set(b.clone()).ok().unwrap();
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: Option<&str>| {
        let mut r = client.request(method, format!("{base}{path}"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move {
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            let challenge = r.headers().get("www-authenticate").is_some();
            (
                status,
                challenge,
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    use reqwest::Method;
    for (method, path) in [
        (Method::POST, "/api/v1/admin/recompute"),
        (Method::GET, "/api/v1/admin/recompute"),
        (Method::POST, "/api/v1/admin/rollback"),
    ] {
        for token in [None, Some("wrong"), Some("s3cret-token-and-more"), Some("")] {
            let (status, challenge, body) = call(method.clone(), path, token).await;
            assert_eq!(
                (status, challenge),
                (401, true),
                "{method} {path} {token:?}: {body}"
            );
            assert_eq!(body["code"], "unauthorized");
        }
    }
    let token = Some("s3cret-token");
    let (status, _, body) = call(Method::POST, "/api/v1/admin/rollback", token).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("nothing_to_roll_back")),
        "{body}"
    );

    let (status, _, body) = call(Method::POST, "/api/v1/admin/recompute", token).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (202, Some("running")),
        "{body}"
    );
    let (status, _, body) = call(Method::POST, "/api/v1/admin/recompute", token).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("recompute_running")),
        "{body}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let done = loop {
        let (_, _, body) = call(Method::GET, "/api/v1/admin/recompute", token).await;
        if body["state"] != "running" || std::time::Instant::now() > deadline {
            break body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["epoch"], 1);

    let (status, _, body) = call(Method::POST, "/api/v1/admin/rollback", token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["epoch"], 2);
    let (_, status_body) = get(&base, "/api/v1/status").await;
    assert_eq!(status_body["active"]["epoch"], 2);
    shutdown.cancel();
}

#[tokio::test]
async fn without_a_token_the_admin_api_is_off() {
    let (_dir, _b, base, shutdown) = start().await;
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/admin/rollback"))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "admin_disabled");
    assert!(body["error"].as_str().unwrap().contains("admin-token"));
    shutdown.cancel();
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_and_the_real_responses() {
    let (_dir, b, base, shutdown) = start().await;
    b.views.migrate().await.unwrap();
    let (status, doc) = get(&base, "/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "/api/v1/admin/recompute",
            "/api/v1/admin/rollback",
            "/api/v1/hashtags",
            "/api/v1/hashtags/{tag}/series",
            "/api/v1/status",
            "/api/v1/trending",
            "/metrics",
            "/readyz",
        ]
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["admin_token"]["scheme"],
        "bearer"
    );
    // The fields the real responses carry are the fields the document names.
    let schema_fields = |name: &str| -> Vec<String> {
        let mut f: Vec<String> = doc["components"]["schemas"][name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("no schema {name}"))
            .keys()
            .cloned()
            .collect();
        f.sort();
        f
    };
    let fields = |v: &Value| -> Vec<String> {
        let mut f: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        f.sort();
        f
    };
    let (_, trending) = get(&base, "/api/v1/trending").await;
    assert_eq!(fields(&trending), schema_fields("TrendingResponse"));
    let (_, series) = get(&base, "/api/v1/hashtags/rust/series").await;
    assert_eq!(fields(&series), schema_fields("SeriesResponse"));
    let (_, search) = get(&base, "/api/v1/hashtags?prefix=ru").await;
    assert_eq!(fields(&search), schema_fields("SearchResponse"));
    let (_, error) = get(&base, "/api/v1/trending?limit=0").await;
    assert_eq!(fields(&error), schema_fields("ErrorBody"));
    shutdown.cancel();
}

#[tokio::test]
async fn trending_scores_a_burst_against_the_hour_before() {
    let (_dir, b, base, shutdown) = start().await;
    b.views.migrate().await.unwrap();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let now = SlotStart::containing(now_ms);
    // The current slot is partial: a steady tag has counted only its share of it so far.
    let elapsed = (now_ms - now.0) as f64 / 300_000.0;
    let steady_now = (40.0 * elapsed).round() as i64;
    let cell = |tag: &str, back: i64, count: i64| SlotCount {
        hashtag: tag.into(),
        slot: SlotStart(now.0 - back * 300_000),
        count,
    };
    let mut cells = Vec::new();
    for back in 2..=13 {
        cells.push(cell("steady", back, 40));
        cells.push(cell("rising", back, 2));
    }
    cells.extend([
        cell("steady", 1, 40),
        cell("steady", 0, steady_now),
        cell("rising", 1, 2),
        cell("rising", 0, 300),
    ]);
    b.views
        .add_increments(SpeedTable::Zero, &cells)
        .await
        .unwrap();
    let (status, body) = get(&base, "/api/v1/trending?minutes=10&limit=5").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["epoch"], 0);
    let items = body["hashtags"].as_array().unwrap();
    let burst = |tag: &str| {
        items
            .iter()
            .find(|i| i["hashtag"] == tag)
            .unwrap_or_else(|| panic!("{tag} in {body}"))["burst"]
            .as_f64()
            .unwrap()
    };
    assert!(burst("rising") >= 3.0, "{body}");
    assert!(burst("steady") < 3.0, "{body}");
    shutdown.cancel();
}

#[tokio::test]
async fn status_reports_the_lag_of_the_speed_layer_and_the_master_dataset_per_partition() {
    let (_dir, b, base, shutdown) = start().await;
    b.views.migrate().await.unwrap();
    b.log.ensure_topic(model::POSTS_TOPIC).await.unwrap();
    let records = (0..10)
        .map(|i| ports::NewRecord {
            key: format!("author{i}").into_bytes(),
            value: vec![1],
            headers: Vec::new(),
        })
        .collect();
    let positions = b.log.append(model::POSTS_TOPIC, records).await.unwrap();
    // The speed layer has counted the first record of one partition.
    let first = positions[0];
    let mut consumer = b.log.consumer(model::POSTS_TOPIC, "speed").await.unwrap();
    consumer
        .commit(&[(first.partition, first.offset + 1)].into())
        .await
        .unwrap();
    let (status, body) = get(&base, "/api/v1/status").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["log"]["records"], 10);
    assert_eq!(body["lag"]["speed"]["total"], 9, "{body}");
    assert_eq!(body["lag"]["master"]["total"], 10, "{body}");
    assert!(
        body["master"]["earliest"].is_null(),
        "an empty master dataset has no beginning: {body}"
    );
    let per_partition: u64 = body["lag"]["speed"]["partitions"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(per_partition, 9);
    shutdown.cancel();
}

#[tokio::test]
async fn a_system_without_an_hour_of_history_has_no_burst_scores() {
    let (_dir, b, base, shutdown) = start().await;
    b.views.migrate().await.unwrap();
    let now = SlotStart::containing(chrono::Utc::now().timestamp_millis());
    let cells: Vec<SlotCount> = ["new", "newer"]
        .iter()
        .map(|tag| SlotCount {
            hashtag: (*tag).into(),
            slot: now,
            count: 50,
        })
        .collect();
    b.views
        .add_increments(SpeedTable::Zero, &cells)
        .await
        .unwrap();
    let (status, body) = get(&base, "/api/v1/trending?minutes=10").await;
    assert_eq!(status, 200, "{body}");
    let items = body["hashtags"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{body}");
    assert!(items.iter().all(|i| i["burst"].is_null()), "{body}");
    shutdown.cancel();
}

#[tokio::test]
async fn cors_answers_only_the_configured_origins() {
    let cfg = ServingConfig {
        cors_origins: vec!["https://grafana.example.com".into()],
        ..ServingConfig::default()
    };
    let (_dir, _b, base, shutdown) = start_with(cfg, AdminActions::default()).await;
    let client = reqwest::Client::new();
    let allowed = |origin: &'static str| {
        let client = client.clone();
        let url = format!("{base}/api/v1/trending");
        async move {
            let r = client
                .get(url)
                .header("Origin", origin)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap().to_string())
        }
    };
    assert_eq!(
        allowed("https://grafana.example.com").await.as_deref(),
        Some("https://grafana.example.com")
    );
    assert_eq!(allowed("https://evil.example.net").await, None);
    // A preflight for the admin API from the allowed origin.
    let r = client
        .request(
            reqwest::Method::OPTIONS,
            format!("{base}/api/v1/admin/recompute"),
        )
        .header("Origin", "https://grafana.example.com")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let allow_headers = r
        .headers()
        .get("access-control-allow-headers")
        .map(|v| v.to_str().unwrap().to_lowercase())
        .unwrap_or_default();
    assert!(allow_headers.contains("authorization"), "{allow_headers}");
    shutdown.cancel();

    // Without configured origins, no CORS headers at all (the dashboard is same-origin).
    let (_dir, _b, base, shutdown) = start().await;
    let r = client
        .get(format!("{base}/api/v1/trending"))
        .header("Origin", "https://grafana.example.com")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    shutdown.cancel();
}

#[tokio::test]
async fn search_ranks_the_busiest_of_the_last_hour_first_then_the_rest_by_name() {
    let (_dir, b, base, shutdown) = start().await;
    b.views.migrate().await.unwrap();
    let now = SlotStart::containing(chrono::Utc::now().timestamp_millis());
    let cell = |tag: &str, back: i64, count: i64| SlotCount {
        hashtag: tag.into(),
        slot: now.minus(back),
        count,
    };
    // Two days ago in the batch table: rust (busy then), rum; in the last hour: rustacean and
    // ruby (batch) and rusty (speed), plus another view's cell for rust, which is not a hashtag.
    b.views
        .write_batch_rows(
            BatchTable::A,
            &[
                cell("rust", 576, 9_000),
                cell("rum", 577, 3),
                cell("rustacean", 3, 30),
                cell("ruby", 11, 5),
                cell("by_lang\u{1f}en\u{1f}rust", 2, 1_000),
            ],
        )
        .await
        .unwrap();
    b.views
        .add_increments(
            SpeedTable::Zero,
            &[
                cell("rusty", 0, 7),
                cell("rustacean", 0, 20),
                cell("ruby", 1, 2),
            ],
        )
        .await
        .unwrap();
    let (status, body) = get(&base, "/api/v1/hashtags?prefix=%23RU").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["prefix"], "ru");
    assert_eq!(
        body["hashtags"],
        serde_json::json!(["rustacean", "ruby", "rusty", "rum", "rust"]),
        "{body}"
    );
    assert_eq!(
        body["counts"],
        serde_json::json!([50, 7, 7, 0, 0]),
        "{body}"
    );
    let (_, top) = get(&base, "/api/v1/hashtags?prefix=ru&limit=2").await;
    assert_eq!(top["hashtags"], serde_json::json!(["rustacean", "ruby"]));
    let (_, tail) = get(&base, "/api/v1/hashtags?prefix=rus&limit=4").await;
    assert_eq!(
        tail["hashtags"],
        serde_json::json!(["rustacean", "rusty", "rust"]),
        "a recent match is listed once"
    );
    shutdown.cancel();
}
