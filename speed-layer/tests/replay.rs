//! A worker that dies between writing a window's increments and committing its offsets: the next
//! worker re-reads and re-counts those records, and says how many in
//! `lambda_speed_replayed_events_total` (and what they added in
//! `lambda_speed_replayed_counts_total`), which equal the overcount exactly. A worker that takes
//! over after a clean commit replays nothing. A worker that dies while writing (before or after
//! its increments landed) leaves records the next one counts in
//! `lambda_speed_maybe_replayed_events_total`: the overcount lies between the two counters.

use async_trait::async_trait;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use model::{POSTS_TOPIC, Post, SlotStart};
use ports::{
    BackendUrls, Backends, BatchTable, ConsumerEvent, EventLog, HashtagCount, LogConsumer,
    NewRecord, PortError, Position, SlotCount, SpeedTable, ViewStore, ViewTable,
};
use speed_layer::{SpeedConfig, SpeedError, SpeedWorker};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The log, except that committing fails as if the process died at that moment.
struct DiesAtCommit(Arc<dyn EventLog>);

struct DyingConsumer(Box<dyn LogConsumer>);

#[async_trait]
impl LogConsumer for DyingConsumer {
    async fn poll(&mut self, max: usize, timeout: Duration) -> ports::Result<ConsumerEvent> {
        self.0.poll(max, timeout).await
    }
    async fn commit(&mut self, _offsets: &BTreeMap<u32, u64>) -> ports::Result<()> {
        Err(PortError::Internal("killed before the commit".into()))
    }
    async fn seek(&mut self, partition: u32, offset: u64) -> ports::Result<()> {
        self.0.seek(partition, offset).await
    }
    fn assignment(&self) -> Vec<u32> {
        self.0.assignment()
    }
}

#[async_trait]
impl EventLog for DiesAtCommit {
    async fn ensure_topic(&self, topic: &str) -> ports::Result<u32> {
        self.0.ensure_topic(topic).await
    }
    async fn append(&self, topic: &str, records: Vec<NewRecord>) -> ports::Result<Vec<Position>> {
        self.0.append(topic, records).await
    }
    async fn end_offsets(&self, topic: &str) -> ports::Result<BTreeMap<u32, u64>> {
        self.0.end_offsets(topic).await
    }
    async fn committed_offsets(
        &self,
        topic: &str,
        group: &str,
    ) -> ports::Result<BTreeMap<u32, u64>> {
        self.0.committed_offsets(topic, group).await
    }
    async fn consumer(&self, topic: &str, group: &str) -> ports::Result<Box<dyn LogConsumer>> {
        Ok(Box::new(DyingConsumer(
            self.0.consumer(topic, group).await?,
        )))
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
}

/// The views, except that writing increments fails as if the process died during the write:
/// after they all landed (`lands`) or before any did.
struct DiesWhileWriting {
    inner: Arc<dyn ViewStore>,
    lands: bool,
}

#[async_trait]
impl ViewStore for DiesWhileWriting {
    async fn migrate(&self) -> ports::Result<()> {
        self.inner.migrate().await
    }
    async fn add_increments(
        &self,
        table: SpeedTable,
        increments: &[SlotCount],
    ) -> ports::Result<()> {
        if self.lands {
            self.inner.add_increments(table, increments).await?;
        }
        Err(PortError::Internal("killed while writing".into()))
    }
    async fn write_batch_rows(&self, table: BatchTable, rows: &[SlotCount]) -> ports::Result<()> {
        self.inner.write_batch_rows(table, rows).await
    }
    async fn read_series(
        &self,
        table: ViewTable,
        hashtag: &str,
        from: SlotStart,
        to: SlotStart,
    ) -> ports::Result<Vec<SlotCount>> {
        self.inner.read_series(table, hashtag, from, to).await
    }
    async fn hashtag_totals(
        &self,
        table: ViewTable,
        from: SlotStart,
        to: SlotStart,
    ) -> ports::Result<Vec<HashtagCount>> {
        self.inner.hashtag_totals(table, from, to).await
    }
    async fn search_hashtags(
        &self,
        table: ViewTable,
        prefix: &str,
        limit: usize,
    ) -> ports::Result<Vec<String>> {
        self.inner.search_hashtags(table, prefix, limit).await
    }
    async fn truncate(&self, table: ViewTable) -> ports::Result<()> {
        self.inner.truncate(table).await
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

fn post(i: i64, now: i64) -> Post {
    Post {
        userid: i,
        username: format!("u{i}"),
        timestamp: now,
        tweetid: i,
        tweet: format!("#replayed {i}"),
        source: None,
        lang: None,
        hashtags: None,
    }
}

async fn append(backends: &Backends, from: i64, n: i64, now: i64) {
    let records = (from..from + n)
        .map(|i| NewRecord {
            key: i.to_string().into_bytes(),
            value: backends.codec.encode(&post(i, now)),
            headers: vec![],
        })
        .collect();
    backends.log.append(POSTS_TOPIC, records).await.unwrap();
}

/// Reads until `n` records have come, then flushes.
async fn read_and_flush(w: &mut SpeedWorker, n: usize) -> Result<(), SpeedError> {
    let mut read = 0;
    while read < n {
        read += w.poll_once(Duration::from_millis(100)).await?;
    }
    w.flush().await
}

async fn counted(backends: &Backends, now: i64) -> i64 {
    let slot = SlotStart::containing(now);
    backends
        .views
        .read_series(ViewTable::Speed(SpeedTable::Zero), "replayed", slot, slot)
        .await
        .unwrap()
        .iter()
        .map(|c| c.count)
        .sum()
}

/// The replay counters' increments since the last call (a snapshot drains the debugging
/// recorder), by metric name: `replayed`, `replayed_counts`, `maybe`, `maybe_counts` (the counts
/// those added to speed table 0, the one `counted` reads).
fn replays(snapshotter: &metrics_util::debugging::Snapshotter) -> BTreeMap<&'static str, u64> {
    let mut out = BTreeMap::from([
        ("replayed", 0),
        ("replayed_counts", 0),
        ("maybe", 0),
        ("maybe_counts", 0),
    ]);
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let DebugValue::Counter(c) = value else {
            continue;
        };
        let table = key.key().labels().find(|l| l.key() == "table");
        if table.is_some_and(|t| t.value() != SpeedTable::Zero.name()) {
            continue;
        }
        let name = match key.key().name() {
            "lambda_speed_replayed_events_total" => "replayed",
            "lambda_speed_replayed_counts_total" => "replayed_counts",
            "lambda_speed_maybe_replayed_events_total" => "maybe",
            "lambda_speed_maybe_replayed_counts_total" => "maybe_counts",
            _ => continue,
        };
        *out.get_mut(name).unwrap() += c;
    }
    out
}

fn replayed(snapshotter: &metrics_util::debugging::Snapshotter) -> u64 {
    replays(snapshotter)["replayed"]
}

#[tokio::test]
async fn a_worker_killed_before_its_commit_is_replayed_and_the_overcount_is_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this binary");
    let dir = tempfile::tempdir().unwrap();
    let backends = Backends::open(
        &BackendUrls {
            partitions: 2,
            ..BackendUrls::default()
        },
        dir.path(),
    )
    .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    backends.log.ensure_topic(POSTS_TOPIC).await.unwrap();

    // A clean window first: 40 posts counted and committed.
    append(&backends, 0, 40, now).await;
    let mut first = SpeedWorker::start(&backends, SpeedConfig::default(), CancellationToken::new())
        .await
        .unwrap();
    read_and_flush(&mut first, 40).await.unwrap();
    drop(first);
    assert_eq!(counted(&backends, now).await, 40);

    // 30 more, whose increments are written by a worker that dies before committing them.
    append(&backends, 40, 30, now).await;
    let dying_at_commit = Backends {
        log: Arc::new(DiesAtCommit(backends.log.clone())),
        ..backends.clone()
    };
    let mut doomed = SpeedWorker::start(
        &dying_at_commit,
        SpeedConfig::default(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let died = read_and_flush(&mut doomed, 30).await;
    assert!(died.is_err(), "the commit failed");
    drop(doomed);
    assert_eq!(
        counted(&backends, now).await,
        70,
        "its increments were written"
    );
    assert_eq!(replayed(&snapshotter), 0, "nothing replayed yet");

    // The next worker re-reads those 30 (and 10 new ones) and counts them again.
    append(&backends, 70, 10, now).await;
    let mut next = SpeedWorker::start(&backends, SpeedConfig::default(), CancellationToken::new())
        .await
        .unwrap();
    read_and_flush(&mut next, 40).await.unwrap();
    let overcount = counted(&backends, now).await - 80;
    assert_eq!(overcount, 30, "the 30 are counted twice");
    let r = replays(&snapshotter);
    assert_eq!(
        r["replayed"], overcount as u64,
        "and the metric says exactly that"
    );
    assert_eq!(
        r["replayed_counts"], overcount as u64,
        "one hashtag each: the counts added again are the overcount"
    );
    assert_eq!(r["maybe"], 0, "no write was interrupted");
    drop(next);

    // After a clean commit, a new worker replays nothing.
    append(&backends, 80, 5, now).await;
    let mut last = SpeedWorker::start(&backends, SpeedConfig::default(), CancellationToken::new())
        .await
        .unwrap();
    read_and_flush(&mut last, 5).await.unwrap();
    assert_eq!(replayed(&snapshotter), 0, "nothing more replayed");
    assert_eq!(counted(&backends, now).await, 85 + 30);
    drop(last);

    // Workers that die while writing: once before their increments land, once after. Either way
    // the next worker cannot know which, and counts the re-read records as maybe replayed.
    let mut expected_total = 85 + 30;
    let mut appended = 85;
    for lands in [false, true] {
        append(&backends, appended, 20, now).await;
        appended += 20;
        let dying = Backends {
            views: Arc::new(DiesWhileWriting {
                inner: backends.views.clone(),
                lands,
            }),
            ..backends.clone()
        };
        let mut doomed =
            SpeedWorker::start(&dying, SpeedConfig::default(), CancellationToken::new())
                .await
                .unwrap();
        assert!(
            read_and_flush(&mut doomed, 20).await.is_err(),
            "the write failed"
        );
        drop(doomed);
        let before = counted(&backends, now).await;
        assert_eq!(before, expected_total + if lands { 20 } else { 0 });

        let mut next =
            SpeedWorker::start(&backends, SpeedConfig::default(), CancellationToken::new())
                .await
                .unwrap();
        read_and_flush(&mut next, 20).await.unwrap();
        drop(next);
        expected_total += 20;
        let overcount = (counted(&backends, now).await - expected_total) as u64;
        let r = replays(&snapshotter);
        assert_eq!(overcount, if lands { 20 } else { 0 }, "lands: {lands}");
        assert_eq!(r["replayed"], 0, "nothing surely counted (lands: {lands})");
        assert_eq!(r["maybe"], 20, "all 20 maybe counted (lands: {lands})");
        assert_eq!(r["maybe_counts"], 20);
        assert!(r["replayed"] <= overcount && overcount <= r["replayed"] + r["maybe"]);
        expected_total += overcount as i64;
    }

    // Deaths stacked on the same records: one after its write completed (before its commit),
    // then one whose write of them again landed but was not marked done, then a clean worker.
    // Each record is now counted three times; the second worker died before it could report,
    // so the third reports one sure replay (the first's completed write) and one maybe (the
    // second's interrupted one): 20 ≤ 40 ≤ 20 + 20.
    append(&backends, appended, 20, now).await;
    let mut first = SpeedWorker::start(
        &dying_at_commit,
        SpeedConfig::default(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(
        read_and_flush(&mut first, 20).await.is_err(),
        "the commit failed"
    );
    drop(first);
    let lands_then_dies = Backends {
        views: Arc::new(DiesWhileWriting {
            inner: backends.views.clone(),
            lands: true,
        }),
        ..backends.clone()
    };
    let mut second = SpeedWorker::start(
        &lands_then_dies,
        SpeedConfig::default(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(
        read_and_flush(&mut second, 20).await.is_err(),
        "the write was interrupted"
    );
    drop(second);
    let mut third = SpeedWorker::start(&backends, SpeedConfig::default(), CancellationToken::new())
        .await
        .unwrap();
    read_and_flush(&mut third, 20).await.unwrap();
    expected_total += 20;
    let overcount = (counted(&backends, now).await - expected_total) as u64;
    let r = replays(&snapshotter);
    assert_eq!(overcount, 40, "counted three times");
    assert_eq!((r["replayed"], r["maybe"]), (20, 20));
    assert_eq!((r["replayed_counts"], r["maybe_counts"]), (20, 20));
    assert!(r["replayed"] <= overcount && overcount <= r["replayed"] + r["maybe"]);
}
