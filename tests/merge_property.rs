//! The merge property: for any sequence of posts and any interleaving of speed-layer polls and
//! flushes, master-ingest polls and flushes, and the recompute's steps, the served count
//! (`batch[active] + speed[active]`, through serving's merge) equals the count over the raw
//! events the speed layer has committed, for every hashtag and slot, at every step; and once
//! everything has drained, it equals the count over every event.
//!
//! The recomputes compute a second view besides the thesis view (`by_lang`, hourly), so the
//! property also covers a view that the initial pair does not hold: from the first flip on, its
//! merged cells are exact too (the speed layer counts it into the reset table from the cut).

use batch_layer::ingest::{IngestConfig, MasterIngest};
use batch_layer::recompute::{Progress, Recompute, RecomputeConfig};
use model::avro::PostCodec;
use model::view::{Bucket, Dimension, Measure};
use model::{POSTS_TOPIC, Post, SLOT_MILLIS, SlotStart};
use model::{ViewDef, ViewSet};
use ports::{BackendUrls, Backends, LambdaSwitch, NewRecord};
use proptest::prelude::*;
use speed_layer::{SpeedConfig, SpeedWorker};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const TAGS: [&str; 4] = ["rust", "go", "zig", "ocaml"];
const LANGS: [&str; 3] = ["en", "de", "ja"];

/// The views the recomputes compute: the thesis view and posts per language and hour.
fn views() -> ViewSet {
    ViewSet::new(
        2,
        vec![ViewDef {
            name: "by_lang".into(),
            description: String::new(),
            group_by: vec![Dimension::Lang],
            bucket: Bucket::Hour,
            measure: Measure::Posts,
        }],
    )
    .unwrap()
}

fn by_lang_key(lang: &str, tag: &str) -> String {
    format!("by_lang\u{1f}{lang}\u{1f}{tag}")
}
const BASE: i64 = 1_800_000_000_000 - 1_800_000_000_000 % SLOT_MILLIS;
const SLOTS: i64 = 3;

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<(u8, u8, u8)>),
    SpeedPoll,
    SpeedFlush,
    IngestPoll,
    IngestFlush,
    RecomputeBegin,
    RecomputeAdvance,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop::collection::vec((0u8..8, 0u8..16, 0u8..SLOTS as u8), 1..6).prop_map(Op::Append),
        3 => Just(Op::SpeedPoll),
        3 => Just(Op::SpeedFlush),
        2 => Just(Op::IngestPoll),
        2 => Just(Op::IngestFlush),
        1 => Just(Op::RecomputeBegin),
        3 => Just(Op::RecomputeAdvance),
    ]
}

fn post(author: u8, tags: u8, slot: u8, id: i64) -> Post {
    let text: Vec<String> = TAGS
        .iter()
        .enumerate()
        .filter(|(i, _)| tags & (1 << i) != 0)
        .map(|(_, t)| format!("#{t}"))
        .collect();
    Post {
        userid: i64::from(author),
        username: format!("a{author}"),
        timestamp: BASE + i64::from(slot) * SLOT_MILLIS + id % 1000,
        tweetid: id,
        tweet: format!(
            "post {id} {}",
            if id % 3 == 0 {
                String::new()
            } else {
                text.join(" ")
            }
        ),
        source: Some("test".into()),
        lang: Some(LANGS[usize::from(author) % LANGS.len()].into()),
        // Every third post carries its hashtags as the source gave them; the others are extracted.
        hashtags: (id % 3 == 0).then(|| {
            text.iter()
                .map(|t| t.trim_start_matches('#').to_uppercase())
                .collect()
        }),
    }
}

struct World {
    backends: Backends,
    speed: SpeedWorker,
    ingest: MasterIngest,
    recompute: Option<Recompute>,
    /// Every appended event: (partition, offset, post).
    events: Vec<(u32, u64, Post)>,
    next_id: i64,
    flips: u32,
}

impl World {
    async fn new(dir: &std::path::Path) -> World {
        let urls = BackendUrls {
            partitions: 3,
            ..BackendUrls::default()
        };
        let backends = Backends::open(&urls, dir).unwrap();
        let shutdown = CancellationToken::new();
        let speed = SpeedWorker::start(&backends, SpeedConfig::default(), shutdown.clone())
            .await
            .unwrap();
        let ingest = MasterIngest::start(&backends, IngestConfig::default(), shutdown)
            .await
            .unwrap();
        World {
            backends,
            speed,
            ingest,
            recompute: None,
            events: Vec::new(),
            next_id: 0,
            flips: 0,
        }
    }

    async fn apply(&mut self, op: &Op) {
        let poll = Duration::from_millis(1);
        match op {
            Op::Append(posts) => {
                let codec = PostCodec::new();
                let posts: Vec<Post> = posts
                    .iter()
                    .map(|(a, t, s)| {
                        self.next_id += 1;
                        post(*a, *t, *s, self.next_id)
                    })
                    .collect();
                let records = posts
                    .iter()
                    .map(|p| NewRecord {
                        key: p.userid.to_string().into_bytes(),
                        value: codec.encode(p),
                        headers: vec![],
                    })
                    .collect();
                let positions = self
                    .backends
                    .log
                    .append(POSTS_TOPIC, records)
                    .await
                    .unwrap();
                for (pos, p) in positions.into_iter().zip(posts) {
                    self.events.push((pos.partition, pos.offset, p));
                }
            }
            Op::SpeedPoll => {
                self.speed.poll_once(poll).await.unwrap();
            }
            Op::SpeedFlush => self.speed.flush().await.unwrap(),
            Op::IngestPoll => {
                self.ingest.poll_once(poll).await.unwrap();
            }
            Op::IngestFlush => self.ingest.flush().await.unwrap(),
            Op::RecomputeBegin => {
                if self.recompute.is_none() {
                    let cfg = RecomputeConfig {
                        write_chunk_rows: 7,
                        ..RecomputeConfig::default()
                    };
                    self.recompute = Some(
                        Recompute::begin(&self.backends, &views(), false, &cfg)
                            .await
                            .unwrap(),
                    );
                }
            }
            Op::RecomputeAdvance => {
                if let Some(r) = &mut self.recompute
                    && let Progress::Flipped { .. } = r.advance().await.unwrap()
                {
                    self.recompute = None;
                    self.flips += 1;
                }
            }
        }
    }

    /// Raw counts over the events the speed layer has committed.
    async fn expected(&self, all: bool) -> BTreeMap<(String, i64), i64> {
        let committed = self
            .backends
            .log
            .committed_offsets(POSTS_TOPIC, "speed")
            .await
            .unwrap();
        let pair = LambdaSwitch::new(self.backends.coordinator.clone())
            .active()
            .await
            .unwrap();
        let by_lang = pair.views.get("by_lang").cloned();
        let mut out = BTreeMap::new();
        for (p, o, post) in &self.events {
            if all || *o < committed.get(p).copied().unwrap_or(0) {
                for k in post.hashtag_keys() {
                    if let Some(view) = &by_lang {
                        let (key, slot) = view.cell(post, &k);
                        *out.entry((key, slot.0)).or_default() += 1;
                    }
                    *out.entry((k, SlotStart::containing(post.timestamp).0))
                        .or_default() += 1;
                }
            }
        }
        out
    }

    async fn served(&self) -> BTreeMap<(String, i64), i64> {
        let pair = LambdaSwitch::new(self.backends.coordinator.clone())
            .active()
            .await
            .unwrap();
        let mut out = BTreeMap::new();
        let hour = BASE - BASE.rem_euclid(3_600_000);
        for tag in TAGS {
            for lang in LANGS {
                let key = by_lang_key(lang, tag);
                let points = serving::merge::series(
                    self.backends.views.as_ref(),
                    &pair,
                    &key,
                    SlotStart(hour),
                    SlotStart(BASE + SLOTS * SLOT_MILLIS),
                )
                .await
                .unwrap();
                for p in points.into_iter().filter(|p| p.count != 0) {
                    out.insert((key.clone(), p.t), p.count);
                }
            }
            let points = serving::merge::series(
                self.backends.views.as_ref(),
                &pair,
                tag,
                SlotStart(BASE),
                SlotStart(BASE + (SLOTS - 1) * SLOT_MILLIS),
            )
            .await
            .unwrap();
            for p in points {
                out.insert((tag.to_string(), p.t), p.count);
            }
        }
        out
    }

    /// Lets every component catch up and finishes any recompute.
    async fn drain(&mut self) {
        for _ in 0..50 {
            self.apply(&Op::SpeedPoll).await;
            self.apply(&Op::SpeedFlush).await;
            self.apply(&Op::IngestPoll).await;
            self.apply(&Op::IngestFlush).await;
            if self.recompute.is_none() {
                break;
            }
            self.apply(&Op::RecomputeAdvance).await;
        }
        assert!(
            self.recompute.is_none(),
            "the recompute finishes once everything has drained"
        );
        for _ in 0..3 {
            self.apply(&Op::SpeedPoll).await;
            self.apply(&Op::SpeedFlush).await;
        }
    }
}

fn check(ops: Vec<Op>, final_recompute: bool) -> Result<u32, TestCaseError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut w = World::new(dir.path()).await;
        for (i, op) in ops.iter().enumerate() {
            w.apply(op).await;
            let (served, expected) = (w.served().await, w.expected(false).await);
            prop_assert_eq!(served, expected, "after step {} ({:?})", i, op);
        }
        if final_recompute {
            w.apply(&Op::RecomputeBegin).await;
        }
        w.drain().await;
        prop_assert_eq!(w.served().await, w.expected(true).await, "after draining");
        prop_assert!(
            !w.expected(true).await.is_empty()
                || w.events.iter().all(|(_, _, p)| p.hashtag_keys().is_empty())
        );
        Ok(w.flips)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 200, ..ProptestConfig::default() })]
    #[test]
    fn served_counts_equal_raw_counts_at_every_step(ops in prop::collection::vec(op(), 1..40), final_recompute: bool) {
        check(ops, final_recompute)?;
    }
}

/// A fixed interleaving that exercises every protocol step twice, so the test does not depend on
/// the generator finding it.
#[test]
fn two_recomputes_interleaved_with_writes_stay_exact() {
    use Op::*;
    let a = || {
        Append(vec![
            (1, 0b0011, 0),
            (2, 0b0101, 1),
            (3, 0b1111, 2),
            (4, 0b0001, 0),
        ])
    };
    let ops = vec![
        a(),
        SpeedPoll,
        SpeedFlush,
        IngestPoll,
        IngestFlush,
        a(),
        RecomputeBegin,
        a(),
        SpeedPoll,
        RecomputeAdvance,
        SpeedFlush,
        RecomputeAdvance,
        a(),
        SpeedPoll,
        SpeedFlush,
        RecomputeAdvance,
        IngestPoll,
        RecomputeAdvance,
        IngestFlush,
        RecomputeAdvance,
        a(),
        SpeedPoll,
        SpeedFlush,
        RecomputeBegin,
        SpeedFlush,
        RecomputeAdvance,
        SpeedFlush,
        IngestPoll,
        IngestFlush,
        RecomputeAdvance,
        a(),
        SpeedPoll,
        SpeedFlush,
    ];
    let flips = check(ops, true).unwrap();
    assert_eq!(flips, 3, "two recomputes in the sequence and one after it");
}
