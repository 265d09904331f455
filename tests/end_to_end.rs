//! End to end, in one process on the embedded backends: the synthetic collector writes a fixed
//! number of posts while the speed layer, the master ingest and serving run; two recomputes
//! flip the pair (one while posts are still arriving); then every count the HTTP API serves is
//! checked against the generator's exact ground truth, and socket.io answers a v4 handshake.

use batch_layer::ingest::IngestConfig;
use batch_layer::recompute::{RecomputeConfig, run_recompute};
use collector::publisher::{CollectorConfig, SourceKind};
use collector::synthetic::{GroundTruth, SyntheticConfig};
use model::POSTS_TOPIC;
use ports::{BackendUrls, Backends, MasterDataset};
use serde_json::Value;
use serving::ServingConfig;
use speed_layer::SpeedConfig;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const POSTS: u64 = 20_000;

async fn wait_until_caught_up(backends: &Backends) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let ends = backends.log.end_offsets(POSTS_TOPIC).await.unwrap();
        let speed = backends
            .log
            .committed_offsets(POSTS_TOPIC, "speed")
            .await
            .unwrap();
        let manifest = backends.master.manifest().await.unwrap();
        let caught_up = ends
            .iter()
            .all(|(p, e)| speed.get(p).copied().unwrap_or(0) >= *e)
            && manifest.covers(&ends);
        if caught_up {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the speed layer and ingest did not catch up: ends {ends:?}, speed {speed:?}, master {:?}",
            manifest.offsets
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_counts_equal_ground_truth_across_two_recomputes() {
    pipeline_serves_ground_truth(BackendUrls::default(), None).await;
}

/// The same with the master dataset on a real S3-compatible server (moto, `scripts/it/s3.sh`):
/// ingest writes Parquet and manifests to S3, and DataFusion recomputes from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_dataset_on_s3_serves_ground_truth() {
    let Some(endpoint) = ports::conformance::server_address("LT_IT_S3", "S3 (moto)") else {
        return;
    };
    let prefix = format!(
        "e2e-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let url = url::Url::parse(&format!("s3://lambda-trends-it/{prefix}")).unwrap();
    let options = ports::conformance::s3_test_options(&endpoint);
    let master = ports::ObjectStoreMasterDataset::from_url_with(&url, options).unwrap();
    pipeline_serves_ground_truth(BackendUrls::default(), Some(Arc::new(master))).await;
}

/// The same with posts in the Confluent wire format (a schema-registry id configured).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_framed_posts_are_counted_the_same() {
    pipeline_serves_ground_truth(
        BackendUrls {
            confluent_schema_id: Some(42),
            ..BackendUrls::default()
        },
        None,
    )
    .await;
}

/// The whole pipeline on `urls` (and `master` instead of the embedded master dataset, if given).
async fn pipeline_serves_ground_truth(urls: BackendUrls, master: Option<Arc<dyn MasterDataset>>) {
    let dir = tempfile::tempdir().unwrap();
    let mut backends = Backends::open(&urls, dir.path()).unwrap();
    if let Some(m) = master {
        backends.master = m;
    }

    let shutdown = CancellationToken::new();
    let truth = Arc::new(Mutex::new(GroundTruth::default()));

    let speed = tokio::spawn(speed_layer::run(
        backends.clone(),
        SpeedConfig {
            flush_interval_ms: 100,
            ..SpeedConfig::default()
        },
        shutdown.clone(),
    ));
    let ingest = tokio::spawn(batch_layer::ingest::run(
        backends.clone(),
        IngestConfig {
            flush_interval_ms: 200,
            ..IngestConfig::default()
        },
        shutdown.clone(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let serve = tokio::spawn(serving::serve(
        listener,
        backends.clone(),
        ServingConfig::default(),
        None,
        serving::admin::AdminActions::default(),
        shutdown.clone(),
    ));

    let collector_cfg = CollectorConfig {
        source: SourceKind::Synthetic,
        rate: 10_000.0,
        max_posts: POSTS,
        batch_size: 500,
        synthetic: SyntheticConfig {
            seed: 7,
            ..SyntheticConfig::default()
        },
        ..CollectorConfig::default()
    };
    let collect = tokio::spawn(collector::publisher::run(
        backends.log.clone(),
        backends.codec.clone(),
        collector_cfg,
        shutdown.clone(),
        Some(truth.clone()),
    ));

    // The first recompute runs while posts are still arriving.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let rc = RecomputeConfig {
        poll_interval_ms: 20,
        ..RecomputeConfig::default()
    };
    let first = run_recompute(&backends, &rc, &shutdown, |_| {})
        .await
        .expect("first recompute");
    assert_eq!(first.epoch.0, 1);
    let stats = collect.await.unwrap().expect("collector");
    assert_eq!(stats.posts, POSTS);
    wait_until_caught_up(&backends).await;
    let second = run_recompute(&backends, &rc, &shutdown, |_| {})
        .await
        .expect("second recompute");
    assert_eq!(second.epoch.0, 2);
    assert_eq!(
        second.cut.values().sum::<u64>(),
        POSTS,
        "after catching up, the batch view holds every post"
    );
    wait_until_caught_up(&backends).await;

    let http = reqwest::Client::new();
    let get = |path: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let r = http.get(format!("{base}{path}")).send().await.unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<Value>().await.unwrap()
        }
    };
    let status = get("/api/v1/status".into()).await;
    assert_eq!(status["active"]["epoch"], 2, "{status}");

    let truth = truth.lock().unwrap().clone();
    assert_eq!(truth.posts(), POSTS);
    // Every hashtag's series, slot by slot, equals the ground truth.
    let slots: Vec<_> = truth.iter().map(|(_, s, _)| s).collect();
    let (from, to) = (slots.iter().min().unwrap().0, slots.iter().max().unwrap().0);
    let mut checked = 0;
    for tag in truth.hashtags() {
        let body = get(format!(
            "/api/v1/hashtags/{}/series?from={from}&to={to}",
            urlencode(tag)
        ))
        .await;
        let served: Vec<(i64, u64)> = body["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["t"].as_i64().unwrap(), p["count"].as_u64().unwrap()))
            .collect();
        let mut expected: Vec<(i64, u64)> = truth
            .iter()
            .filter(|(t, _, _)| *t == tag)
            .map(|(_, s, c)| (s.0, c))
            .collect();
        expected.sort_unstable();
        assert_eq!(served, expected, "series of #{tag}");
        checked += 1;
    }
    assert!(
        checked > 50,
        "the synthetic source used only {checked} hashtags"
    );

    // Trending over the last hour: the top hashtags with their exact totals.
    let body = get("/api/v1/trending?minutes=60&limit=10".into()).await;
    let served: Vec<(String, u64)> = body["hashtags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["hashtag"].as_str().unwrap().to_string(),
                h["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut expected: Vec<(String, u64)> = truth
        .hashtags()
        .map(|t| (t.to_string(), truth.total(t)))
        .collect();
    expected.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    expected.truncate(10);
    assert_eq!(served, expected);

    // socket.io answers an Engine.IO v4 polling handshake.
    let hs = http
        .get(format!("{base}/socket.io/?EIO=4&transport=polling"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        hs.starts_with('0') && hs.contains("\"sid\""),
        "handshake: {hs}"
    );

    // The log holds the framing that was configured.
    let mut reader = backends
        .log
        .consumer(POSTS_TOPIC, "framing-check")
        .await
        .unwrap();
    let first = loop {
        if let ports::ConsumerEvent::Records(rs) =
            reader.poll(1, Duration::from_secs(1)).await.unwrap()
            && let Some(r) = rs.into_iter().next()
        {
            break r.value;
        }
    };
    match urls.confluent_schema_id {
        Some(id) => assert_eq!(
            &first[..5],
            &[&[0u8][..], &id.to_be_bytes()[..]].concat()[..],
            "Confluent framing"
        ),
        None => assert_eq!(&first[..2], &[0xC3, 0x01], "single-object encoding"),
    }

    shutdown.cancel();
    speed.await.unwrap().unwrap();
    ingest.await.unwrap().unwrap();
    serve.await.unwrap().unwrap();
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
