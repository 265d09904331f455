//! The speed layer: reads posts from the event log, counts hashtag occurrences per 5-minute slot,
//! and adds the counts to the speed tables as counter increments, live.
//!
//! The main type is [`SpeedWorker`]. It works in *windows*: it reads and aggregates records,
//! then at a *commit boundary* ([`SpeedWorker::flush`]) it writes the increments, commits the
//! offsets, and reads the protocol state ([`ports::SpeedState`]) that decides, for the next
//! window, which speed tables admit which records. That is how a recompute's reset handshake
//! stays exact: a table's admission only changes at a boundary, after every earlier write has
//! completed (see `ports::protocol`).
//!
//! Records that cannot be decoded go to the `posts-dlq` topic with the reason in headers, and
//! are counted; they never stop the worker.
//!
//! Records a crashed worker had already counted are re-read and counted in
//! `lambda_speed_replayed_events_total` (those it may have counted, because it died while writing
//! them, in `lambda_speed_maybe_replayed_events_total`); see [`replay`].

pub mod replay;

use model::avro::PostCodec;
use model::{POSTS_DLQ_TOPIC, POSTS_TOPIC};
use ports::protocol::Offsets;
use ports::retry::retry_until_shutdown;
use ports::{
    Backends, ConsumerEvent, LambdaSwitch, LogConsumer, LogRecord, NewRecord, PortError, SlotCount,
    SpeedState, SpeedTable,
};
use replay::{Seen, Stage, Tally};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use views::speed::SlotAggregator;

/// Speed-layer settings (`[speed]` in the config file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SpeedConfig {
    /// Consumer group of the speed workers.
    pub group: String,
    /// Longest time between commit boundaries, milliseconds. Lower: fresher counts, more writes.
    pub flush_interval_ms: u64,
    /// Records read before a commit boundary is forced.
    pub flush_max_records: usize,
    /// A post is *late* when its time is this many seconds or more behind the newest post time
    /// seen on its partition (the partition's watermark). Late posts are counted in their own
    /// slot like any other (and the next recompute puts them there in the batch view too); they
    /// are counted in `lambda_speed_late_posts_total`.
    pub late_after_secs: u64,
    /// Most records taken from the log in one poll.
    pub poll_max_records: usize,
}

impl Default for SpeedConfig {
    fn default() -> Self {
        SpeedConfig {
            group: "speed".into(),
            flush_interval_ms: 1000,
            flush_max_records: 100_000,
            late_after_secs: 300,
            poll_max_records: 5000,
        }
    }
}

/// Why the speed layer stopped.
#[derive(Debug, thiserror::Error)]
pub enum SpeedError {
    /// A backend failed in a way retrying does not fix.
    #[error(transparent)]
    Backend(#[from] PortError),
}

/// One speed worker: a member of the speed consumer group.
pub struct SpeedWorker {
    backends: Backends,
    consumer: Box<dyn LogConsumer>,
    switch: LambdaSwitch,
    codec: PostCodec,
    cfg: SpeedConfig,
    shutdown: CancellationToken,
    /// Protocol state applied in the current window.
    state: SpeedState,
    /// Next offset to read, per assigned partition.
    positions: Offsets,
    /// Increments pending per speed table.
    pending: [SlotAggregator; 2],
    /// Dead-letter records pending.
    dead_letters: Vec<NewRecord>,
    records_in_window: usize,
    window_started: Instant,
    /// Newest post time seen per partition (epoch ms): the watermark lateness is measured from.
    watermarks: BTreeMap<u32, i64>,
    /// Where each window's increments end, recorded before they are written.
    marks: replay::ReplayMarks,
    /// Per partition: the mark left by earlier workers, while records it speaks of are re-read.
    replay_until: BTreeMap<u32, replay::Mark>,
    /// Per partition: the offset the current window started at.
    window_starts: Offsets,
    /// Re-read records of the current window, reported once its write has landed.
    tally: Tally,
}

impl SpeedWorker {
    /// Joins the speed consumer group.
    pub async fn start(
        backends: &Backends,
        cfg: SpeedConfig,
        shutdown: CancellationToken,
    ) -> Result<Self, SpeedError> {
        backends.views.migrate().await?;
        backends.log.ensure_topic(POSTS_DLQ_TOPIC).await?;
        let consumer = backends.log.consumer(POSTS_TOPIC, &cfg.group).await?;
        let switch = LambdaSwitch::new(backends.coordinator.clone());
        let state = switch.speed_state().await?;
        let marks = replay::ReplayMarks::new(backends.coordinator.clone(), &cfg.group);
        Ok(SpeedWorker {
            backends: backends.clone(),
            consumer,
            switch,
            codec: backends.codec.clone(),
            cfg,
            shutdown,
            state,
            positions: Offsets::new(),
            pending: [SlotAggregator::new(), SlotAggregator::new()],
            dead_letters: Vec::new(),
            records_in_window: 0,
            window_started: Instant::now(),
            watermarks: BTreeMap::new(),
            marks,
            replay_until: BTreeMap::new(),
            window_starts: Offsets::new(),
            tally: Tally::default(),
        })
    }

    /// Reads once from the log (waiting up to `timeout`) and aggregates what came. Returns the
    /// number of records read.
    pub async fn poll_once(&mut self, timeout: Duration) -> Result<usize, SpeedError> {
        match self
            .consumer
            .poll(self.cfg.poll_max_records, timeout)
            .await?
        {
            ConsumerEvent::Assigned(partitions) => {
                let committed = self
                    .backends
                    .log
                    .committed_offsets(POSTS_TOPIC, &self.cfg.group)
                    .await?;
                for p in &partitions {
                    let from = committed.get(p).copied().unwrap_or(0);
                    self.positions.insert(*p, from);
                    self.window_starts.insert(*p, from);
                    let marks = &self.marks;
                    let mark =
                        retry_until_shutdown("replay mark", &self.shutdown, || marks.load(*p))
                            .await?;
                    if let Some(mark) = mark.filter(|m| m.until() > from) {
                        tracing::warn!(
                            partition = p,
                            from,
                            written_until = mark.done.max(from),
                            interrupted_writes = ?mark.writing,
                            "A previous worker stopped between writing increments and committing \
                             them: these records are counted twice until the next recompute \
                             (lambda_speed_replayed_events_total, \
                             lambda_speed_maybe_replayed_events_total)."
                        );
                        self.replay_until.insert(*p, mark);
                    }
                }
                tracing::info!(?partitions, "Speed worker assigned partitions.");
                Ok(0)
            }
            ConsumerEvent::Revoked(partitions) => {
                self.flush().await?;
                for p in &partitions {
                    self.positions.remove(p);
                    self.watermarks.remove(p);
                    self.replay_until.remove(p);
                    self.window_starts.remove(p);
                    self.marks.release(*p);
                }
                tracing::info!(?partitions, "Speed worker released partitions.");
                Ok(0)
            }
            ConsumerEvent::Records(records) => {
                let n = records.len();
                for r in &records {
                    self.count(r);
                }
                self.records_in_window += n;
                metrics::counter!("lambda_speed_received_events_total").increment(n as u64);
                Ok(n)
            }
        }
    }

    fn count(&mut self, r: &LogRecord) {
        self.positions.insert(r.partition, r.offset + 1);
        let seen = match self.replay_until.get(&r.partition) {
            Some(mark) if r.offset < mark.until() => mark.classify(r.offset),
            Some(_) => {
                self.replay_until.remove(&r.partition);
                Seen::default()
            }
            None => Seen::default(),
        };
        self.tally.record(seen);
        match self.codec.decode(&r.value) {
            Ok(post) => {
                let keys = post.hashtag_keys();
                for table in SpeedTable::ALL {
                    if self.state.phase(table).admits(r.partition, r.offset) {
                        let added = self.pending[table.index()].add_post(
                            self.state.views_of(table),
                            &post,
                            &keys,
                        );
                        if !seen.is_new() {
                            self.tally.add(table.index(), seen, added);
                        }
                    }
                }
                self.note_lateness(r.partition, post.timestamp);
            }
            Err(error) => {
                metrics::counter!("lambda_speed_rejected_events_total", "reason" => error.reason_code()).increment(1);
                tracing::warn!(%error, partition = r.partition, offset = r.offset, "Sending an undecodable record to the dead-letter queue.");
                let mut headers = r.headers.clone();
                headers.push(("lt-reason".into(), error.to_string().into_bytes()));
                headers.push((
                    "lt-reason-code".into(),
                    error.reason_code().as_bytes().to_vec(),
                ));
                headers.push((
                    "lt-source-partition".into(),
                    r.partition.to_string().into_bytes(),
                ));
                headers.push(("lt-source-offset".into(), r.offset.to_string().into_bytes()));
                self.dead_letters.push(NewRecord {
                    key: r.key.clone(),
                    value: r.value.clone(),
                    headers,
                });
            }
        }
    }

    /// Counts a post as late if it is `late_after_secs` behind its partition's watermark, and
    /// advances the watermark.
    fn note_lateness(&mut self, partition: u32, timestamp: i64) {
        let watermark = self.watermarks.entry(partition).or_insert(timestamp);
        let behind_ms = watermark.saturating_sub(timestamp);
        if behind_ms >= (self.cfg.late_after_secs as i64).saturating_mul(1000) && behind_ms > 0 {
            metrics::counter!("lambda_speed_late_posts_total").increment(1);
            metrics::histogram!("lambda_speed_late_post_delay_seconds")
                .record(behind_ms as f64 / 1000.0);
        }
        *watermark = (*watermark).max(timestamp);
    }

    /// Whether the window is long or full enough for a commit boundary.
    pub fn flush_due(&self) -> bool {
        self.records_in_window >= self.cfg.flush_max_records
            || self.window_started.elapsed() >= Duration::from_millis(self.cfg.flush_interval_ms)
    }

    /// The commit boundary: writes the pending increments and dead letters, commits the offsets,
    /// then records this worker's protocol duties and takes the state for the next window.
    pub async fn flush(&mut self) -> Result<(), SpeedError> {
        let started = Instant::now();
        // The offset range each partition's window covers (see `replay`).
        let windows: BTreeMap<u32, (u64, u64)> = self
            .positions
            .iter()
            .map(|(&p, &end)| (p, (self.window_starts.get(&p).copied().unwrap_or(0), end)))
            .filter(|(_, (from, end))| end > from)
            .collect();
        if !windows.is_empty() {
            self.marks
                .record(Stage::Writing, &windows, &self.shutdown)
                .await?;
        }
        for table in SpeedTable::ALL {
            let agg = &self.pending[table.index()];
            if agg.is_empty() {
                continue;
            }
            let cells: Vec<SlotCount> = agg
                .cells()
                .into_iter()
                .map(|(hashtag, slot, count)| SlotCount {
                    hashtag,
                    slot,
                    count,
                })
                .collect();
            let views = self.backends.views.clone();
            retry_until_shutdown("speed increments", &self.shutdown, || {
                views.add_increments(table, &cells)
            })
            .await?;
            metrics::counter!("lambda_speed_sent_increments_total", "table" => table.name())
                .increment(cells.len() as u64);
            self.pending[table.index()].clear();
        }
        if !windows.is_empty() {
            // Every increment of the window is written; the offsets are not committed yet.
            self.report_replays();
            self.marks
                .record(Stage::Written, &windows, &self.shutdown)
                .await?;
        }
        if !self.dead_letters.is_empty() {
            let dlq = std::mem::take(&mut self.dead_letters);
            let log = self.backends.log.clone();
            let n = dlq.len();
            retry_until_shutdown("dead-letter append", &self.shutdown, || {
                log.append(POSTS_DLQ_TOPIC, dlq.clone())
            })
            .await?;
            metrics::counter!("lambda_speed_dead_lettered_events_total").increment(n as u64);
        }
        if !self.positions.is_empty() && self.records_in_window > 0 {
            let positions = self.positions.clone();
            let consumer = &mut self.consumer;
            consumer.commit(&positions).await?;
        }
        let switch = self.switch.clone();
        let positions = self.positions.clone();
        self.state = retry_until_shutdown("protocol boundary", &self.shutdown, || {
            switch.at_commit_boundary(&positions)
        })
        .await?;
        metrics::histogram!("lambda_speed_flush_seconds").record(started.elapsed().as_secs_f64());
        self.records_in_window = 0;
        self.window_started = Instant::now();
        self.window_starts = self.positions.clone();
        Ok(())
    }

    /// Reports what the window just written re-counted: in the metrics, and in a log line
    /// written before the mark that makes it count (so it survives a `kill -9`).
    fn report_replays(&mut self) {
        let t = std::mem::take(&mut self.tally);
        if t.is_empty() {
            return;
        }
        metrics::counter!("lambda_speed_replayed_events_total").increment(t.events);
        metrics::counter!("lambda_speed_maybe_replayed_events_total").increment(t.maybe_events);
        for table in SpeedTable::ALL {
            let (surely, maybe) = t.counts[table.index()];
            metrics::counter!("lambda_speed_replayed_counts_total", "table" => table.name())
                .increment(surely);
            metrics::counter!("lambda_speed_maybe_replayed_counts_total", "table" => table.name())
                .increment(maybe);
        }
        tracing::info!(
            replayed_events = t.events,
            maybe_replayed_events = t.maybe_events,
            replayed_counts_0 = t.counts[0].0,
            maybe_replayed_counts_0 = t.counts[0].1,
            replayed_counts_1 = t.counts[1].0,
            maybe_replayed_counts_1 = t.counts[1].1,
            "Re-counted records an earlier worker had counted or was counting."
        );
    }

    /// The next offset to read per assigned partition.
    pub fn positions(&self) -> &Offsets {
        &self.positions
    }
}

/// Runs a speed worker until `shutdown`, then flushes once more.
pub async fn run(
    backends: Backends,
    cfg: SpeedConfig,
    shutdown: CancellationToken,
) -> Result<(), SpeedError> {
    let mut worker = SpeedWorker::start(&backends, cfg, shutdown.clone()).await?;
    tracing::info!(log = %backends.log.describe(), views = %backends.views.describe(), "Speed layer started.");
    let mut backoff = Duration::from_millis(100);
    while !shutdown.is_cancelled() {
        let step = async {
            worker.poll_once(Duration::from_millis(200)).await?;
            if worker.flush_due() {
                worker.flush().await?;
            }
            Ok::<_, SpeedError>(())
        };
        match tokio::select! { r = step => r, _ = shutdown.cancelled() => break } {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(SpeedError::Backend(e)) if e.is_retryable() => {
                metrics::counter!("lambda_speed_errors_total", "kind" => e.kind()).increment(1);
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "Speed layer step failed; retrying.");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(e),
        }
    }
    // A last boundary so no read record is left uncommitted. A fresh token: the run's is cancelled.
    worker.shutdown = CancellationToken::new();
    let final_flush = tokio::time::timeout(Duration::from_secs(10), worker.flush()).await;
    match final_flush {
        Ok(r) => r?,
        Err(_) => tracing::warn!(
            "The final speed flush did not finish in 10 s; unflushed records will be re-read."
        ),
    }
    tracing::info!("Speed layer stopped.");
    Ok(())
}
