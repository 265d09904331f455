//! Parity: the speed aggregator and the DataFusion batch plan count the same posts the same way.

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use model::{Post, SlotStart};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use views::batch::{batch_view, register_udfs};
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
            source: Some("test".into()),
            lang: None,
            hashtags,
        })
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
