//! Writing posts to the event log: the collector's run loop over a source.
//!
//! A post is *acknowledged* once `EventLog::append` has returned for its batch; only then is it
//! counted (and, for the synthetic source, added to the ground truth). A failed append is
//! retried with backoff until it succeeds or the collector is shut down, so nothing the source
//! produced is silently dropped.

use crate::synthetic::{GroundTruth, SyntheticConfig, SyntheticSource};
use crate::x_replay::{ReplayItem, parse_line};
use model::avro::PostCodec;
use model::{POSTS_DLQ_TOPIC, POSTS_TOPIC, Post};
use ports::retry::retry_until_shutdown;
use ports::{EventLog, NewRecord, PortError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio_util::sync::CancellationToken;

/// Which source the collector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// The synthetic generator.
    Synthetic,
    /// A file of X API v2 stream lines.
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
    /// The file read by the `replay` source.
    pub replay_path: PathBuf,
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
            replay_path: PathBuf::new(),
            synthetic: SyntheticConfig::default(),
            jetstream: crate::jetstream::JetstreamConfig::default(),
            x: crate::x_stream::XStreamConfig::default(),
        }
    }
}

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
    let mut publisher = Publisher::start(log, codec, &shutdown).await?;
    let mut batch: Vec<Post> = Vec::with_capacity(cfg.batch_size);
    tracing::info!(source = source.name(), "Live collector started.");
    while remaining(cfg, &publisher.stats) > batch.len() as u64 {
        let event = if batch.is_empty() {
            source.next(&shutdown).await?
        } else {
            match tokio::time::timeout(linger, source.next(&shutdown)).await {
                Ok(e) => e?,
                Err(_) => {
                    publisher.publish(&batch).await?;
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
            batch.clear();
        }
    }
    publisher.publish(&batch).await?;
    tracing::info!(
        source = source.name(),
        posts = publisher.stats.posts,
        rejected = publisher.stats.rejected,
        "Live collector stopped."
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
}

impl Publisher {
    /// Creates the topics if missing, and a publisher over them.
    async fn start(
        log: Arc<dyn EventLog>,
        codec: PostCodec,
        shutdown: &CancellationToken,
    ) -> Result<Self, CollectorError> {
        log.ensure_topic(POSTS_TOPIC).await?;
        log.ensure_topic(POSTS_DLQ_TOPIC).await?;
        Ok(Publisher {
            log,
            codec,
            shutdown: shutdown.clone(),
            stats: CollectorStats::default(),
        })
    }

    async fn publish(&mut self, posts: &[Post]) -> Result<(), CollectorError> {
        if posts.is_empty() {
            return Ok(());
        }
        let records: Vec<NewRecord> = posts
            .iter()
            .map(|p| NewRecord {
                key: p.userid.to_string().into_bytes(),
                value: self.codec.encode(p),
                headers: Vec::new(),
            })
            .collect();
        let log = self.log.clone();
        retry_until_shutdown("post append", &self.shutdown, || {
            log.append(POSTS_TOPIC, records.clone())
        })
        .await?;
        self.stats.posts += posts.len() as u64;
        metrics::counter!("lambda_collector_sent_posts_total").increment(posts.len() as u64);
        Ok(())
    }

    async fn reject(&mut self, line: &str, reason: &str, code: &str) -> Result<(), CollectorError> {
        metrics::counter!("lambda_collector_rejected_total", "reason" => code.to_string())
            .increment(1);
        tracing::warn!(
            reason,
            "Rejected an input line; sending it to the dead-letter topic."
        );
        let record = NewRecord {
            key: Vec::new(),
            value: line.as_bytes().to_vec(),
            headers: vec![
                ("lt-reason".into(), reason.as_bytes().to_vec()),
                ("lt-reason-code".into(), code.as_bytes().to_vec()),
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
        SourceKind::Synthetic | SourceKind::Replay => {}
    }
    let mut publisher = Publisher::start(log, codec, &shutdown).await?;
    match cfg.source {
        SourceKind::Synthetic => run_synthetic(&mut publisher, &cfg, &shutdown, truth).await?,
        SourceKind::Replay => run_replay(&mut publisher, &cfg, &shutdown).await?,
        SourceKind::Jetstream | SourceKind::XSample => unreachable!("live sources return above"),
    }
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
    let mut source = SyntheticSource::new(&cfg.synthetic);
    let tick = Duration::from_millis(50);
    let started = tokio::time::Instant::now();
    let mut produced: u64 = 0;
    let mut batch: Vec<Post> = Vec::with_capacity(cfg.batch_size);
    tracing::info!(rate = cfg.rate, "Synthetic collector started.");
    while !shutdown.is_cancelled() && remaining(cfg, &publisher.stats) > 0 {
        // How many posts are due by now at the configured rate.
        let due = if cfg.rate > 0.0 {
            (started.elapsed().as_secs_f64() * cfg.rate) as u64
        } else {
            produced + cfg.batch_size as u64
        };
        let n = due
            .saturating_sub(produced)
            .min(remaining(cfg, &publisher.stats))
            .min(cfg.batch_size.max(1) as u64);
        if n == 0 {
            tokio::select! { _ = tokio::time::sleep(tick) => {}, _ = shutdown.cancelled() => break }
            continue;
        }
        let now = chrono::Utc::now().timestamp_millis();
        batch.clear();
        batch.extend((0..n).map(|_| source.next_post(now)));
        publisher.publish(&batch).await?;
        produced += n;
        if let Some(t) = &truth {
            let mut t = t.lock().expect("ground truth poisoned");
            for p in &batch {
                t.record(p);
            }
        }
    }
    Ok(())
}

async fn run_replay(
    publisher: &mut Publisher,
    cfg: &CollectorConfig,
    shutdown: &CancellationToken,
) -> Result<(), CollectorError> {
    let path = cfg.replay_path.clone();
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|source| CollectorError::Io {
            path: path.clone(),
            source,
        })?;
    let mut lines = tokio::io::BufReader::new(file).lines();
    let started = tokio::time::Instant::now();
    let mut batch: Vec<Post> = Vec::with_capacity(cfg.batch_size);
    tracing::info!(path = %path.display(), "Replay collector started.");
    loop {
        if shutdown.is_cancelled() || remaining(cfg, &publisher.stats) <= batch.len() as u64 {
            break;
        }
        let line = match lines.next_line().await {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(source) => return Err(CollectorError::Io { path, source }),
        };
        match parse_line(&line) {
            Ok(ReplayItem::Post(p)) => batch.push(p),
            Ok(ReplayItem::KeepAlive) => {}
            Ok(ReplayItem::StreamError { title, detail, .. }) => {
                tracing::warn!(title, detail, "The recorded stream reported an error.");
            }
            Err(e) => {
                publisher
                    .reject(&line, &e.to_string(), e.reason_code())
                    .await?
            }
        }
        if batch.len() >= cfg.batch_size.max(1) {
            publisher.publish(&batch).await?;
            batch.clear();
            if cfg.rate > 0.0 {
                let due = Duration::from_secs_f64(publisher.stats.posts as f64 / cfg.rate);
                tokio::time::sleep_until(started + due).await;
            }
        }
    }
    publisher.publish(&batch).await?;
    Ok(())
}
