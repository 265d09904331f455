//! Parity: the speed aggregator and the DataFusion batch plan count the same posts the same way.

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use model::view::{Bucket, Dimension, Measure};
use model::{Post, SlotStart, ViewDef, ViewSet};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use views::batch::{batch_view, batch_views, register_udfs, register_view_udfs};
use views::master::{MasterBatchBuilder, master_schema};
use views::speed::SlotAggregator;

fn post_strategy() -> impl Strategy<Value = Post> {
    let word = prop::sample::select(vec![
        "Rust",
        "rust",
        "RUST",
        "go",
        "Café",
        "cafe\u{301}",
        "東京",
        "x1",
        "ﬁsh",
        "Straße",
    ]);
    let text = prop::collection::vec(
        (
            word,
            prop::sample::select(vec!["#", " ", "＃", " #", "&#", "1#"]),
        ),
        0..6,
    )
    .prop_map(|parts| {
        parts
            .into_iter()
            .map(|(w, sep)| format!("{sep}{w}"))
            .collect::<Vec<_>>()
            .join(" ")
    });
    let given = prop::option::weighted(
        0.3,
        prop::collection::vec(
            prop::sample::select(vec!["Rust", "#go", "Tokyo", ""]).prop_map(String::from),
            0..3,
        ),
    );
    (
        text,
        given,
        -2_000_000_000_000i64..4_000_000_000_000i64,
        0i64..1000,
    )
        .prop_map(|(tweet, hashtags, timestamp, id)| Post {
            userid: id,
            username: format!("u{id}"),
            timestamp,
            tweetid: id,
            tweet,
            source: [None, Some("test"), Some("X"), Some("jetstream")][(id % 4) as usize]
                .map(str::to_string),
            lang: [None, Some("en"), Some("DE"), Some(""), Some("ja")][(id % 5) as usize]
                .map(str::to_string),
            hashtags,
        })
}

/// One view of every kind: each dimension, both together, each bucket, the batch-only measure.
fn all_kinds() -> ViewSet {
    let v = |name: &str, group_by: Vec<Dimension>, bucket: Bucket, measure: Measure| ViewDef {
        name: name.into(),
        description: String::new(),
        group_by,
        bucket,
        measure,
    };
    ViewSet::new(
        1,
        vec![
            v(
                "by_lang",
                vec![Dimension::Lang],
                Bucket::FiveMinutes,
                Measure::Posts,
            ),
            v(
                "by_source_hourly",
                vec![Dimension::Source],
                Bucket::Hour,
                Measure::Posts,
            ),
            v(
                "by_lang_source_daily",
                vec![Dimension::Lang, Dimension::Source],
                Bucket::Day,
                Measure::Posts,
            ),
            v("authors_hourly", vec![], Bucket::Hour, Measure::Authors),
        ],
    )
    .unwrap()
}

fn master_table(posts: &[Post]) -> SessionContext {
    let mut b = MasterBatchBuilder::default();
    for (i, p) in posts.iter().enumerate() {
        b.push(p, 0, i as u64, 0);
    }
    let batch: RecordBatch = b.finish().unwrap();
    let ctx = SessionContext::new();
    register_udfs(&ctx);
    ctx.register_table(
        "master",
        Arc::new(MemTable::try_new(master_schema(), vec![vec![batch]]).unwrap()),
    )
    .unwrap();
    ctx
}

fn cells(batches: Vec<RecordBatch>) -> BTreeMap<(String, i64), i64> {
    let mut out = BTreeMap::new();
    for rb in batches {
        let tags = rb.column(0).as_string::<i32>();
        let slots = rb.column(1).as_primitive::<Int64Type>();
        let counts = rb.column(2).as_primitive::<Int64Type>();
        for i in 0..rb.num_rows() {
            let prev = out.insert((tags.value(i).to_string(), slots.value(i)), counts.value(i));
            assert!(prev.is_none(), "a cell computed twice: {}", tags.value(i));
        }
    }
    out
}

async fn batch_cells(posts: &[Post], cut: u64, views: &ViewSet) -> BTreeMap<(String, i64), i64> {
    let ctx = master_table(posts);
    register_view_udfs(&ctx, views);
    let df = batch_views(&ctx, "master", &[(0, cut)].into(), views)
        .await
        .unwrap();
    cells(df.collect().await.unwrap())
}

fn speed_cells(posts: &[Post], views: &ViewSet) -> BTreeMap<(String, i64), i64> {
    let mut agg = SlotAggregator::new();
    for p in posts {
        agg.add_post(views, p, &p.hashtag_keys());
    }
    agg.cells()
        .into_iter()
        .map(|(h, s, c)| ((h, s.0), c))
        .collect()
}

/// Distinct authors per (key, bucket), computed the obvious way.
fn authors_reference(posts: &[Post], view: &ViewDef) -> BTreeMap<(String, i64), i64> {
    let mut sets: BTreeMap<(String, i64), std::collections::BTreeSet<i64>> = BTreeMap::new();
    for p in posts {
        for k in p.hashtag_keys() {
            let (key, slot) = view.cell(p, &k);
            sets.entry((key, slot.0)).or_default().insert(p.userid);
        }
    }
    sets.into_iter().map(|(k, s)| (k, s.len() as i64)).collect()
}

async fn batch_counts(posts: &[Post], cut_offset: u64) -> BTreeMap<(String, i64), i64> {
    let mut b = MasterBatchBuilder::default();
    for (i, p) in posts.iter().enumerate() {
        b.push(p, 0, i as u64, 0);
    }
    let batch: RecordBatch = b.finish().unwrap();
    let ctx = SessionContext::new();
    register_udfs(&ctx);
    ctx.register_table(
        "master",
        Arc::new(MemTable::try_new(master_schema(), vec![vec![batch]]).unwrap()),
    )
    .unwrap();
    let df = batch_view(&ctx, "master", &[(0, cut_offset)].into())
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for rb in df.collect().await.unwrap() {
        let tags = rb.column(0).as_string::<i32>();
        let slots = rb.column(1).as_primitive::<Int64Type>();
        let counts = rb.column(2).as_primitive::<Int64Type>();
        for i in 0..rb.num_rows() {
            out.insert((tags.value(i).to_string(), slots.value(i)), counts.value(i));
        }
    }
    out
}

fn speed_counts(posts: &[Post]) -> BTreeMap<(String, i64), i64> {
    let mut agg = SlotAggregator::new();
    for p in posts {
        agg.add(p);
    }
    agg.cells()
        .into_iter()
        .map(|(h, s, c)| ((h, s.0), c))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Every additive view: batch(records before the cut) + speed(records after it) ==
    /// speed(all records), cell by cell, with the batch-only views exact in the batch.
    #[test]
    fn every_kind_of_view_merges_exactly_across_the_cut(posts in prop::collection::vec(post_strategy(), 0..50), cut in 0usize..60) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let cut = cut.min(posts.len());
        let views = all_kinds();
        let batch = rt.block_on(batch_cells(&posts, cut as u64, &views));
        let mut merged = batch.clone();
        for (k, c) in speed_cells(&posts[cut..], &views) {
            *merged.entry(k).or_default() += c;
        }
        let live: BTreeMap<_, _> = merged
            .into_iter()
            .filter(|((k, _), _)| !k.starts_with("authors_hourly\u{1f}"))
            .collect();
        prop_assert_eq!(live, speed_cells(&posts, &views));
        let authors = views.get("authors_hourly").unwrap();
        let batch_authors: BTreeMap<_, _> = batch
            .into_iter()
            .filter(|((k, _), _)| k.starts_with("authors_hourly\u{1f}"))
            .collect();
        prop_assert_eq!(batch_authors, authors_reference(&posts[..cut], authors));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn speed_and_batch_lowerings_agree(posts in prop::collection::vec(post_strategy(), 0..60), cut in 0usize..70) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let cut = cut.min(posts.len());
        let batch = rt.block_on(batch_counts(&posts, cut as u64));
        prop_assert_eq!(batch, speed_counts(&posts[..cut]));
    }
}

#[tokio::test]
async fn known_posts_count_as_expected() {
    let t = 1_700_000_123_000;
    let mk = |text: &str, ts: i64| Post {
        userid: 1,
        username: "a".into(),
        timestamp: ts,
        tweetid: 1,
        tweet: text.into(),
        source: None,
        lang: None,
        hashtags: None,
    };
    let posts = vec![
        mk("#Rust and #rust", t),
        mk("#rust", t + 1),
        mk("#go", t),
        mk("no tags", t),
    ];
    let counts = batch_counts(&posts, 10).await;
    let slot = SlotStart::containing(t).0;
    assert_eq!(
        counts.get(&("rust".to_string(), slot)),
        Some(&2),
        "one count per post, case-folded: {counts:?}"
    );
    assert_eq!(counts.get(&("go".to_string(), slot)), Some(&1));
    assert_eq!(counts.len(), 2);
}

/// Golden numbers for each kind of view over six known posts.
#[tokio::test]
async fn each_kind_of_view_counts_known_posts_as_expected() {
    let hour = 3_600_000i64;
    let t = 1_700_000_000_000i64 / hour * hour; // 2023-11-14 22:00 UTC
    let mk = |user: i64, text: &str, ts: i64, lang: Option<&str>, source: Option<&str>| Post {
        userid: user,
        username: format!("u{user}"),
        timestamp: ts,
        tweetid: ts,
        tweet: text.into(),
        source: source.map(str::to_string),
        lang: lang.map(str::to_string),
        hashtags: None,
    };
    let posts = vec![
        mk(1, "#Rust #rust", t, Some("en"), Some("x")),
        mk(1, "#rust", t + 60_000, Some("EN"), Some("jetstream")),
        mk(2, "#rust", t + 10 * 60_000, Some("de"), Some("x")),
        mk(3, "#go", t + 59 * 60_000, None, None),
        mk(2, "#rust", t + hour, Some("de"), Some("x")),
        mk(4, "no tags", t, Some("en"), Some("x")),
    ];
    let views = all_kinds();
    let cells = batch_cells(&posts, posts.len() as u64, &views).await;
    let get = |key: &str, slot: i64| cells.get(&(key.to_string(), slot)).copied();
    let sep = '\u{1f}';
    // The thesis view: bare hashtags per 5 minutes; one count per post.
    assert_eq!(get("rust", t), Some(2));
    assert_eq!(get("rust", t + 10 * 60_000), Some(1));
    assert_eq!(get("go", t + 55 * 60_000), Some(1));
    // By language, lower-cased; absent is `und`.
    assert_eq!(get(&format!("by_lang{sep}en{sep}rust"), t), Some(2));
    assert_eq!(
        get(&format!("by_lang{sep}de{sep}rust"), t + 10 * 60_000),
        Some(1)
    );
    assert_eq!(
        get(&format!("by_lang{sep}und{sep}go"), t + 55 * 60_000),
        Some(1)
    );
    // By source per hour; absent is `unknown`.
    assert_eq!(get(&format!("by_source_hourly{sep}x{sep}rust"), t), Some(2));
    assert_eq!(
        get(&format!("by_source_hourly{sep}jetstream{sep}rust"), t),
        Some(1)
    );
    assert_eq!(
        get(&format!("by_source_hourly{sep}x{sep}rust"), t + hour),
        Some(1)
    );
    assert_eq!(
        get(&format!("by_source_hourly{sep}unknown{sep}go"), t),
        Some(1)
    );
    // Language and source per UTC day (22:00 and 23:00 are the same day).
    let day = t.div_euclid(86_400_000) * 86_400_000;
    assert_eq!(
        get(&format!("by_lang_source_daily{sep}de{sep}x{sep}rust"), day),
        Some(2)
    );
    assert_eq!(
        get(&format!("by_lang_source_daily{sep}en{sep}x{sep}rust"), day),
        Some(1)
    );
    // Distinct authors per hour: user 1 twice and user 2 count two authors.
    assert_eq!(get(&format!("authors_hourly{sep}rust"), t), Some(2));
    assert_eq!(get(&format!("authors_hourly{sep}rust"), t + hour), Some(1));
    assert_eq!(get(&format!("authors_hourly{sep}go"), t), Some(1));
    let per_view = |prefix: &str| cells.keys().filter(|(k, _)| k.starts_with(prefix)).count();
    assert_eq!(per_view(&format!("by_lang{sep}")), 4);
    assert_eq!(per_view(&format!("authors_hourly{sep}")), 3);
    assert_eq!(cells.keys().filter(|(k, _)| !k.contains(sep)).count(), 4);
}
