//! Compaction of the master dataset: small files merge into one per hour and partition, every
//! row stays exactly once, a concurrent ingest flush is not lost, and replaced files are
//! deleted only once retired long enough.

use batch_layer::compact::{CompactConfig, compact, plan};
use batch_layer::ingest::{IngestConfig, MasterIngest};
use batch_layer::query::QueryLimits;
use batch_layer::sql::sql_session;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use model::avro::PostCodec;
use model::{POSTS_TOPIC, Post};
use ports::{BackendUrls, Backends, NewRecord};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn append(backends: &Backends, from: u64, n: u64) {
    let codec = PostCodec::new();
    let base = 1_800_000_000_000i64;
    let records = (from..from + n)
        .map(|i| {
            let p = Post {
                userid: (i % 31) as i64,
                username: format!("u{}", i % 31),
                timestamp: base + (i % 50) as i64 * 60_000,
                tweetid: i as i64,
                tweet: format!("#t{} post {i}", i % 7),
                source: None,
                lang: None,
                hashtags: None,
            };
            NewRecord {
                key: p.userid.to_string().into_bytes(),
                value: codec.encode(&p),
                headers: vec![],
            }
        })
        .collect();
    backends.log.append(POSTS_TOPIC, records).await.unwrap();
}

/// Reads until `rows` are buffered and ingested, then flushes: one new file per partition.
async fn ingest_all(ingest: &mut MasterIngest, rows: u64) {
    for _ in 0..100 {
        ingest.poll_once(Duration::from_millis(50)).await.unwrap();
        ingest.flush().await.unwrap();
        if ingest.manifest().rows() >= rows {
            return;
        }
    }
    panic!("ingest did not reach {rows} rows");
}

/// (rows, distinct (partition, offset), distinct tweet ids) of the dataset, through SQL.
async fn census(backends: &Backends) -> (i64, i64, i64) {
    let ctx = sql_session(backends.master.as_ref(), None, &QueryLimits::default())
        .await
        .unwrap();
    let b = ctx
        .sql(
            "SELECT count(*), count(DISTINCT (\"partition\", \"offset\")), count(DISTINCT tweetid) FROM posts",
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let v = |c: usize| b[0].column(c).as_primitive::<Int64Type>().value(0);
    (v(0), v(1), v(2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_files_merge_without_losing_or_doubling_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let backends = Backends::open(&BackendUrls::default(), dir.path()).unwrap();
    let mut ingest =
        MasterIngest::start(&backends, IngestConfig::default(), CancellationToken::new())
            .await
            .unwrap();
    for round in 0..6 {
        append(&backends, round * 200, 200).await;
        ingest_all(&mut ingest, (round + 1) * 200).await;
    }
    let before = backends.master.manifest().await.unwrap();
    let partitions = before.offsets.len();
    assert!(
        before.files.len() >= 6 * partitions.min(4),
        "{} small files",
        before.files.len()
    );
    assert_eq!(census(&backends).await, (1200, 1200, 1200));

    let cfg = CompactConfig {
        min_files: 3,
        retire_after_secs: 3600,
        ..CompactConfig::default()
    };
    assert!(!plan(&before, &cfg).is_empty());

    // Ingest has rows buffered on top of the old manifest when the compaction swaps files.
    append(&backends, 1200, 300).await;
    ingest.poll_once(Duration::from_millis(200)).await.unwrap();
    let report = compact(&backends, &cfg, &QueryLimits::default())
        .await
        .unwrap();
    assert_eq!(report.files_in, before.files.len());
    assert_eq!(report.files_out, partitions);
    assert_eq!(report.rows, 1200);
    ingest_all(&mut ingest, 1500).await;

    let after = backends.master.manifest().await.unwrap();
    assert_eq!(
        census(&backends).await,
        (1500, 1500, 1500),
        "every row once, the concurrent flush included"
    );
    assert_eq!(after.retired.len(), before.files.len());
    // The replaced files are still readable (a query that started before may read them)...
    let old = dir.path().join("master").join(&before.files[0].path);
    assert!(old.exists(), "{} was deleted too early", old.display());
    assert!(plan(&after, &cfg).is_empty(), "nothing left to merge");

    // ...until a later compaction finds them retired long enough.
    let purge_now = CompactConfig {
        retire_after_secs: 0,
        ..cfg
    };
    let report = compact(&backends, &purge_now, &QueryLimits::default())
        .await
        .unwrap();
    assert_eq!(report.purged, before.files.len());
    assert!(!old.exists(), "{} was not deleted", old.display());
    let last = backends.master.manifest().await.unwrap();
    assert!(last.retired.is_empty());
    assert_eq!(census(&backends).await, (1500, 1500, 1500));
}
