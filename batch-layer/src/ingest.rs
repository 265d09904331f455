//! Master ingest: event log to Parquet files under `date=YYYY-MM-DD/hour=HH/`, made visible
//! atomically by the manifest, which also records how far each partition has been ingested.
//!
//! The manifest, not the consumer group's commit, is the source of truth for where to resume:
//! on assignment the ingest seeks every partition to the manifest's offset, so a crash between
//! writing files and publishing the manifest re-ingests the same records into the same file
//! names, and nothing is lost or doubled.

use crate::BatchError;
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use model::POSTS_TOPIC;
use model::avro::PostCodec;
use ports::protocol::Offsets;
use ports::retry::retry_until_shutdown;
use ports::{Backends, ConsumerEvent, LogConsumer, Manifest, MasterFile, NewMasterFile, PortError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use views::master::{MasterBatchBuilder, master_schema};

/// Master-ingest settings (`[ingest]` in the config file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Consumer group of the ingest.
    pub group: String,
    /// Longest time between two manifest versions, milliseconds. Fewer, larger files when higher.
    pub flush_interval_ms: u64,
    /// Rows read before a flush is forced.
    pub flush_max_records: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            group: "ingest".into(),
            flush_interval_ms: 15_000,
            flush_max_records: 500_000,
        }
    }
}

struct PendingFile {
    rows: MasterBatchBuilder,
    first: u64,
    last: u64,
}

/// Appends the event log to the master dataset.
pub struct MasterIngest {
    backends: Backends,
    consumer: Box<dyn LogConsumer>,
    codec: PostCodec,
    cfg: IngestConfig,
    shutdown: CancellationToken,
    manifest: Manifest,
    positions: Offsets,
    pending: BTreeMap<(u32, String), PendingFile>,
    records_in_window: usize,
    window_started: Instant,
}

impl MasterIngest {
    /// Joins the ingest consumer group and reads the manifest.
    pub async fn start(
        backends: &Backends,
        cfg: IngestConfig,
        shutdown: CancellationToken,
    ) -> Result<Self, BatchError> {
        let consumer = backends.log.consumer(POSTS_TOPIC, &cfg.group).await?;
        let manifest = backends.master.manifest().await?;
        Ok(MasterIngest {
            backends: backends.clone(),
            consumer,
            codec: backends.codec.clone(),
            cfg,
            shutdown,
            manifest,
            positions: Offsets::new(),
            pending: BTreeMap::new(),
            records_in_window: 0,
            window_started: Instant::now(),
        })
    }

    /// The manifest as of the last flush.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Reads once (waiting up to `timeout`) and buffers the rows. Returns the records read.
    pub async fn poll_once(&mut self, timeout: Duration) -> Result<usize, BatchError> {
        match self.consumer.poll(10_000, timeout).await? {
            ConsumerEvent::Assigned(partitions) => {
                // Another member may have ingested these partitions until now: resume where
                // the newest manifest says.
                self.manifest = self.backends.master.manifest().await?;
                for p in partitions {
                    let from = self.manifest.offsets.get(&p).copied().unwrap_or(0);
                    self.consumer.seek(p, from).await?;
                    self.positions.insert(p, from);
                }
                Ok(0)
            }
            ConsumerEvent::Revoked(partitions) => {
                self.flush().await?;
                for p in partitions {
                    self.positions.remove(&p);
                }
                Ok(0)
            }
            ConsumerEvent::Records(records) => {
                let now = Utc::now().timestamp_millis();
                for r in &records {
                    if r.offset < self.positions.get(&r.partition).copied().unwrap_or(0) {
                        continue; // already in the master dataset
                    }
                    self.positions.insert(r.partition, r.offset + 1);
                    match self.codec.decode(&r.value) {
                        Ok(post) => {
                            let hour = Utc
                                .timestamp_millis_opt(post.timestamp)
                                .single()
                                .map(|t| t.format("date=%Y-%m-%d/hour=%H").to_string())
                                .unwrap_or_else(|| "date=invalid/hour=00".into());
                            let f = self.pending.entry((r.partition, hour)).or_insert_with(|| {
                                PendingFile {
                                    rows: MasterBatchBuilder::default(),
                                    first: r.offset,
                                    last: r.offset,
                                }
                            });
                            f.rows.push(&post, r.partition, r.offset, now);
                            f.first = f.first.min(r.offset);
                            f.last = f.last.max(r.offset);
                        }
                        Err(error) => {
                            // The speed layer dead-letters it; the master dataset skips it, counted.
                            metrics::counter!("lambda_ingest_rejected_events_total", "reason" => error.reason_code()).increment(1);
                            tracing::debug!(%error, partition = r.partition, offset = r.offset, "Skipping an undecodable record.");
                        }
                    }
                }
                self.records_in_window += records.len();
                metrics::counter!("lambda_ingest_received_events_total")
                    .increment(records.len() as u64);
                Ok(records.len())
            }
        }
    }

    /// Whether a flush is due.
    pub fn flush_due(&self) -> bool {
        self.records_in_window >= self.cfg.flush_max_records
            || (self.records_in_window > 0
                && self.window_started.elapsed()
                    >= Duration::from_millis(self.cfg.flush_interval_ms))
    }

    /// Writes the buffered rows as Parquet files and publishes them with the new offsets.
    pub async fn flush(&mut self) -> Result<(), BatchError> {
        let moved = self
            .positions
            .iter()
            .any(|(p, o)| self.manifest.offsets.get(p).copied().unwrap_or(0) < *o);
        if !moved {
            self.window_started = Instant::now();
            return Ok(());
        }
        let mut files = Vec::with_capacity(self.pending.len());
        for ((partition, hour), mut f) in std::mem::take(&mut self.pending) {
            let batch = f.rows.finish().map_err(|e| BatchError::Query(e.into()))?;
            let rows = batch.num_rows() as u64;
            let data = to_parquet(&batch)?;
            files.push(NewMasterFile {
                file: MasterFile {
                    path: format!("{hour}/part-{partition}-{}-{}.parquet", f.first, f.last),
                    partition,
                    first_offset: f.first,
                    last_offset: f.last,
                    rows,
                    bytes: data.len() as u64,
                },
                data,
            });
        }
        let rows: u64 = files.iter().map(|f| f.file.rows).sum();
        let (master, offsets) = (self.backends.master.clone(), self.positions.clone());
        let mut base = self.manifest.clone();
        self.manifest = loop {
            let attempt = retry_until_shutdown("master append", &self.shutdown, || {
                master.append(&base, files.clone(), offsets.clone())
            })
            .await;
            match attempt {
                Ok(m) => break m,
                // Another member of the ingest group published first (its own partitions):
                // publish ours on top of its manifest.
                Err(PortError::Conflict(_)) => {
                    metrics::counter!("lambda_ingest_manifest_conflicts_total").increment(1);
                    base = master.manifest().await?;
                }
                Err(e) => return Err(e.into()),
            }
        };
        if let Err(error) = self.consumer.commit(&self.positions).await {
            tracing::warn!(%error, "Could not commit ingest offsets (the manifest has them; resuming is unaffected).");
        }
        metrics::counter!("lambda_ingest_sent_rows_total").increment(rows);
        metrics::gauge!("lambda_ingest_manifest_version").set(self.manifest.version as f64);
        self.records_in_window = 0;
        self.window_started = Instant::now();
        Ok(())
    }
}

/// Encodes one batch as a Parquet file (zstd).
pub fn to_parquet(batch: &datafusion::arrow::array::RecordBatch) -> Result<Bytes, BatchError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, master_schema(), Some(props))?;
    w.write(batch)?;
    w.close()?;
    Ok(Bytes::from(buf))
}

/// Runs the master ingest until `shutdown`, then flushes once more.
pub async fn run(
    backends: Backends,
    cfg: IngestConfig,
    shutdown: CancellationToken,
) -> Result<(), BatchError> {
    let mut ingest = MasterIngest::start(&backends, cfg, shutdown.clone()).await?;
    tracing::info!(master = %backends.master.describe(), "Master ingest started.");
    let mut backoff = Duration::from_millis(100);
    while !shutdown.is_cancelled() {
        let step = async {
            ingest.poll_once(Duration::from_millis(200)).await?;
            if ingest.flush_due() {
                ingest.flush().await?;
            }
            Ok::<_, BatchError>(())
        };
        match tokio::select! { r = step => r, _ = shutdown.cancelled() => break } {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(e) if e.is_retryable() => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "Ingest step failed; retrying.");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(e),
        }
    }
    ingest.shutdown = CancellationToken::new();
    match tokio::time::timeout(Duration::from_secs(30), ingest.flush()).await {
        Ok(r) => r?,
        Err(_) => {
            tracing::warn!("The final ingest flush did not finish in 30 s; it will be re-ingested.")
        }
    }
    tracing::info!("Master ingest stopped.");
    Ok(())
}
