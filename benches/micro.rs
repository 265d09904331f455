//! Micro-benchmarks of the hot paths, with criterion: hashtag extraction, Avro encoding and
//! decoding, slot pre-aggregation in the speed layer, synthetic post generation, and a merged
//! one-day series read (288 slots) from the embedded view store.
//!
//! ```sh
//! cargo bench --bench micro                 # measure (release build)
//! cargo test --bench micro                  # smoke: every benchmark once, debug build
//! ```
//!
//! Results go to `benches/RESULTS.md` (see `benches/README.md`).

// `criterion_group!` generates a public function without a doc comment.
#![allow(missing_docs)]

use collector::synthetic::{SyntheticConfig, SyntheticSource};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use model::avro::PostCodec;
use model::{Post, SLOT_MILLIS, SlotStart, extract_hashtags};
use ports::{ActivePair, BackendUrls, Backends, BatchTable, SlotCount, SpeedTable};
use std::hint::black_box;
use views::speed::SlotAggregator;

/// 2026-05-01T00:00:00Z.
const T0: i64 = 1_777_593_600_000;

/// Realistic posts: the synthetic firehose's (one in eight with hashtags).
fn posts(n: usize) -> Vec<Post> {
    let mut src = SyntheticSource::new(&SyntheticConfig::default());
    (0..n).map(|i| src.next_post(T0 + i as i64 * 10)).collect()
}

fn hashtags(c: &mut Criterion) {
    let posts = posts(10_000);
    let mut g = c.benchmark_group("hashtags");
    g.throughput(Throughput::Elements(posts.len() as u64));
    g.bench_function("extract_10k_posts", |b| {
        b.iter(|| {
            posts
                .iter()
                .map(|p| extract_hashtags(black_box(&p.tweet)).len())
                .sum::<usize>()
        })
    });
    g.bench_function("keys_10k_posts", |b| {
        b.iter(|| posts.iter().map(|p| p.hashtag_keys().len()).sum::<usize>())
    });
    g.finish();
}

fn avro(c: &mut Criterion) {
    let posts = posts(10_000);
    let codec = PostCodec::new();
    let encoded: Vec<Vec<u8>> = posts.iter().map(|p| codec.encode(p)).collect();
    let mut g = c.benchmark_group("avro");
    g.throughput(Throughput::Elements(posts.len() as u64));
    g.bench_function("encode_10k_posts", |b| {
        let mut buf = Vec::with_capacity(512);
        b.iter(|| {
            for p in &posts {
                buf.clear();
                codec.encode_into(black_box(p), &mut buf);
            }
        })
    });
    g.bench_function("decode_10k_posts", |b| {
        b.iter(|| {
            encoded
                .iter()
                .map(|e| codec.decode(black_box(e)).expect("valid").tweet.len())
                .sum::<usize>()
        })
    });
    g.finish();
}

fn speed(c: &mut Criterion) {
    let posts = posts(50_000);
    let mut g = c.benchmark_group("speed");
    g.throughput(Throughput::Elements(posts.len() as u64));
    g.bench_function("aggregate_50k_posts", |b| {
        b.iter_batched(
            SlotAggregator::new,
            |mut agg| {
                for p in &posts {
                    agg.add(p);
                }
                agg.len()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn synthetic(c: &mut Criterion) {
    let mut g = c.benchmark_group("synthetic");
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("generate_100k_posts", |b| {
        let mut src = SyntheticSource::new(&SyntheticConfig::default());
        let mut t = T0;
        b.iter(|| {
            let mut bytes = 0;
            for _ in 0..100_000 {
                t += 1;
                bytes += src.next_post(t).tweet.len();
            }
            bytes
        })
    });
    g.finish();
}

fn serving(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a temp dir");
    let backends = Backends::open(&BackendUrls::default(), dir.path()).expect("embedded backends");
    let day: Vec<SlotCount> = (0..288)
        .map(|i| SlotCount {
            hashtag: "rust".into(),
            slot: SlotStart(T0 + i * SLOT_MILLIS),
            count: 10 + i,
        })
        .collect();
    rt.block_on(async {
        backends.views.migrate().await.expect("migrate");
        backends
            .views
            .write_batch_rows(BatchTable::A, &day[..250])
            .await
            .expect("batch rows");
        backends
            .views
            .add_increments(SpeedTable::Zero, &day[240..])
            .await
            .expect("speed rows");
    });
    let pair = ActivePair::default();
    let (from, to) = (SlotStart(T0), SlotStart(T0 + 287 * SLOT_MILLIS));
    let mut g = c.benchmark_group("serving");
    g.throughput(Throughput::Elements(1));
    g.bench_function("merged_series_one_day_288_slots", |b| {
        b.iter(|| {
            rt.block_on(serving::merge::series(
                backends.views.as_ref(),
                &pair,
                "rust",
                from,
                to,
            ))
            .expect("series")
            .len()
        })
    });
    g.finish();
}

criterion_group!(benches, hashtags, avro, speed, synthetic, serving);
criterion_main!(benches);
