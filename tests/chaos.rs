//! Chaos (issue 10): the multi-process pipeline on real Kafka, Cassandra and ZooKeeper while a
//! seeded schedule kills (`kill -9`) the collector, the speed workers, the ingest and serving at
//! random moments and restarts them; then recomputes killed mid-way (one aborted, one left for
//! the next to take over when its lease expires); then one that completes.
//! Checks, against the ground truth read back from the log (every acknowledged post):
//! - the master dataset holds every offset of every partition exactly once;
//! - the speed layer lost nothing (no hashtag below its true count), and its overcount is what
//!   the replay reports say (summed over every worker's lives): at least the surely re-counted
//!   increments, at most those plus the maybe re-counted ones (equal when no kill hit a write);
//! - after the recompute, served series equal the ground truth.
//!
//! Short by default (about 30 s of kills at 1,500 posts/s); `LT_CHAOS_SECONDS`, `LT_CHAOS_RATE`
//! and `LT_CHAOS_SEED` make it longer, heavier or different (docs/RELIABILITY.md). Runs only when `scripts/it/up.sh` has started the servers.

mod common;

use common::{Children, lambda_trends};
use ports::EventLog;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Pipeline {
    dir: PathBuf,
    children: Children,
    /// Lives started per component, for unique log names.
    lives: BTreeMap<String, u32>,
    api: String,
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

    /// Starts (again) the component `name`; returns the name of this life's child.
    fn start(&mut self, name: &str) -> String {
        let life = self.lives.entry(name.to_string()).or_default();
        *life += 1;
        let child = format!("{name}.{life}");
        let mut c = match name {
            "collect" => {
                let rate = std::env::var("LT_CHAOS_RATE").unwrap_or_else(|_| "1500".into());
                self.command(&["collect", "--source", "synthetic", "--rate", &rate])
            }
            "ingest" => self.command(&["ingest"]),
            "serve" => self.command(&["serve"]),
            _ => self.command(&["speed"]),
        };
        c.env("LT_CHAOS_LIFE", &child);
        self.children.spawn(&child, c);
        child
    }

    fn current(&self, name: &str) -> String {
        format!("{name}.{}", self.lives[name])
    }

    /// `kill -9` of the current life of `name`.
    async fn kill(&mut self, name: &str) {
        let pid = self.children.pid(&self.current(name));
        let ok = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -9 {name}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.children.exit_status(&self.current(name)).is_none() {
            assert!(Instant::now() < deadline, "{name} survived kill -9");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What every speed worker's every life reported re-counting in speed table 0, from their
    /// logs (a report is logged before the mark that makes it count, so `kill -9` loses none,
    /// which the `/metrics` of a killed process would).
    fn replays_total(&self) -> Replays {
        let mut total = Replays::default();
        for (name, lives) in &self.lives {
            if !name.starts_with("speed") {
                continue;
            }
            for life in 1..=*lives {
                let log = std::fs::read_to_string(self.dir.join(format!("{name}.{life}.log")))
                    .unwrap_or_default();
                total.add(replays(&log));
            }
        }
        total
    }

    fn run(&self, args: &[&str]) -> (bool, String) {
        let out = self.command(args).output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    fn status(&self) -> Value {
        let out = self.command(&["status", "--json"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Panics if a component other than the finished collector has died unasked.
    fn assert_alive(&mut self) {
        let finished: Vec<String> = self
            .lives
            .iter()
            .flat_map(|(name, lives)| {
                let last = *lives;
                (1..=last)
                    .filter(move |l| {
                        *l < last || name == "collect" || name.starts_with("recompute")
                    })
                    .map(move |l| format!("{name}.{l}"))
            })
            .collect();
        let finished: Vec<&str> = finished.iter().map(String::as_str).collect();
        self.children.assert_alive(&finished);
    }
}

/// What re-read records added again to speed table 0 (the one checked): surely counted before
/// (`lambda_speed_replayed_counts_total`) and maybe (`…_maybe_replayed_counts_total`).
#[derive(Debug, Clone, Copy, Default)]
struct Replays {
    sure: u64,
    maybe: u64,
}

impl Replays {
    fn add(&mut self, other: Replays) {
        self.sure += other.sure;
        self.maybe += other.maybe;
    }
}

/// The replay reports in a speed worker's log.
fn replays(log: &str) -> Replays {
    let field = |line: &str, name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
            .unwrap_or(0)
    };
    let mut total = Replays::default();
    for line in log.lines().filter(|l| l.contains("Re-counted records")) {
        total.add(Replays {
            sure: field(line, "replayed_counts_0"),
            maybe: field(line, "maybe_replayed_counts_0"),
        });
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_the_pipeline_loses_nothing_and_recomputes_to_ground_truth() {
    let Some((kafka, cassandra, zk)) = common::real_servers() else {
        return;
    };
    let seconds: u64 = std::env::var("LT_CHAOS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let seed: u64 = std::env::var("LT_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2021);
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let id = format!("{:08x}", rand::random::<u32>());
    common::write_real_pipeline_config(
        dir.path(),
        ("chaos", &id),
        (&kafka, &cassandra, &zk),
        port,
        "wait-timeout-secs = 90\nlease-timeout-secs = 5",
    );
    let mut p = Pipeline {
        dir: dir.path().to_path_buf(),
        children: Children::new(dir.path()),
        lives: BTreeMap::new(),
        api: format!("http://127.0.0.1:{port}"),
    };
    let (ok, out) = p.run(&["migrate"]);
    assert!(ok, "{out}");
    for name in ["speed-a", "speed-b", "ingest", "serve", "collect"] {
        p.start(name);
    }

    // The schedule: every 1-3 s one component is killed, and restarted 0.2-1.5 s later.
    let victims = ["collect", "speed-a", "speed-b", "ingest", "serve"];
    let mut kills: BTreeMap<&str, u32> = BTreeMap::new();
    let end = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(rng.random_range(1000..3000))).await;
        p.assert_alive();
        let victim = victims[rng.random_range(0..victims.len())];
        p.kill(victim).await;
        *kills.entry(victim).or_default() += 1;
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..1500))).await;
        p.start(victim);
    }
    eprintln!("kills: {kills:?} (seed {seed})");

    // The collector stops for good (SIGTERM: it flushes); the rest catch up.
    let collector = p.current("collect");
    let pid = p.children.pid(&collector);
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = p.status();
        let ends = s["log_end_offsets"].as_object().unwrap();
        let caught_up = p.children.exit_status(&collector).is_some()
            && ends.iter().all(|(part, e)| {
                let e = e.as_u64().unwrap();
                s["speed_committed"][part].as_u64().unwrap_or(0) >= e
                    && s["master_offsets"][part].as_u64().unwrap_or(0) >= e
            });
        if caught_up {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no catch-up after the chaos: {s}\n{}",
            p.children.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    p.assert_alive();

    let backends = {
        let raw = kafka::KafkaEventLog::connect(&format!("kafka://{kafka}"), Default::default())
            .await
            .unwrap();
        let cfg = std::fs::read_to_string(dir.path().join("lambda-trends.toml")).unwrap();
        let ns = cfg
            .lines()
            .find_map(|l| l.strip_prefix(&format!("event-log = \"kafka://{kafka}/")))
            .unwrap()
            .trim_end_matches('"')
            .to_string();
        let keyspace = cfg
            .lines()
            .find_map(|l| l.strip_prefix("views = \""))
            .unwrap()
            .trim_end_matches('"')
            .to_string();
        let log: Arc<dyn EventLog> = Arc::new(ports::NamespacedLog::new(raw, &ns).unwrap());
        let views = cassandra::CassandraViewStore::connect_with(&keyspace, Default::default())
            .await
            .unwrap();
        (log, views)
    };
    let (log, views) = backends;
    let (truth, total) = common::log_truth(&log).await;
    assert!(total > 1000, "the collector produced posts ({total})");

    // The master dataset: every offset exactly once.
    common::assert_master_exactly_once(&dir.path().join("data/master"), total).await;

    // The speed layer: nothing lost, the overcount within the replay bound.
    let check = common::assert_speed_lost_nothing(views.as_ref(), &truth).await;
    let overcount = check.overcount;
    let replays = p.replays_total();
    eprintln!(
        "posts {total}, speed overcount {overcount}, replayed counts {} surely + {} maybe",
        replays.sure, replays.maybe
    );
    assert!(
        replays.sure <= overcount as u64 && overcount as u64 <= replays.sure + replays.maybe,
        "the overcount ({overcount}) is what the replay counters say ({replays:?})"
    );

    // Recomputes killed mid-way: the first cleaned up with `recompute --abort`, the second left
    // in progress; the next recompute takes it over once its lease has expired, and completes.
    for round in 0..2 {
        let child = "recompute-killed";
        let life = p.lives.entry(child.to_string()).or_default();
        *life += 1;
        let name = format!("{child}.{life}");
        let c = p.command(&["recompute"]);
        p.children.spawn(&name, c);
        // Once it has begun (it holds the recompute), at a random point of its run.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !p.status()["speed_state"]["recompute"].is_object() {
            assert!(Instant::now() < deadline, "the recompute did not begin");
            assert!(
                p.children.exit_status(&name).is_none(),
                "the recompute ended early"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..1500))).await;
        let pid = p.children.pid(&name);
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
        while p.children.exit_status(&name).is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if round == 0 {
            let (_, out) = p.run(&["recompute", "--abort"]);
            eprintln!(
                "after a killed recompute: {}",
                out.lines().last().unwrap_or_default()
            );
        }
    }
    let left_behind = p.status()["speed_state"]["recompute"].is_object();
    if left_behind {
        let (ok, out) = p.run(&["recompute"]);
        assert!(
            !ok && out.contains("is in progress"),
            "while its lease is fresh, the killed recompute blocks the next: {out}"
        );
    }
    tokio::time::sleep(Duration::from_millis(5500)).await;
    let (ok, out) = p.run(&["recompute"]);
    assert!(
        ok,
        "the recompute after the chaos: {out}\n{}",
        p.children.logs()
    );
    eprintln!("a killed recompute left in progress: {left_behind}");
    if left_behind {
        assert!(
            out.contains("Took over a recompute whose owner stopped"),
            "the stale recompute was taken over: {out}"
        );
    }
    let epoch = p.status()["active"]["epoch"].as_u64().unwrap();
    assert!(epoch >= 1, "{out}");
    // Serving (restarted several times) follows the flip; then every checked series is exact.
    common::assert_served_series_equal_truth(&p.api, epoch, &truth, &check, 40).await;
    p.assert_alive();
}
