//! The whole pipeline as separate processes (`lambda-trends collect`, `speed` ×2, `ingest` ×2,
//! `serve`, `recompute`) across real Kafka, Cassandra and ZooKeeper, whose addresses come from
//! `LT_IT_KAFKA`, `LT_IT_CASSANDRA` and `LT_IT_ZK` (`scripts/it/up.sh` starts them). Checks:
//! - after a recompute, every served series equals the ground truth of the replayed posts;
//! - a second speed worker and a second ingest joining mid-stream (a rebalance) lose and double
//!   nothing: the master dataset holds every offset of every partition exactly once;
//! - during a flip, concurrent readers always see a whole pair (exact counts), never a mix.
//!
//! Each run uses its own Kafka namespace, Cassandra keyspace and ZooKeeper chroot.

mod common;

use common::Children;
use model::{SlotStart, hashtag_keys};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const POSTS: usize = 3000;
const WORDS: [&str; 8] = [
    "Rust",
    "rust",
    "golang",
    "東京",
    "Café",
    "kpop",
    "WorldCup2026",
    "datafusion",
];

/// The components, killed when the test ends however it ends.
struct Processes {
    dir: PathBuf,
    children: Children,
}

impl Processes {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lambda-trends"));
        c.arg("--config")
            .arg(self.dir.join("lambda-trends.toml"))
            .args(args);
        c.env("RUST_LOG", "info");
        c
    }

    fn spawn(&mut self, name: &str, args: &[&str]) {
        let command = self.command(args);
        self.children.spawn(name, command);
    }

    /// Runs a command to completion; returns its standard output.
    fn run(&self, name: &str, args: &[&str]) -> String {
        let out = self.command(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "`lambda-trends {name}` failed:\n{stdout}{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.logs()
        );
        stdout
    }

    /// Panics if a long-running component (all but the collector) has exited.
    fn assert_alive(&mut self) {
        self.children.assert_alive(&["collect"]);
    }

    fn logs(&self) -> String {
        self.children.logs()
    }
}

/// X API v2 stream lines for `POSTS` posts over the last 50 minutes, and their exact counts.
fn replay_file(path: &Path) -> BTreeMap<(String, i64), i64> {
    let mut rng = StdRng::seed_from_u64(2021);
    let now = chrono::Utc::now().timestamp_millis();
    let mut truth = BTreeMap::new();
    let mut lines = String::new();
    for i in 0..POSTS {
        let ts = now - rng.random_range(0..50 * 60_000);
        let n = rng.random_range(0..3);
        let tags: Vec<&str> = (0..n)
            .map(|_| WORDS[rng.random_range(0..WORDS.len())])
            .collect();
        let text = format!(
            "post {i} {}",
            tags.iter()
                .map(|t| format!("#{t}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        for k in hashtag_keys(&text, None) {
            *truth.entry((k, SlotStart::containing(ts).0)).or_default() += 1;
        }
        let created = chrono::DateTime::from_timestamp_millis(ts)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let line = serde_json::json!({"data": {"id": (1_000_000 + i).to_string(), "text": text, "created_at": created, "author_id": (i % 97).to_string()}});
        lines.push_str(&line.to_string());
        lines.push_str("\r\n");
    }
    std::fs::write(path, lines).unwrap();
    truth
}

fn status(p: &Processes) -> Value {
    serde_json::from_str(&p.run("status", &["status", "--json"]))
        .expect("status --json prints JSON")
}

fn caught_up(s: &Value) -> bool {
    let ends = s["log_end_offsets"].as_object().unwrap();
    let total: u64 = ends.values().map(|v| v.as_u64().unwrap()).sum();
    total as usize >= POSTS
        && ends.iter().all(|(p, e)| {
            let e = e.as_u64().unwrap();
            s["speed_committed"][p].as_u64().unwrap_or(0) >= e
                && s["master_offsets"][p].as_u64().unwrap_or(0) >= e
        })
}

async fn served(base: &str, tag: &str) -> (u64, BTreeMap<i64, i64>) {
    let from = chrono::Utc::now().timestamp_millis() - 2 * 3_600_000;
    let url = format!(
        "{base}/api/v1/hashtags/{}/series?from={from}",
        common::urlencode(tag)
    );
    let body: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    let points = body["points"]
        .as_array()
        .unwrap_or_else(|| panic!("series of {tag}: {body}"));
    let series = points
        .iter()
        .map(|p| (p["t"].as_i64().unwrap(), p["count"].as_i64().unwrap()))
        .collect();
    (body["epoch"].as_u64().unwrap(), series)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_across_real_servers_is_exact_through_rebalances_and_flips() {
    let Some((kafka, cassandra, zk)) = common::real_servers() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let id = format!("{:08x}", rand::random::<u32>());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        r#"data-dir = "{data}"
[backends]
event-log = "kafka://{kafka}/lt-it-{id}"
views = "cassandra://{cassandra}/lt_it_{id}"
coordinator = "zk://{zk}/lt-it-{id}"
[collector]
rate = 1000.0
batch-size = 100
[speed]
flush-interval-ms = 200
[ingest]
flush-interval-ms = 500
[recompute]
poll-interval-ms = 100
wait-timeout-secs = 90
[serving]
listen = "127.0.0.1:{port}"
assets-dir = "{data}/no-dashboard"
"#,
        data = dir.path().join("data").display(),
    );
    std::fs::write(dir.path().join("lambda-trends.toml"), config).unwrap();
    let replay = dir.path().join("posts.jsonl");
    let truth = replay_file(&replay);
    let mut p = Processes {
        dir: dir.path().to_path_buf(),
        children: Children::new(dir.path()),
    };
    p.run("migrate", &["migrate"]);

    p.spawn("speed-1", &["speed"]);
    p.spawn("ingest-1", &["ingest"]);
    p.spawn("serve", &["serve"]);
    p.spawn("collect", &["collect", "--file", replay.to_str().unwrap()]);
    // Mid-stream, a second member joins each group: the partitions are rebalanced.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    p.spawn("speed-2", &["speed"]);
    p.spawn("ingest-2", &["ingest"]);

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let collected = p.children.exit_status("collect");
        if collected.is_some() && caught_up(&status(&p)) {
            break;
        }
        let collect_failed = collected.is_some_and(|s| !s.success());
        assert!(!collect_failed, "the collector failed:\n{}", p.logs());
        assert!(
            Instant::now() < deadline,
            "the pipeline did not catch up: {}\n{}",
            status(&p),
            p.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let out = p.run("recompute", &["recompute"]);
    assert!(out.contains("epoch 1"), "{out}");
    p.assert_alive();

    // Nothing lost or doubled in the master dataset across the ingest rebalance.
    common::assert_master_exactly_once(&dir.path().join("data/master"), POSTS as u64).await;

    // Every series equals the ground truth.
    let base = format!("http://127.0.0.1:{port}");
    let tags: Vec<String> = truth
        .keys()
        .map(|(t, _)| t.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut wrong = Vec::new();
    for tag in &tags {
        let expected: BTreeMap<i64, i64> = truth
            .iter()
            .filter(|((t, _), _)| t == tag)
            .map(|((_, s), c)| (*s, *c))
            .collect();
        let (_, got) = served(&base, tag).await;
        if got != expected {
            wrong.push(format!("#{tag}: served {got:?}, expected {expected:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} series differ:\n{}\nstatus: {}",
        wrong.len(),
        tags.len(),
        wrong.join("\n"),
        status(&p)
    );

    // A flip under concurrent readers: every answer is exact, from one pair or the other.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for r in 0..3 {
        let (base, stop, tag) = (base.clone(), stop.clone(), tags[r % tags.len()].clone());
        let expected: BTreeMap<i64, i64> = truth
            .iter()
            .filter(|((t, _), _)| *t == tag)
            .map(|((_, s), c)| (*s, *c))
            .collect();
        readers.push(tokio::spawn(async move {
            let mut epochs = std::collections::BTreeSet::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let (epoch, got) = served(&base, &tag).await;
                assert_eq!(
                    got, expected,
                    "#{tag} at epoch {epoch}: a reader saw a mixed or partial pair"
                );
                epochs.insert(epoch);
            }
            epochs
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = p.run("recompute", &["recompute"]);
    assert!(out.contains("epoch 2"), "{out}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut seen = std::collections::BTreeSet::new();
    for r in readers {
        seen.extend(r.await.expect("a reader failed"));
    }
    assert_eq!(seen, [1, 2].into(), "the readers read across the flip");
    p.assert_alive();
}
