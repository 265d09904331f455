//! The thesis's Table 5.2 for our speed layer: records/s and batch time for batches of 1,000,
//! 10,000, 30,000 and 50,000 posts (one batch = read from the log, decode, extract hashtags,
//! aggregate per hashtag and slot, write the counter increments, commit the offsets, and take the
//! protocol boundary), on the embedded backends or on real Kafka + Cassandra + ZooKeeper.
//!
//! ```sh
//! cargo bench --bench speed_batches                 # embedded backends (release)
//! source .dev/it/env.sh && cargo bench --bench speed_batches -- --real   # scripts/it/up.sh servers
//! cargo bench --bench speed_batches -- --sizes 1000,10000 --batches 3
//! cargo test --bench speed_batches                  # smoke: embedded, 1,000-post batches
//! ```
//!
//! Posts are the synthetic firehose's (one in eight with hashtags, as measured on real samples),
//! loaded into the log before the clock starts. One JSON line per batch size on stdout.

mod common;
use collector::synthetic::{SyntheticConfig, SyntheticSource};
use common::arg;
use model::POSTS_TOPIC;
use ports::{Adapters, BackendUrls, Backends, NewRecord};
use speed_layer::{SpeedConfig, SpeedWorker};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Fresh backends for one batch size: embedded in `dir`, or the real servers with a namespace
/// (topics, group) and keyspace of their own.
async fn backends(real: bool, dir: &std::path::Path, run: &str) -> Backends {
    let urls = BackendUrls {
        partitions: 4,
        ..BackendUrls::default()
    };
    if !real {
        return Backends::open(&urls, dir).unwrap();
    }
    let var = |v: &str| {
        std::env::var(v).unwrap_or_else(|_| {
            panic!("--real needs {v} (scripts/it/up.sh, then source .dev/it/env.sh)")
        })
    };
    let log = kafka::KafkaEventLog::connect(
        &format!("kafka://{}", var("LT_IT_KAFKA")),
        kafka::KafkaOptions {
            partitions: 4,
            ..kafka::KafkaOptions::default()
        },
    )
    .await
    .unwrap();
    let views = cassandra::CassandraViewStore::connect_with(
        &format!("cassandra://{}/lt_bench_{run}", var("LT_IT_CASSANDRA")),
        cassandra::CassandraOptions::default(),
    )
    .await
    .unwrap();
    let coordinator =
        zk::ZkCoordinator::connect(&format!("zk://{}/lt-bench-{run}", var("LT_IT_ZK")))
            .await
            .unwrap();
    let adapters = Adapters {
        log: Some(std::sync::Arc::new(
            ports::NamespacedLog::new(log, &format!("lt-bench-{run}")).unwrap(),
        )),
        views: Some(views),
        coordinator: Some(coordinator),
    };
    Backends::open_with(&urls, dir, adapters).unwrap()
}

async fn preload(backends: &Backends, posts: usize) {
    let mut src = SyntheticSource::new(&SyntheticConfig::default());
    let now = chrono::Utc::now().timestamp_millis();
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..posts {
        let p = src.next_post(now - (posts - i) as i64);
        batch.push(NewRecord {
            key: p.userid.to_string().into_bytes(),
            value: backends.codec.encode(&p),
            headers: vec![],
        });
        if batch.len() == 10_000 {
            backends
                .log
                .append(POSTS_TOPIC, std::mem::take(&mut batch))
                .await
                .unwrap();
        }
    }
    if !batch.is_empty() {
        backends.log.append(POSTS_TOPIC, batch).await.unwrap();
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let full = common::measuring();
    let real = std::env::args().any(|a| a == "--real");
    let sizes: Vec<usize> = arg("--sizes")
        .unwrap_or_else(|| {
            if full {
                "1000,10000,30000,50000"
            } else {
                "1000"
            }
            .into()
        })
        .split(',')
        .map(|s| s.trim().parse().expect("--sizes N,N,..."))
        .collect();
    let batches: usize = arg("--batches")
        .map(|s| s.parse().expect("--batches N"))
        .unwrap_or(if full { 5 } else { 2 });
    for size in sizes {
        let dir = tempfile::tempdir().unwrap();
        let run = format!("{size}_{:06x}", rand::random::<u32>() & 0xff_ffff);
        let backends = backends(real, dir.path(), &run).await;
        // One more batch than measured: the first warms the connections and the assignment.
        // And one more again: a batch ends at the first poll that reaches its size, so each
        // can read up to one poll (5,000) past it.
        preload(&backends, size * (batches + 2)).await;
        let cfg = SpeedConfig {
            group: format!("bench-{run}"),
            flush_max_records: size,
            poll_max_records: size.min(5000),
            flush_interval_ms: 3_600_000,
            ..SpeedConfig::default()
        };
        let mut worker = SpeedWorker::start(&backends, cfg, CancellationToken::new())
            .await
            .unwrap();
        let mut times = Vec::new();
        // Of each batch: reading, decoding and aggregating; and the commit boundary (replay
        // marks, increments, offset commit, protocol boundary).
        let (mut read_s, mut flush_s) = (0.0, 0.0);
        for b in 0..=batches {
            let started = Instant::now();
            let mut read = 0;
            let deadline = Instant::now() + Duration::from_secs(120);
            while read < size {
                assert!(
                    Instant::now() < deadline,
                    "batch {b}: read {read} of {size}"
                );
                read += worker.poll_once(Duration::from_millis(100)).await.unwrap();
            }
            let read_done = started.elapsed().as_secs_f64();
            worker.flush().await.unwrap();
            if b > 0 {
                let t = started.elapsed().as_secs_f64();
                times.push((t, read));
                read_s += read_done;
                flush_s += t - read_done;
            }
        }
        let total_s: f64 = times.iter().map(|(t, _)| t).sum();
        let total_records: usize = times.iter().map(|(_, n)| n).sum();
        let mut ms: Vec<f64> = times.iter().map(|(t, _)| t * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let result = serde_json::json!({
            "bench": "speed_batches",
            "build": if cfg!(debug_assertions) { "debug" } else { "release" },
            "backends": if real { "kafka+cassandra+zookeeper" } else { "embedded" },
            "batch": size,
            "batches": times.len(),
            "records_per_s": (total_records as f64 / total_s).round(),
            "batch_ms_mean": (total_s * 1000.0 / times.len() as f64 * 10.0).round() / 10.0,
            "batch_ms_min": (ms[0] * 10.0).round() / 10.0,
            "batch_ms_max": (ms[ms.len() - 1] * 10.0).round() / 10.0,
            "read_ms_mean": (read_s * 1000.0 / times.len() as f64 * 10.0).round() / 10.0,
            "flush_ms_mean": (flush_s * 1000.0 / times.len() as f64 * 10.0).round() / 10.0,
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        });
        println!("{result}");
        eprintln!(
            "batch {size:>6}: {:>9} records/s, batch time {} ms (mean of {})",
            result["records_per_s"],
            result["batch_ms_mean"],
            times.len()
        );
    }
}
