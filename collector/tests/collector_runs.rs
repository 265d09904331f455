//! Whole collector runs into the embedded event log: a gzip replay of mixed formats with bad
//! input, and a synthetic run checked against its ground truth, with the per-source metrics
//! each produces.

use collector::publisher::{CollectorConfig, SourceKind, run};
use collector::replay::ReplayConfig;
use collector::synthetic::{GroundTruth, SyntheticConfig};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use model::{POSTS_DLQ_TOPIC, POSTS_TOPIC};
use ports::{BackendUrls, Backends, ConsumerEvent, LogRecord};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

type Labels = Vec<(String, String)>;
/// Counter totals by name and sorted labels.
type Totals = Mutex<HashMap<(String, Labels), u64>>;

/// This binary's metrics recorder, installed once, and the counters read from it so far (a
/// snapshot of the debugging recorder resets its counters, so they are summed here).
fn counters() -> &'static (Snapshotter, Totals) {
    static S: OnceLock<(Snapshotter, Totals)> = OnceLock::new();
    S.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let s = recorder.snapshotter();
        recorder
            .install()
            .expect("the only recorder of this test binary");
        (s, Mutex::new(HashMap::new()))
    })
}

/// The counter `name` with exactly these labels (missing: 0).
fn counter(name: &str, labels: &[(&str, &str)]) -> u64 {
    let (snapshotter, totals) = counters();
    let mut totals = totals.lock().unwrap();
    for (k, _, _, v) in snapshotter.snapshot().into_vec() {
        if let DebugValue::Counter(n) = v {
            let mut have: Labels = k
                .key()
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            have.sort();
            *totals.entry((k.key().name().to_owned(), have)).or_default() += n;
        }
    }
    let mut want: Labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    want.sort();
    totals.get(&(name.to_owned(), want)).copied().unwrap_or(0)
}

async fn read_all(backends: &Backends, topic: &str, expected: usize) -> Vec<LogRecord> {
    let mut consumer = backends.log.consumer(topic, "check").await.unwrap();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while out.len() < expected && tokio::time::Instant::now() < deadline {
        if let ConsumerEvent::Records(rs) = consumer
            .poll(10_000, Duration::from_millis(100))
            .await
            .unwrap()
        {
            out.extend(rs);
        }
    }
    out
}

fn header<'a>(r: &'a LogRecord, name: &str) -> &'a str {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| std::str::from_utf8(v).unwrap())
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[tokio::test]
async fn a_gzip_replay_writes_posts_and_dead_letters_bad_input_with_reasons() {
    let _ = counters();
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        r#"{"data":{"id":"1","text":"one #Alpha","created_at":"2021-04-01T15:52:31.000Z","author_id":"7","entities":{"hashtags":[{"start":4,"end":10,"tag":"Alpha"}]}},"includes":{"users":[{"id":"7","username":"seven"}]}}"#,
        r#"{"data":[{"id":"2","text":"two","created_at":"2021-04-01T15:53:31.000Z"},{"id":"oops","text":"bad","created_at":"2021-04-01T15:53:31.000Z"}],"meta":{"result_count":2}}"#,
        r#"{"created_at":"Thu Apr 01 15:54:31 +0000 2021","id_str":"3","text":"three #beta","user":{"id_str":"9","screen_name":"nine"}}"#,
        r#"{"delete":{"status":{"id":1,"id_str":"1"}}}"#,
        "not json at all",
        "",
        "",
    ];
    let path = dir.path().join("archive.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(lines.join("\n").as_bytes()).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();

    let backends = Backends::open(&BackendUrls::default(), &dir.path().join("data")).unwrap();
    let cfg = CollectorConfig {
        source: SourceKind::Replay,
        rate: 0.0,
        replay: ReplayConfig {
            path,
            speed: 0.0,
            progress: false,
        },
        ..CollectorConfig::default()
    };
    let stats = run(
        backends.log.clone(),
        backends.codec.clone(),
        cfg,
        CancellationToken::new(),
        None,
    )
    .await
    .unwrap();
    assert_eq!((stats.posts, stats.rejected), (3, 2));

    let mut ids: Vec<i64> = read_all(&backends, POSTS_TOPIC, 3)
        .await
        .iter()
        .map(|r| backends.codec.decode(&r.value).unwrap().tweetid)
        .collect();
    ids.sort();
    assert_eq!(ids, vec![1, 2, 3]);

    let dead = read_all(&backends, POSTS_DLQ_TOPIC, 2).await;
    let mut reasons: Vec<(&str, &str)> = dead
        .iter()
        .map(|r| (header(r, "lt-reason-code"), header(r, "lt-source")))
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        vec![("bad_id", "replay"), ("invalid_json", "replay")]
    );
    assert!(
        dead.iter()
            .any(|r| r.value == b"not json at all" && header(r, "lt-reason").contains("JSON")),
        "the line itself, with a reason people can read"
    );

    let replay = [("source", "replay")];
    assert_eq!(counter("lambda_collector_posts_written_total", &replay), 3);
    assert_eq!(
        counter("lambda_collector_received_total", &replay),
        6,
        "one per line"
    );
    for reason in ["bad_id", "invalid_json"] {
        assert_eq!(
            counter(
                "lambda_collector_malformed_total",
                &[("source", "replay"), ("reason", reason)]
            ),
            1,
            "{reason}"
        );
    }
    for kind in ["delete", "keep_alive"] {
        assert_eq!(
            counter(
                "lambda_collector_skipped_total",
                &[("source", "replay"), ("kind", kind)]
            ),
            1,
            "{kind}"
        );
    }
}

#[tokio::test]
async fn a_synthetic_run_writes_exactly_its_ground_truth() {
    let _ = counters();
    let dir = tempfile::tempdir().unwrap();
    let backends = Backends::open(&BackendUrls::default(), dir.path()).unwrap();
    let truth = Arc::new(Mutex::new(GroundTruth::default()));
    let cfg = CollectorConfig {
        source: SourceKind::Synthetic,
        rate: 0.0,
        max_posts: 5_000,
        batch_size: 700,
        synthetic: SyntheticConfig {
            seed: 9,
            ..SyntheticConfig::default()
        },
        ..CollectorConfig::default()
    };
    let stats = run(
        backends.log.clone(),
        backends.codec.clone(),
        cfg,
        CancellationToken::new(),
        Some(truth.clone()),
    )
    .await
    .unwrap();
    assert_eq!(stats.posts, 5_000);
    let mut recount = GroundTruth::default();
    for r in read_all(&backends, POSTS_TOPIC, 5_000).await {
        recount.record(&backends.codec.decode(&r.value).unwrap());
    }
    let truth = truth.lock().unwrap();
    assert_eq!(recount.posts(), 5_000);
    assert_eq!(
        recount.iter().collect::<Vec<_>>(),
        truth.iter().collect::<Vec<_>>(),
        "every acknowledged post is in the log, and only those"
    );
    let synthetic = [("source", "synthetic")];
    assert_eq!(
        counter("lambda_collector_posts_written_total", &synthetic),
        5_000
    );
    assert_eq!(
        counter("lambda_collector_received_total", &synthetic),
        5_000
    );
}
