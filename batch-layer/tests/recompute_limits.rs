//! The recompute's computing step within bounds: a memory pool far smaller than the aggregation
//! still gives the same batch views (DataFusion spills), and the progress it reports adds up.

use batch_layer::ingest::{IngestConfig, MasterIngest};
use batch_layer::query::QueryLimits;
use batch_layer::recompute::{ScanProgress, write_batch_views_reporting};
use model::avro::PostCodec;
use model::view::{Bucket, Dimension, Measure};
use model::{POSTS_TOPIC, Post, SlotStart, ViewDef, ViewSet};
use ports::{BackendUrls, Backends, BatchTable, NewRecord, ViewTable};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const POSTS: u64 = 40_000;

/// Embedded backends holding `POSTS` posts with many distinct (hashtag, slot) cells, all ingested.
async fn ingested(dir: &std::path::Path) -> Backends {
    let backends = Backends::open(&BackendUrls::default(), dir).unwrap();
    let codec = PostCodec::new();
    let base = 1_800_000_000_000i64;
    let records: Vec<NewRecord> = (0..POSTS)
        .map(|i| {
            let p = Post {
                userid: (i % 977) as i64,
                username: format!("u{}", i % 977),
                // 2,000 slots, a hundred distinct hashtags each: 200,000 possible cells.
                timestamp: base + (i % 2000) as i64 * 300_000,
                tweetid: i as i64,
                tweet: format!("#tag{} #common", (i * 7919) % 100),
                source: Some("test".into()),
                lang: Some(["en", "de"][(i % 2) as usize].into()),
                hashtags: None,
            };
            NewRecord {
                key: p.userid.to_string().into_bytes(),
                value: codec.encode(&p),
                headers: vec![],
            }
        })
        .collect();
    for chunk in records.chunks(5000) {
        backends
            .log
            .append(POSTS_TOPIC, chunk.to_vec())
            .await
            .unwrap();
    }
    let mut ingest =
        MasterIngest::start(&backends, IngestConfig::default(), CancellationToken::new())
            .await
            .unwrap();
    while ingest.manifest().rows() < POSTS {
        ingest.poll_once(Duration::from_millis(100)).await.unwrap();
        ingest.flush().await.unwrap();
    }
    backends
}

fn views() -> ViewSet {
    ViewSet::new(
        1,
        vec![ViewDef {
            name: "by_lang_hourly".into(),
            description: String::new(),
            group_by: vec![Dimension::Lang],
            bucket: Bucket::Hour,
            measure: Measure::Posts,
        }],
    )
    .unwrap()
}

async fn table(backends: &Backends, t: BatchTable) -> BTreeMap<(String, i64), i64> {
    let mut out = BTreeMap::new();
    let from = SlotStart(1_700_000_000_000);
    let to = SlotStart(1_900_000_000_000);
    for c in backends
        .views
        .hashtag_totals(ViewTable::Batch(t), from, to)
        .await
        .unwrap()
    {
        for s in backends
            .views
            .read_series(ViewTable::Batch(t), &c.hashtag, from, to)
            .await
            .unwrap()
        {
            out.insert((s.hashtag, s.slot.0), s.count);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_memory_pool_spills_and_gives_the_same_views() {
    let dir = tempfile::tempdir().unwrap();
    let backends = ingested(dir.path()).await;
    let cut = backends.master.manifest().await.unwrap().offsets;
    let views = views();

    let unbounded = QueryLimits {
        memory_limit_mb: 0,
        ..QueryLimits::default()
    };
    let progress = ScanProgress::default();
    let (rows, posts) = write_batch_views_reporting(
        &backends,
        &cut,
        BatchTable::A,
        &views,
        5000,
        &unbounded,
        &progress,
    )
    .await
    .unwrap();
    assert_eq!(posts, POSTS);
    // Each view scans every post once.
    assert_eq!(progress.total.load(Ordering::Relaxed), POSTS * 2);
    assert_eq!(progress.scanned.load(Ordering::Relaxed), POSTS * 2);
    assert_eq!(progress.written.load(Ordering::Relaxed), rows);
    assert!(progress.files.load(Ordering::Relaxed) > 0);

    let spill = tempfile::tempdir().unwrap();
    let tiny = QueryLimits {
        memory_limit_mb: 3,
        spill_dir: spill.path().to_str().unwrap().into(),
        batch_size: 1024,
    };
    let (rows_tiny, _) = write_batch_views_reporting(
        &backends,
        &cut,
        BatchTable::B,
        &views,
        5000,
        &tiny,
        &ScanProgress::default(),
    )
    .await
    .expect("the aggregation spills instead of failing");
    assert_eq!(rows_tiny, rows);
    let (a, b) = (
        table(&backends, BatchTable::A).await,
        table(&backends, BatchTable::B).await,
    );
    assert_eq!(a.len() as u64, rows);
    assert_eq!(a, b, "the same cells with 3 MiB as without a limit");
    let thesis_total: i64 = a
        .iter()
        .filter(|((k, _), _)| model::view::is_thesis_key(k))
        .map(|(_, c)| c)
        .sum();
    assert_eq!(thesis_total, 2 * POSTS as i64, "two hashtags per post");

    // The bound is real: with the same pool and nowhere to spill (the spill directory cannot be
    // made: its parent is a file), the aggregation fails.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let nowhere = QueryLimits {
        spill_dir: file.join("spill").to_str().unwrap().into(),
        ..tiny
    };
    let err = write_batch_views_reporting(
        &backends,
        &cut,
        BatchTable::B,
        &views,
        5000,
        &nowhere,
        &ScanProgress::default(),
    )
    .await
    .expect_err("3 MiB is not enough without spilling");
    assert!(
        err.to_string().to_lowercase().contains("directory"),
        "{err}"
    );
}
