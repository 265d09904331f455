//! Poison input (issue 10): malformed Avro, unknown schemas, oversized records, invalid UTF-8 and
//! absurd hashtag lists mixed into the log between good posts. The components run as separate
//! processes (`speed`, `ingest`, `serve`, then `recompute`), on the embedded backends and, when
//! `scripts/it/up.sh` has started them, on real Kafka, Cassandra and ZooKeeper. Checks:
//! - every bad record lands in `posts-dlq` unchanged, with the reason code expected for it;
//! - nothing crashes, and both consumers move past every bad record;
//! - the rejections are counted in `lambda_speed_rejected_events_total` and
//!   `lambda_ingest_rejected_events_total`, by reason;
//! - the good posts are counted exactly: in the speed view, in the master dataset (`sql`), and in
//!   the batch view after a recompute.

mod common;

use common::{Children, lambda_trends};
use model::avro::{MAX_HASHTAGS, MAX_RECORD_BYTES, PostCodec};
use model::{POSTS_DLQ_TOPIC, POSTS_TOPIC, Post, SlotStart};
use ports::{ConsumerEvent, EventLog, NewRecord};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const GOOD: usize = 600;
const TAGS: [&str; 5] = ["rust", "kafka", "東京", "café", "datafusion"];

/// The poison: each record with the reason code it must be dead-lettered with.
fn poison(codec: &PostCodec, now: i64) -> Vec<(&'static str, Vec<u8>)> {
    let post = |tweet: &str, hashtags: Option<Vec<String>>| Post {
        userid: 7,
        username: "mallory".into(),
        timestamp: now,
        tweetid: 666,
        tweet: tweet.into(),
        source: Some("x".into()),
        lang: None,
        hashtags,
    };
    let valid = codec.encode(&post("#rust is fine", None));
    let mut invalid_utf8 = codec.encode(&post("#rust zzzz", None));
    let at = invalid_utf8.windows(4).position(|w| w == b"zzzz").unwrap();
    invalid_utf8[at..at + 3].copy_from_slice(&[0xC3, 0x28, 0xFF]);
    let mut unknown_schema_id = vec![0x00, 0x00, 0x00, 0x03, 0xE7];
    unknown_schema_id.extend_from_slice(&valid[10..]);
    let mut unknown_fingerprint = vec![0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8];
    unknown_fingerprint.extend_from_slice(&valid[10..]);
    let mut trailing = valid.clone();
    trailing.extend_from_slice(b"extra");
    let mut oversized = valid[..10].to_vec();
    oversized.resize(MAX_RECORD_BYTES + 1, b'#');
    vec![
        (
            "bad_header",
            br#"{"data":{"text":"not avro at all"}}"#.to_vec(),
        ),
        ("empty", Vec::new()),
        ("bad_header", vec![0xC3]),
        ("bad_datum", valid[..valid.len() - 3].to_vec()),
        ("bad_datum", trailing),
        ("bad_datum", {
            let mut v = valid[..10].to_vec();
            v.extend_from_slice(&[0xFF; 40]);
            v
        }),
        ("unknown_schema_id", unknown_schema_id),
        ("unknown_fingerprint", unknown_fingerprint),
        ("invalid_utf8", invalid_utf8),
        ("oversized", oversized),
        (
            "too_many_hashtags",
            codec.encode(&post(
                "#rust",
                Some((0..MAX_HASHTAGS * 5).map(|i| format!("#spam{i}")).collect()),
            )),
        ),
    ]
}

/// Good posts over the last 40 minutes and the exact counts they make, with the poison mixed in
/// at fixed places; the expected dead letters as (reason, record) pairs.
type Log = (
    Vec<NewRecord>,
    BTreeMap<(String, i64), i64>,
    Vec<(String, Vec<u8>)>,
);

fn log_records(codec: &PostCodec) -> Log {
    let now = chrono::Utc::now().timestamp_millis();
    let mut records = Vec::new();
    let mut truth: BTreeMap<(String, i64), i64> = BTreeMap::new();
    let bad = poison(codec, now);
    let every = GOOD / bad.len();
    let mut expected_dead = Vec::new();
    let mut bad = bad.into_iter();
    for i in 0..GOOD {
        let ts = now - ((i as i64 * 3_989) % (40 * 60_000));
        let (a, b) = (TAGS[i % TAGS.len()], TAGS[(i / 2) % TAGS.len()]);
        let post = Post {
            userid: (i % 31) as i64,
            username: format!("user{}", i % 31),
            timestamp: ts,
            tweetid: 10_000 + i as i64,
            tweet: format!("post {i} #{a} and #{b}"),
            source: Some("x".into()),
            lang: Some("en".into()),
            hashtags: None,
        };
        for k in post.hashtag_keys() {
            *truth.entry((k, SlotStart::containing(ts).0)).or_default() += 1;
        }
        records.push(NewRecord {
            key: post.tweetid.to_string().into_bytes(),
            value: codec.encode(&post),
            headers: vec![],
        });
        if i % every == every / 2
            && let Some((reason, value)) = bad.next()
        {
            expected_dead.push((reason.to_string(), value.clone()));
            records.push(NewRecord {
                key: format!("bad-{i}").into_bytes(),
                value,
                headers: vec![("origin".into(), b"poison-test".to_vec())],
            });
        }
    }
    assert!(bad.next().is_none(), "every kind of poison is in the log");
    expected_dead.sort();
    (records, truth, expected_dead)
}

struct Pipeline {
    dir: std::path::PathBuf,
    children: Children,
    api: String,
    speed_metrics: String,
    ingest_metrics: String,
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

    fn run(&self, args: &[&str]) -> String {
        let out = self.command(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "`lambda-trends {}` failed:\n{stdout}{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr),
            self.children.logs()
        );
        stdout
    }
}

async fn metric(url: &str, name: &str, reason: &str) -> u64 {
    let text = reqwest::get(url).await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(&format!("reason=\"{reason}\"")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

async fn served_series(api: &str, tag: &str) -> BTreeMap<i64, i64> {
    let from = chrono::Utc::now().timestamp_millis() - 2 * 3_600_000;
    let tag = common::urlencode(tag);
    let body: Value = reqwest::get(format!("{api}/api/v1/hashtags/{tag}/series?from={from}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["points"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|p| (p["t"].as_i64().unwrap(), p["count"].as_i64().unwrap()))
        .collect()
}

async fn assert_served(api: &str, truth: &BTreeMap<(String, i64), i64>, what: &str) {
    for tag in TAGS {
        let expected: BTreeMap<i64, i64> = truth
            .iter()
            .filter(|((t, _), _)| t == tag)
            .map(|((_, s), c)| (*s, *c))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(
            served_series(api, tag).await,
            expected,
            "#{tag} {what}: only the good posts, each once"
        );
    }
}

/// Reads the dead-letter topic to its end: (reason code, record) pairs, and their headers.
async fn dead_letters(log: &Arc<dyn EventLog>, want: usize) -> Vec<(String, Vec<u8>)> {
    let mut consumer = log
        .consumer(POSTS_DLQ_TOPIC, &format!("check-{}", rand::random::<u32>()))
        .await
        .unwrap();
    let mut dead = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while dead.len() < want && Instant::now() < deadline {
        if let ConsumerEvent::Records(rs) = consumer
            .poll(100, Duration::from_millis(300))
            .await
            .unwrap()
        {
            for r in rs {
                let header = |name: &str| {
                    r.headers
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                        .unwrap_or_default()
                };
                assert!(!header("lt-reason").is_empty(), "a human reason is given");
                assert_eq!(header("origin"), "poison-test", "the headers are kept");
                assert!(header("lt-source-offset").parse::<u64>().is_ok());
                dead.push((header("lt-reason-code"), r.value));
            }
        }
    }
    dead.sort();
    dead
}

async fn poison_run(dir: &Path, backends: &str, log: Arc<dyn EventLog>) {
    let codec = PostCodec::new();
    let (records, truth, expected_dead) = log_records(&codec);
    let (api, speed_m, ingest_m) = (
        common::free_port(),
        common::free_port(),
        common::free_port(),
    );
    std::fs::write(
        dir.join("lambda-trends.toml"),
        format!(
            r#"data-dir = "{data}"
{backends}
[speed]
flush-interval-ms = 200
[ingest]
flush-interval-ms = 300
[recompute]
poll-interval-ms = 100
wait-timeout-secs = 90
[serving]
listen = "127.0.0.1:{api}"
assets-dir = "{data}/no-dashboard"
"#,
            data = dir.join("data").display(),
        ),
    )
    .unwrap();
    let mut p = Pipeline {
        dir: dir.to_path_buf(),
        children: Children::new(dir),
        api: format!("http://127.0.0.1:{api}"),
        speed_metrics: format!("http://127.0.0.1:{speed_m}/metrics"),
        ingest_metrics: format!("http://127.0.0.1:{ingest_m}/metrics"),
    };
    p.run(&["migrate"]);
    log.ensure_topic(POSTS_TOPIC).await.unwrap();
    let total = records.len() as u64;
    log.append(POSTS_TOPIC, records).await.unwrap();

    let mut speed = p.command(&["speed"]);
    speed.env("LT__TELEMETRY__LISTEN", format!("127.0.0.1:{speed_m}"));
    p.children.spawn("speed", speed);
    let mut ingest = p.command(&["ingest"]);
    ingest.env("LT__TELEMETRY__LISTEN", format!("127.0.0.1:{ingest_m}"));
    p.children.spawn("ingest", ingest);
    let serve = p.command(&["serve"]);
    p.children.spawn("serve", serve);

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        p.children.assert_alive(&[]);
        let s: Value = serde_json::from_str(&p.run(&["status", "--json"])).unwrap();
        let sum = |field: &str| common::offsets_sum(&s, field);
        if sum("speed_committed") >= total && sum("master_offsets") >= total {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the consumers did not get past the poison: {s}\n{}",
            p.children.logs()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Every bad record is in the dead-letter topic, once, unchanged, with its reason.
    let dead = dead_letters(&log, expected_dead.len()).await;
    let reasons = |d: &[(String, Vec<u8>)]| d.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>();
    assert_eq!(reasons(&dead), reasons(&expected_dead));
    assert!(
        dead == expected_dead,
        "the dead letters are the bad records as they were"
    );

    // Counted by reason, by both consumers.
    let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
    for (r, _) in &expected_dead {
        *by_reason.entry(r.as_str()).or_default() += 1;
    }
    for (reason, n) in &by_reason {
        for (url, name) in [
            (&p.speed_metrics, "lambda_speed_rejected_events_total"),
            (&p.ingest_metrics, "lambda_ingest_rejected_events_total"),
        ] {
            assert_eq!(
                metric(url, name, reason).await,
                *n,
                "{name}{{reason={reason}}}"
            );
        }
    }

    // The good posts, exactly: live, in the master dataset, and recomputed.
    let deadline = Instant::now() + Duration::from_secs(30);
    while served_series(&p.api, TAGS[0]).await.values().sum::<i64>()
        < truth
            .iter()
            .filter(|((t, _), _)| t == TAGS[0])
            .map(|(_, c)| c)
            .sum()
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_served(&p.api, &truth, "from the speed layer").await;
    let out = p.run(&[
        "sql",
        "SELECT count(*) AS n, count(DISTINCT tweetid) AS d FROM posts",
        "--format",
        "json",
    ]);
    let row: Value = serde_json::from_str(out.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(row["n"], GOOD, "{out}");
    assert_eq!(row["d"], GOOD, "{out}");
    let out = p.run(&["recompute"]);
    assert!(out.contains("epoch 1"), "{out}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s: Value = reqwest::get(format!("{}/api/v1/status", p.api))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["active"]["epoch"] == 1 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_served(&p.api, &truth, "after the recompute").await;
    p.children.assert_alive(&[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_is_dead_lettered_and_the_good_posts_stay_exact_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let backends =
        ports::Backends::open(&ports::BackendUrls::default(), &dir.path().join("data")).unwrap();
    let log = backends.log.clone();
    poison_run(dir.path(), "", log).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_is_dead_lettered_and_the_good_posts_stay_exact_on_real_servers() {
    let Some((kafka, cassandra, zk)) = common::real_servers() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let id = format!("{:08x}", rand::random::<u32>());
    let raw = kafka::KafkaEventLog::connect(&format!("kafka://{kafka}"), Default::default())
        .await
        .unwrap();
    let log: Arc<dyn EventLog> =
        Arc::new(ports::NamespacedLog::new(raw, &format!("lt-poison-{id}")).unwrap());
    let backends = format!(
        r#"[backends]
event-log = "kafka://{kafka}/lt-poison-{id}"
views = "cassandra://{cassandra}/lt_poison_{id}"
coordinator = "zk://{zk}/lt-poison-{id}""#
    );
    poison_run(dir.path(), &backends, log).await;
}
