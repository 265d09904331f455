//! Writing posts to the event log: the collector's run loop over a source.
//!
//! A post is *acknowledged* once `EventLog::append` has returned for its batch; only then is it
//! counted (and, for the synthetic source, added to the ground truth). A failed append is
//! retried with backoff until it succeeds or the collector is shut down, so nothing the source
//! produced is silently dropped.

use crate::replay::{ReplayConfig, ReplaySource};
use crate::synthetic::{GroundTruth, SyntheticConfig, SyntheticSource};
use futures::StreamExt;
use model::avro::PostCodec;
use model::{POSTS_DLQ_TOPIC, POSTS_TOPIC, Post};
use ports::retry::retry_until_shutdown;
use ports::{EventLog, NewRecord, PortError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Which source the collector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// The synthetic generator.
    Synthetic,
    /// A recorded file ([`crate::replay`]).
    Replay,
    /// Bluesky Jetstream, live.
    Jetstream,
    /// The X API v2 sampled stream, live (needs a bearer token).
    XSample,
}

/// Collector settings (`[collector]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct CollectorConfig {
    /// The source.
    pub source: SourceKind,
    /// Posts per second (0: as fast as the log takes them).
    pub rate: f64,
    /// Stop after this many posts (0: never).
    pub max_posts: u64,
    /// Posts per append.
    pub batch_size: usize,
    /// The `replay` source's settings.
    pub replay: ReplayConfig,
    /// The synthetic source's settings.
    pub synthetic: SyntheticConfig,
    /// The Bluesky Jetstream source's settings.
    pub jetstream: crate::jetstream::JetstreamConfig,
    /// The X API v2 sampled stream's settings.
    pub x: crate::x_stream::XStreamConfig,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            source: SourceKind::Synthetic,
            rate: 2000.0,
            max_posts: 0,
            batch_size: 1000,
            replay: ReplayConfig::default(),
            synthetic: SyntheticConfig::default(),
            jetstream: crate::jetstream::JetstreamConfig::default(),
            x: crate::x_stream::XStreamConfig::default(),
        }
    }
}

/// Appends of synthetic posts in flight at once.
const APPENDS_IN_FLIGHT: usize = 4;

/// Sends a live source's posts to the event log in batches of `cfg.batch_size`, or sooner when
/// the source goes quiet for `linger`, so a slow stream is not held back; malformed input goes
/// to the dead-letter topic. Runs until `shutdown` or `cfg.max_posts`.
pub async fn run_live(
    log: Arc<dyn EventLog>,
    codec: PostCodec,
    cfg: &CollectorConfig,
    source: &mut dyn crate::source::LiveSource,
    shutdown: CancellationToken,
) -> Result<CollectorStats, CollectorError> {
    use crate::source::SourceEvent;
    let linger = Duration::from_millis(200);
    let mut publisher = Publisher::start(log, codec, &shutdown, source.name()).await?;
    let mut batch: Vec<Post> = Vec::with_capacity(cfg.batch_size);
    tracing::info!(source = source.name(), "Collector started.");
    while remaining(cfg, &publisher.stats) > batch.len() as u64 {
        let event = if batch.is_empty() {
            source.next(&shutdown).await?
        } else {
            match tokio::time::timeout(linger, source.next(&shutdown)).await {
                Ok(e) => e?,
                Err(_) => {
                    publisher.publish(&batch).await?;
                    source.acknowledged(false);
                    batch.clear();
                    continue;
                }
            }
        };
        match event {
            None => break,
            Some(SourceEvent::Post(p)) => batch.push(p),
            Some(SourceEvent::Malformed { raw, reason, code }) => {
                publisher.reject(&raw, &reason, code).await?
            }
        }
        if batch.len() >= cfg.batch_size.max(1) {
            publisher.publish(&batch).await?;
            source.acknowledged(false);
            batch.clear();
        }
    }
    publisher.publish(&batch).await?;
    source.acknowledged(true);
    tracing::info!(
        source = source.name(),
        posts = publisher.stats.posts,
        rejected = publisher.stats.rejected,
        "Collector stopped."
    );
    Ok(publisher.stats)
}

/// Why the collector stopped.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// The event log failed in a way retrying does not fix, or shutdown came during a retry.
    #[error(transparent)]
    Backend(#[from] PortError),
    /// The source's configuration is wrong (no instances, a bad URL, no credentials).
    #[error("collector configuration: {0}")]
    Config(String),
    /// A file (the replay input, a cursor file) could not be read.
    #[error("collector: cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CollectorStats {
    /// Posts acknowledged by the event log.
    pub posts: u64,
    /// Input that could not be turned into posts (sent to the dead-letter topic).
    pub rejected: u64,
}

/// Encodes and appends posts, retrying through outages.
struct Publisher {
    log: Arc<dyn EventLog>,
    codec: PostCodec,
    shutdown: CancellationToken,
    stats: CollectorStats,
    /// The source's name, the `source` label of the metrics.
    source: &'static str,
}

impl Publisher {
    /// Creates the topics if missing, and a publisher over them.
    async fn start(
        log: Arc<dyn EventLog>,
        codec: PostCodec,
        shutdown: &CancellationToken,
        source: &'static str,
    ) -> Result<Self, CollectorError> {
        log.ensure_topic(POSTS_TOPIC).await?;
        log.ensure_topic(POSTS_DLQ_TOPIC).await?;
        Ok(Publisher {
            log,
            codec,
            shutdown: shutdown.clone(),
            stats: CollectorStats::default(),
            source,
        })
    }

    async fn publish(&mut self, posts: &[Post]) -> Result<(), CollectorError> {
        self.append(posts).await?;
        self.acknowledged(posts.len());
        Ok(())
    }

    /// Encodes `posts` now and returns the append of them, retried through outages; it does not
    /// borrow the publisher, so several can be in flight. Count them with
    /// [`Publisher::acknowledged`] once it has returned.
    fn append(
        &self,
        posts: &[Post],
    ) -> impl std::future::Future<Output = Result<(), CollectorError>> + Send + 'static {
        let records: Vec<NewRecord> = posts
            .iter()
            .map(|p| NewRecord {
                key: p.userid.to_string().into_bytes(),
                value: self.codec.encode(p),
                headers: Vec::new(),
            })
            .collect();
        let (log, shutdown) = (self.log.clone(), self.shutdown.clone());
        async move {
            if records.is_empty() {
                return Ok(());
            }
            retry_until_shutdown("post append", &shutdown, || {
                log.append(POSTS_TOPIC, records.clone())
            })
            .await?;
            Ok(())
        }
    }

    /// Counts `n` posts whose append has returned.
    fn acknowledged(&mut self, n: usize) {
        self.stats.posts += n as u64;
        metrics::counter!("lambda_collector_posts_written_total", "source" => self.source)
            .increment(n as u64);
    }

    async fn reject(&mut self, line: &str, reason: &str, code: &str) -> Result<(), CollectorError> {
        metrics::counter!(
            "lambda_collector_malformed_total",
            "source" => self.source,
            "reason" => code.to_string()
        )
        .increment(1);
        tracing::warn!(
            source = self.source,
            reason,
            "Rejected malformed input; sending it to the dead-letter topic."
        );
        let record = NewRecord {
            key: Vec::new(),
            value: line.as_bytes().to_vec(),
            headers: vec![
                ("lt-reason".into(), reason.as_bytes().to_vec()),
                ("lt-reason-code".into(), code.as_bytes().to_vec()),
                ("lt-source".into(), self.source.as_bytes().to_vec()),
            ],
        };
        let log = self.log.clone();
        retry_until_shutdown("dead-letter append", &self.shutdown, || {
            log.append(POSTS_DLQ_TOPIC, vec![record.clone()])
        })
        .await?;
        self.stats.rejected += 1;
        Ok(())
    }
}

/// Runs the configured source until `shutdown` or `max_posts`. With the synthetic source,
/// `truth` (if given) receives every acknowledged post.
pub async fn run(
    log: Arc<dyn EventLog>,
    codec: PostCodec,
    cfg: CollectorConfig,
    shutdown: CancellationToken,
    truth: Option<Arc<Mutex<GroundTruth>>>,
) -> Result<CollectorStats, CollectorError> {
    match cfg.source {
        SourceKind::Jetstream => {
            let mut source = crate::jetstream::JetstreamSource::new(cfg.jetstream.clone())?;
            return run_live(log, codec, &cfg, &mut source, shutdown).await;
        }
        SourceKind::XSample => {
            let mut source = crate::x_stream::XStreamSource::new(cfg.x.clone())?;
            return run_live(log, codec, &cfg, &mut source, shutdown).await;
        }
        SourceKind::Replay => {
            let mut source = ReplaySource::open(&cfg.replay, cfg.rate)?;
            return run_live(log, codec, &cfg, &mut source, shutdown).await;
        }
        SourceKind::Synthetic => {}
    }
    let mut publisher = Publisher::start(log, codec, &shutdown, "synthetic").await?;
    run_synthetic(&mut publisher, &cfg, &shutdown, truth).await?;
    tracing::info!(
        posts = publisher.stats.posts,
        rejected = publisher.stats.rejected,
        "Collector stopped."
    );
    Ok(publisher.stats)
}

fn remaining(cfg: &CollectorConfig, stats: &CollectorStats) -> u64 {
    if cfg.max_posts == 0 {
        u64::MAX
    } else {
        cfg.max_posts.saturating_sub(stats.posts)
    }
}

async fn run_synthetic(
    publisher: &mut Publisher,
    cfg: &CollectorConfig,
    shutdown: &CancellationToken,
    truth: Option<Arc<Mutex<GroundTruth>>>,
) -> Result<(), CollectorError> {
    cfg.synthetic
        .validate()
        .map_err(|e| CollectorError::Config(format!("collector.synthetic: {e}")))?;
    // Posts are generated on a thread of their own, so at high rates generating overlaps
    // encoding and appending; the bounded channel keeps the generator at most a few batches
    // ahead of the log.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Post>>(4);
    let generator = {
        let cfg = cfg.clone();
        std::thread::Builder::new()
            .name("synthetic".into())
            .spawn(move || generate_synthetic(&cfg, tx))
            .map_err(|e| CollectorError::Config(format!("cannot start the generator: {e}")))?
    };
    tracing::info!(rate = cfg.rate, "Synthetic collector started.");
    // Up to APPENDS_IN_FLIGHT appends at once: the log's round trip overlaps the next batches
    // (one at a time, a Kafka acknowledgement every 1,000 posts held the collector to ~30,000
    // posts/s). They are counted, and added to the ground truth, in order as they return.
    let mut in_flight = futures::stream::FuturesOrdered::new();
    let mut open = true;
    while open || !in_flight.is_empty() {
        tokio::select! {
            b = rx.recv(), if open && in_flight.len() < APPENDS_IN_FLIGHT => match b {
                Some(batch) => {
                    let append = publisher.append(&batch);
                    in_flight.push_back(async move { append.await.map(|()| batch) });
                }
                None => open = false,
            },
            _ = shutdown.cancelled(), if open => open = false,
            Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                let batch = done?;
                publisher.acknowledged(batch.len());
                if let Some(last) = batch.last() {
                    let lag = chrono::Utc::now().timestamp_millis() - last.timestamp;
                    metrics::gauge!("lambda_collector_lag_seconds", "source" => "synthetic")
                        .set(lag as f64 / 1000.0);
                }
                if let Some(t) = &truth {
                    let mut t = t.lock().expect("ground truth poisoned");
                    for p in &batch {
                        t.record(p);
                    }
                }
            }
        }
    }
    drop(rx);
    let _ = generator.join();
    Ok(())
}

/// The generator thread: posts at `cfg.rate` per second on average, shaped by the diurnal
/// curve ([`SyntheticConfig::posts_between`]), stamped with the time they are made, in batches
/// of at most `cfg.batch_size`; `cfg.max_posts` in all. Stops when the receiver is dropped.
fn generate_synthetic(cfg: &CollectorConfig, tx: tokio::sync::mpsc::Sender<Vec<Post>>) {
    let mut source = SyntheticSource::new(&cfg.synthetic);
    let batch_size = cfg.batch_size.max(1) as u64;
    let limit = if cfg.max_posts == 0 {
        u64::MAX
    } else {
        cfg.max_posts
    };
    let started = std::time::Instant::now();
    let start_ms = chrono::Utc::now().timestamp_millis();
    let mut produced: u64 = 0;
    while produced < limit {
        let now_ms = start_ms + started.elapsed().as_millis() as i64;
        let due = if cfg.rate > 0.0 {
            cfg.synthetic.posts_between(cfg.rate, start_ms, now_ms) as u64
        } else {
            produced + batch_size
        };
        let n = due
            .saturating_sub(produced)
            .min(limit - produced)
            .min(batch_size);
        if n == 0 {
            // Until about the next post, at most 50 ms (so a stopped collector stops soon).
            let per_sec = cfg.rate * cfg.synthetic.rate_factor(now_ms);
            let wait = (1.0 / per_sec.max(1e-3)).min(0.05);
            std::thread::sleep(Duration::from_secs_f64(wait));
            if tx.is_closed() {
                return;
            }
            continue;
        }
        let now = chrono::Utc::now().timestamp_millis();
        let batch: Vec<Post> = (0..n).map(|_| source.next_post(now)).collect();
        metrics::counter!("lambda_collector_received_total", "source" => "synthetic").increment(n);
        produced += n;
        if tx.blocking_send(batch).is_err() {
            return;
        }
    }
}
