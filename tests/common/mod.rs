//! Helpers shared by the command-line tests: the binary in a clean environment, and its status.
// Each test binary uses some of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// `lambda-trends` with no `LT_*` variable or `RUST_LOG` inherited from the caller.
pub fn lambda_trends() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lambda-trends"));
    for (k, _) in std::env::vars() {
        if k.starts_with("LT_") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c
}

/// [`lambda_trends`] on the embedded backends in `data`.
pub fn lambda_trends_in(data: &Path) -> Command {
    let mut c = lambda_trends();
    c.arg("--data-dir").arg(data);
    c
}

/// `lambda-trends status --json` of the embedded backends in `data`.
pub fn status_json(data: &Path) -> serde_json::Value {
    let out = lambda_trends_in(data)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The sum of a status field holding per-partition offsets.
pub fn offsets_sum(status: &serde_json::Value, field: &str) -> u64 {
    status[field]
        .as_object()
        .map(|m| m.values().filter_map(serde_json::Value::as_u64).sum())
        .unwrap_or(0)
}

/// Child processes, each logging to `<dir>/<name>.log`, killed when the test ends however it
/// ends.
pub struct Children {
    dir: std::path::PathBuf,
    children: Vec<(String, std::process::Child)>,
}

impl Children {
    /// No children yet; their logs will go to `dir`.
    pub fn new(dir: &Path) -> Children {
        Children {
            dir: dir.to_path_buf(),
            children: Vec::new(),
        }
    }

    /// Starts `command` as `name`, its standard output and error in `<dir>/<name>.log`.
    pub fn spawn(&mut self, name: &str, mut command: Command) {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log"))).unwrap();
        let child = command
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.children.push((name.to_string(), child));
    }

    /// The last lines of every child's log, for a failure message.
    pub fn logs(&self) -> String {
        self.children
            .iter()
            .map(|(name, _)| {
                let log = std::fs::read_to_string(self.dir.join(format!("{name}.log")))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                format!(
                    "--- {name} ---\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The process id of the child `name`.
    pub fn pid(&self, name: &str) -> u32 {
        self.children
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.id())
            .unwrap_or_else(|| panic!("no child named {name}"))
    }

    /// How the child `name` exited, if it has.
    pub fn exit_status(&mut self, name: &str) -> Option<std::process::ExitStatus> {
        self.children
            .iter_mut()
            .find(|(n, _)| n == name)
            .and_then(|(_, c)| c.try_wait().ok().flatten())
    }

    /// Panics, with its log, if a child other than those in `finishing` has exited.
    pub fn assert_alive(&mut self, finishing: &[&str]) {
        for (name, child) in &mut self.children {
            if finishing.contains(&name.as_str()) {
                continue;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(self.dir.join(format!("{name}.log")))
                    .unwrap_or_default();
                panic!("`{name}` exited early ({status}):\n{log}");
            }
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Percent-encodes everything but ASCII letters and digits (a hashtag in a URL path).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The addresses of the real Kafka, Cassandra and ZooKeeper from `scripts/it/up.sh`, if up.
pub fn real_servers() -> Option<(String, String, String)> {
    use ports::conformance::server_address;
    Some((
        server_address("LT_IT_KAFKA", "Kafka")?,
        server_address("LT_IT_CASSANDRA", "Cassandra")?,
        server_address("LT_IT_ZK", "ZooKeeper")?,
    ))
}

/// The ground truth of everything in the log's `posts`: the count per (hashtag key, slot), and
/// the number of records.
pub async fn log_truth(
    log: &std::sync::Arc<dyn ports::EventLog>,
) -> (std::collections::BTreeMap<(String, i64), i64>, u64) {
    use std::time::{Duration, Instant};
    let ends = log.end_offsets(model::POSTS_TOPIC).await.unwrap();
    let total: u64 = ends.values().sum();
    let mut consumer = log
        .consumer(
            model::POSTS_TOPIC,
            &format!("truth-{}", rand::random::<u32>()),
        )
        .await
        .unwrap();
    let codec = model::avro::PostCodec::new();
    let mut truth = std::collections::BTreeMap::new();
    let mut read = 0u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while read < total {
        assert!(Instant::now() < deadline, "read {read} of {total} records");
        if let ports::ConsumerEvent::Records(rs) = consumer
            .poll(5000, Duration::from_millis(500))
            .await
            .unwrap()
        {
            for r in rs {
                read += 1;
                let post = codec.decode(&r.value).expect("the collector writes posts");
                for k in post.hashtag_keys() {
                    *truth
                        .entry((k, model::SlotStart::containing(post.timestamp).0))
                        .or_default() += 1;
                }
            }
        }
    }
    (truth, total)
}

/// Panics unless the local master dataset in `master_dir` holds every offset of every
/// partition exactly once, `total` rows in all.
pub async fn assert_master_exactly_once(master_dir: &Path, total: u64) {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::{Int64Type, UInt64Type};
    use ports::MasterDataset;
    let master = ports::ObjectStoreMasterDataset::local(master_dir).unwrap();
    let manifest = master.manifest().await.unwrap();
    let ctx = batch_layer::query::session_over(&master, &manifest.files, "master").unwrap();
    let rows = ctx
        .sql(r#"SELECT "partition", count(*) AS n, count(DISTINCT "offset") AS d, min("offset") AS lo, max("offset") AS hi FROM master GROUP BY "partition""#)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let pretty = datafusion::arrow::util::pretty::pretty_format_batches(&rows)
        .unwrap()
        .to_string();
    let mut stored = 0u64;
    for b in &rows {
        for i in 0..b.num_rows() {
            let (n, d) = (
                b.column(1).as_primitive::<Int64Type>().value(i) as u64,
                b.column(2).as_primitive::<Int64Type>().value(i) as u64,
            );
            let (lo, hi) = (
                b.column(3).as_primitive::<UInt64Type>().value(i),
                b.column(4).as_primitive::<UInt64Type>().value(i),
            );
            assert_eq!(
                (n, d, lo),
                (hi + 1, hi + 1, 0),
                "every offset exactly once:\n{pretty}"
            );
            stored += n;
        }
    }
    assert_eq!(
        stored, total,
        "the master dataset holds every post once:\n{pretty}"
    );
}

/// Writes `dir/lambda-trends.toml` for a pipeline of single-component processes on the real
/// servers: topics, keyspace and znodes named `lt-{name}-{id}` (`lt_{name}_{id}` for the
/// keyspace), small collector batches and short flush intervals, serving on `port`, and
/// `recompute` (more `[recompute]` settings, one per line).
pub fn write_real_pipeline_config(
    dir: &Path,
    (name, id): (&str, &str),
    (kafka, cassandra, zk): (&str, &str, &str),
    port: u16,
    recompute: &str,
) {
    std::fs::write(
        dir.join("lambda-trends.toml"),
        format!(
            r#"data-dir = "{data}"
[backends]
event-log = "kafka://{kafka}/lt-{name}-{id}"
views = "cassandra://{cassandra}/lt_{name}_{id}"
coordinator = "zk://{zk}/lt-{name}-{id}"
[collector]
batch-size = 100
[speed]
flush-interval-ms = 300
[ingest]
flush-interval-ms = 1000
[recompute]
poll-interval-ms = 100
{recompute}
[serving]
listen = "127.0.0.1:{port}"
assets-dir = "{data}/no-dashboard"
"#,
            data = dir.join("data").display(),
        ),
    )
    .unwrap();
}

/// What [`assert_speed_lost_nothing`] found.
pub struct SpeedCheck {
    /// Counts in the speed table beyond the truth (records counted twice after a kill).
    pub overcount: i64,
    /// The truth's total per hashtag.
    pub true_totals: std::collections::BTreeMap<String, i64>,
    /// The truth's first and last slot starts, epoch milliseconds.
    pub slots: (i64, i64),
}

/// Panics unless speed table 0 holds at least every count of `truth` (per hashtag, over the
/// truth's slots).
pub async fn assert_speed_lost_nothing(
    views: &dyn ports::ViewStore,
    truth: &std::collections::BTreeMap<(String, i64), i64>,
) -> SpeedCheck {
    use std::collections::BTreeMap;
    let (first, last) = (
        truth.keys().map(|(_, s)| *s).min().unwrap(),
        truth.keys().map(|(_, s)| *s).max().unwrap(),
    );
    let speed: BTreeMap<String, i64> = views
        .hashtag_totals(
            ports::ViewTable::Speed(ports::SpeedTable::Zero),
            model::SlotStart(first),
            model::SlotStart(last),
        )
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.hashtag, h.count))
        .collect();
    let mut true_totals: BTreeMap<String, i64> = BTreeMap::new();
    for ((tag, _), c) in truth {
        *true_totals.entry(tag.clone()).or_default() += c;
    }
    let lost: Vec<_> = true_totals
        .iter()
        .filter(|(t, c)| speed.get(*t).copied().unwrap_or(0) < **c)
        .take(10)
        .collect();
    assert!(lost.is_empty(), "the speed layer lost counts: {lost:?}");
    SpeedCheck {
        overcount: speed.values().sum::<i64>() - true_totals.values().sum::<i64>(),
        true_totals,
        slots: (first, last),
    }
}

/// Waits (20 s at most) until the serving layer at `api` (`http://host:port`) reports `epoch`,
/// then panics unless the series of the `top` busiest hashtags of `truth` equal it, slot by slot.
pub async fn assert_served_series_equal_truth(
    api: &str,
    epoch: u64,
    truth: &std::collections::BTreeMap<(String, i64), i64>,
    check: &SpeedCheck,
    top: usize,
) {
    use serde_json::Value;
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s: Value = reqwest::get(format!("{api}/api/v1/status"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["active"]["epoch"].as_u64() == Some(epoch) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "serving did not see the flip to {epoch}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (first, last) = check.slots;
    let mut tags: Vec<(&String, &i64)> = check.true_totals.iter().collect();
    tags.sort_by_key(|(_, c)| -**c);
    let mut wrong = Vec::new();
    for (tag, _) in tags.iter().take(top) {
        let expected: BTreeMap<i64, i64> = truth
            .iter()
            .filter(|((t, _), _)| t == *tag)
            .map(|((_, s), c)| (*s, *c))
            .collect();
        let body: Value = reqwest::get(format!(
            "{api}/api/v1/hashtags/{}/series?from={first}&to={last}",
            urlencode(tag)
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let got: BTreeMap<i64, i64> = body["points"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|pt| (pt["t"].as_i64().unwrap(), pt["count"].as_i64().unwrap()))
            .collect();
        if got != expected {
            wrong.push(format!("#{tag}: served {got:?}, truth {expected:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "after the recompute, served series differ:\n{}",
        wrong.join("\n")
    );
}
