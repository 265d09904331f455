//! The batch recompute on a large master dataset: DataFusion computing the views from every post,
//! plus writing the batch view, the part of `lambda-trends recompute` that grows with history.
//!
//! ```sh
//! cargo bench --bench recompute                       # 10,000,000 posts (release build)
//! cargo bench --bench recompute -- --posts 1000000 --views docs/views.example.toml
//! cargo bench --bench recompute -- --chunk 5000    # rows per batch-table write (default 50,000)
//! cargo test --bench recompute                        # smoke: 20,000 posts, debug build
//! ```
//!
//! The posts are the synthetic firehose's (one in eight with hashtags, a Zipf vocabulary, bursts),
//! spread over one day, written straight into a master dataset (Parquet, zstd, one file per hour
//! and partition, as ingest writes them after compaction) in a temporary directory. Then:
//! `scan+aggregate` (the DataFusion plan of every view, collected), and `recompute` (plan plus
//! writing the batch table of the embedded view store, `write_batch_views`). One JSON line of
//! results on stdout; the figures go to `benches/RESULTS.md`.

mod common;
use batch_layer::ingest::to_parquet;
use batch_layer::query::{QueryLimits, session_over_with};
use batch_layer::recompute::write_batch_views;
use collector::synthetic::{SyntheticConfig, SyntheticSource};
use common::arg;
use model::ViewSet;
use ports::master::{MasterFile, NewMasterFile};
use ports::{BackendUrls, Backends, BatchTable};
use std::collections::BTreeMap;
use std::time::Instant;
use views::master::MasterBatchBuilder;

/// 2026-05-01T00:00:00Z.
const T0: i64 = 1_777_593_600_000;
const PARTITIONS: u32 = 4;

/// Writes `n` synthetic posts over one day into the master dataset, one file per hour and
/// partition. Returns the seconds it took.
async fn generate(backends: &Backends, n: u64) -> f64 {
    let started = Instant::now();
    let mut src = SyntheticSource::new(&SyntheticConfig::default());
    let per_hour = n.div_ceil(24);
    let mut offsets: BTreeMap<u32, u64> = BTreeMap::new();
    let mut written = 0u64;
    for hour in 0..24 {
        let in_hour = per_hour.min(n - written);
        if in_hour == 0 {
            break;
        }
        let mut builders: Vec<MasterBatchBuilder> = (0..PARTITIONS)
            .map(|_| MasterBatchBuilder::default())
            .collect();
        let mut firsts: Vec<u64> = (0..PARTITIONS)
            .map(|p| offsets.get(&p).copied().unwrap_or(0))
            .collect();
        for i in 0..in_hour {
            let ts = T0 + hour * 3_600_000 + (i as i64 * 3_600_000) / in_hour as i64;
            let post = src.next_post(ts);
            let p = (post.userid.unsigned_abs() % u64::from(PARTITIONS)) as u32;
            let o = offsets.entry(p).or_insert(0);
            builders[p as usize].push(&post, p, *o, ts + 1000);
            *o += 1;
        }
        written += in_hour;
        let base = backends.master.manifest().await.unwrap();
        let mut files = Vec::new();
        for (p, b) in builders.iter_mut().enumerate() {
            if b.is_empty() {
                continue;
            }
            let batch = b.finish().unwrap();
            let rows = batch.num_rows() as u64;
            let data = to_parquet(&batch).unwrap();
            let first = firsts[p];
            let last = first + rows - 1;
            firsts[p] = last + 1;
            let date = chrono::DateTime::from_timestamp_millis(T0 + hour * 3_600_000).unwrap();
            files.push(NewMasterFile {
                file: MasterFile {
                    path: format!(
                        "date={}/hour={:02}/part-{p}-{first}-{last}.parquet",
                        date.format("%Y-%m-%d"),
                        hour
                    ),
                    partition: p as u32,
                    first_offset: first,
                    last_offset: last,
                    rows,
                    bytes: data.len() as u64,
                },
                data,
            });
        }
        backends
            .master
            .append(&base, files, offsets.clone())
            .await
            .unwrap();
    }
    started.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let full = common::measuring();
    let posts: u64 = arg("--posts")
        .map(|s| s.parse().expect("--posts N"))
        .unwrap_or(if full { 10_000_000 } else { 20_000 });
    let views = match arg("--views") {
        Some(path) => views::definitions::load(std::path::Path::new(&path)).expect("views file"),
        None => ViewSet::default(),
    };
    let dir = tempfile::tempdir().unwrap();
    let backends = Backends::open(&BackendUrls::default(), dir.path()).unwrap();
    let generate_s = generate(&backends, posts).await;
    let manifest = backends.master.manifest().await.unwrap();
    let cut = manifest.offsets.clone();
    let parquet_bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    let limits = QueryLimits::default();

    // The DataFusion plan alone: every view, collected.
    let started = Instant::now();
    let ctx =
        session_over_with(backends.master.as_ref(), &manifest.files, "master", &limits).unwrap();
    views::batch::register_view_udfs(&ctx, &views);
    let cells: usize = views::batch::batch_views(&ctx, "master", &cut, &views)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
        .iter()
        .map(|b| b.num_rows())
        .sum();
    let plan_s = started.elapsed().as_secs_f64();

    // The recompute's computing step: the plan plus writing the batch table.
    let started = Instant::now();
    let chunk: usize = arg("--chunk")
        .map(|s| s.parse().expect("--chunk ROWS"))
        .unwrap_or(batch_layer::recompute::RecomputeConfig::default().write_chunk_rows);
    let (rows, read) = write_batch_views(&backends, &cut, BatchTable::A, &views, chunk, &limits)
        .await
        .unwrap();
    let recompute_s = started.elapsed().as_secs_f64();
    assert_eq!(read, posts, "every post read");
    assert_eq!(rows as usize, cells, "every cell written");

    let result = serde_json::json!({
        "bench": "recompute",
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "posts": posts,
        "views": views.views.iter().map(|v| v.name.clone()).collect::<Vec<_>>(),
        "write_chunk_rows": chunk,
        "files": manifest.files.len(),
        "parquet_mib": (parquet_bytes as f64 / 1048576.0 * 10.0).round() / 10.0,
        "cells": cells,
        "generate_s": (generate_s * 1000.0).round() / 1000.0,
        "scan_aggregate_s": (plan_s * 1000.0).round() / 1000.0,
        "recompute_s": (recompute_s * 1000.0).round() / 1000.0,
        "posts_per_s": (posts as f64 / recompute_s).round(),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    });
    println!("{result}");
    eprintln!(
        "recompute of {posts} posts ({} Parquet files, {:.1} MiB): scan+aggregate {plan_s:.2} s, \
         with writing {cells} cells {recompute_s:.2} s ({:.0} posts/s)",
        manifest.files.len(),
        parquet_bytes as f64 / 1048576.0,
        posts as f64 / recompute_s
    );
}
