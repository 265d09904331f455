//! A worker that dies between writing a window's increments and committing its offsets: the next
//! worker re-reads and re-counts those records, and says how many in
//! `lambda_speed_replayed_events_total`, which here equals the overcount exactly. A worker that
//! takes over after a clean commit replays nothing.

use async_trait::async_trait;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use model::{POSTS_TOPIC, Post, SlotStart};
use ports::{
    BackendUrls, Backends, ConsumerEvent, EventLog, LogConsumer, NewRecord, PortError, Position,
    SpeedTable, ViewTable,
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

/// The counter's increments since the last call (a snapshot drains the debugging recorder).
fn replayed(snapshotter: &metrics_util::debugging::Snapshotter) -> u64 {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(k, ..)| k.key().name() == "lambda_speed_replayed_events_total")
        .map(|(.., v)| match v {
            DebugValue::Counter(c) => c,
            _ => 0,
        })
        .sum()
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
    let dying = Backends {
        log: Arc::new(DiesAtCommit(backends.log.clone())),
        ..backends.clone()
    };
    let mut doomed = SpeedWorker::start(&dying, SpeedConfig::default(), CancellationToken::new())
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
    assert_eq!(
        replayed(&snapshotter),
        overcount as u64,
        "and the metric says exactly that"
    );
    drop(next);

    // After a clean commit, a new worker replays nothing.
    append(&backends, 80, 5, now).await;
    let mut last = SpeedWorker::start(&backends, SpeedConfig::default(), CancellationToken::new())
        .await
        .unwrap();
    read_and_flush(&mut last, 5).await.unwrap();
    assert_eq!(replayed(&snapshotter), 0, "nothing more replayed");
    assert_eq!(counted(&backends, now).await, 85 + 30);
}
