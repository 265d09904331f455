//! The recompute: the batch half of the batch/speed protocol (ARCHITECTURE.md, steps 1-5).
//!
//! [`Recompute::begin`] resets the inactive speed table; [`Recompute::advance`] takes one step
//! whenever the speed workers and the ingest have done their part, and finally computes the
//! batch view with DataFusion from exactly the records before the cut and flips.

use crate::BatchError;
use crate::query::{QueryLimits, session_over_with};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::prelude::col;
use futures::StreamExt;
use model::{POSTS_TOPIC, SlotStart, ViewSet};
use ports::protocol::{HandshakeProgress, Offsets, RecomputeInfo};
use ports::{ActivePair, Backends, BatchTable, LambdaSwitch, SlotCount, ViewTable};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Recompute settings (`[recompute]` in the config file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct RecomputeConfig {
    /// Seconds to wait for the speed workers' handshake and for ingestion to reach the cut,
    /// before giving up with an error that names what is missing.
    pub wait_timeout_secs: u64,
    /// A recompute renews its lease in the coordinator every quarter of this; one whose lease
    /// is older (its process died) is abandoned by the next recompute, which then starts.
    pub lease_timeout_secs: u64,
    /// How often progress is checked while waiting, milliseconds.
    pub poll_interval_ms: u64,
    /// Rows per batch-view write call (one transaction in the embedded store, concurrent
    /// unlogged batches in Cassandra).
    pub write_chunk_rows: usize,
    /// In `lambda-trends up`: minutes between automatic recomputes (0: never).
    pub every_minutes: u64,
    /// The views file (see `views::definitions`); empty: recompute the active pair's views.
    pub views_file: String,
    /// Memory for DataFusion's aggregations, MiB; past it they spill to disk (0: unbounded).
    pub memory_limit_mb: u64,
    /// Where spill files go (empty: the system's temporary directory).
    pub spill_dir: String,
}

impl RecomputeConfig {
    /// The DataFusion limits of a recompute.
    pub fn limits(&self) -> QueryLimits {
        QueryLimits {
            memory_limit_mb: self.memory_limit_mb,
            spill_dir: self.spill_dir.clone(),
            ..QueryLimits::default()
        }
    }
}

impl Default for RecomputeConfig {
    fn default() -> Self {
        RecomputeConfig {
            wait_timeout_secs: 120,
            lease_timeout_secs: 60,
            poll_interval_ms: 200,
            write_chunk_rows: 50_000,
            every_minutes: 5,
            views_file: String::new(),
            memory_limit_mb: QueryLimits::default().memory_limit_mb,
            spill_dir: String::new(),
        }
    }
}

/// Where a recompute stands after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Waiting for the speed workers of these partitions to stop writing to the reset table.
    AwaitingAcks(Vec<u32>),
    /// Waiting for the speed workers of these partitions to record where they restart.
    AwaitingStarts(Vec<u32>),
    /// Waiting for master ingest to reach the cut: `(partition, ingested, cut)`.
    AwaitingIngest(Vec<(u32, u64, u64)>),
    /// The batch view was written; the shadow pair waits for `lambda-trends flip`.
    ShadowReady {
        /// The pair that `flip` will make active.
        pair: ActivePair,
        /// Rows written to the batch table.
        rows: u64,
        /// Posts in the master dataset before the cut.
        posts: u64,
    },
    /// The batch view was written and the pair flipped.
    Flipped {
        /// The new active pair.
        pair: ActivePair,
        /// Rows written to the batch table.
        rows: u64,
        /// Posts in the master dataset before the cut.
        posts: u64,
    },
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Progress::AwaitingAcks(p) => write!(
                f,
                "waiting for speed workers to stop writing the reset table (partitions {p:?})"
            ),
            Progress::AwaitingStarts(p) => write!(
                f,
                "waiting for speed workers to record their start offsets (partitions {p:?})"
            ),
            Progress::AwaitingIngest(b) => {
                let behind: u64 = b.iter().map(|(_, i, c)| c - i).sum();
                write!(
                    f,
                    "waiting for master ingest to reach the cut ({behind} records behind)"
                )
            }
            Progress::ShadowReady { pair, rows, posts } => write!(
                f,
                "shadow pair ready for epoch {}: {} + {} ({rows} batch rows from {posts} posts); \
                 compare it with `lambda-trends views diff`, then `lambda-trends flip` or `lambda-trends recompute --abort`",
                pair.epoch.0, pair.batch, pair.speed
            ),
            Progress::Flipped { pair, rows, posts } => write!(
                f,
                "flipped to epoch {}: {} + {} ({rows} batch rows from {posts} posts)",
                pair.epoch.0, pair.batch, pair.speed
            ),
        }
    }
}

/// How far the computing step of a recompute has got, for progress bars: updated while
/// DataFusion scans and while the view is written.
#[derive(Debug, Default)]
pub struct ScanProgress {
    /// Master-dataset files the scan reads.
    pub files: AtomicU64,
    /// Rows to scan: the rows of those files times the number of views (each view scans once).
    pub total: AtomicU64,
    /// Rows scanned so far.
    pub scanned: Arc<AtomicU64>,
    /// View rows written to the batch table so far.
    pub written: AtomicU64,
}

/// A recompute in progress.
pub struct Recompute {
    backends: Backends,
    switch: LambdaSwitch,
    info: RecomputeInfo,
    write_chunk_rows: usize,
    limits: QueryLimits,
    progress: Arc<ScanProgress>,
    /// Stops the lease renewal when the recompute ends or is dropped.
    _lease: tokio_util::sync::DropGuard,
}

impl Recompute {
    /// Step 1: starts a recompute of `views` (resets the inactive speed table); `shadow`: stop
    /// before the flip. Fails with a conflict if one is already in progress.
    pub async fn begin(
        backends: &Backends,
        views: &ViewSet,
        shadow: bool,
        cfg: &RecomputeConfig,
    ) -> Result<Recompute, BatchError> {
        Self::begin_as(
            backends,
            LambdaSwitch::new(backends.coordinator.clone()),
            views,
            shadow,
            cfg,
        )
        .await
    }

    /// [`Recompute::begin`] through `switch` (which records who acts).
    pub async fn begin_as(
        backends: &Backends,
        switch: LambdaSwitch,
        views: &ViewSet,
        shadow: bool,
        cfg: &RecomputeConfig,
    ) -> Result<Recompute, BatchError> {
        let partitions = backends.log.ensure_topic(POSTS_TOPIC).await?;
        let lease_timeout = Duration::from_secs(cfg.lease_timeout_secs.max(1));
        switch.take_over_stale(lease_timeout).await?;
        let info = switch.begin_recompute(partitions, views, shadow).await?;
        switch.renew_lease(&info).await?;
        tracing::info!(epoch = info.epoch.0, speed = %info.speed, batch = %info.batch, shadow, views = views.views.len(), "Recompute started.");
        let lease = CancellationToken::new();
        tokio::spawn(renew_lease(
            switch.clone(),
            info.clone(),
            lease_timeout / 4,
            lease.clone(),
        ));
        Ok(Recompute {
            backends: backends.clone(),
            switch,
            info,
            write_chunk_rows: cfg.write_chunk_rows.max(1),
            limits: cfg.limits(),
            progress: Arc::default(),
            _lease: lease.drop_guard(),
        })
    }

    /// Reports the computing step's progress into `progress`.
    pub fn with_progress(mut self, progress: Arc<ScanProgress>) -> Self {
        self.progress = progress;
        self
    }

    /// What this recompute is building.
    pub fn info(&self) -> &RecomputeInfo {
        &self.info
    }

    /// Takes the next step if its precondition holds, and says where things stand.
    pub async fn advance(&mut self) -> Result<Progress, BatchError> {
        let cut = match self.switch.handshake().await? {
            HandshakeProgress::AwaitingAcks(p) => return Ok(Progress::AwaitingAcks(p)),
            HandshakeProgress::Acked => {
                // Every worker has stopped writing S': empty it, then let them restart it.
                self.backends
                    .views
                    .truncate(ViewTable::Speed(self.info.speed))
                    .await?;
                self.switch.mark_restarted().await?;
                return Ok(Progress::AwaitingStarts(
                    (0..self.info.partitions).collect(),
                ));
            }
            HandshakeProgress::AwaitingStarts(p) => return Ok(Progress::AwaitingStarts(p)),
            HandshakeProgress::Started(cut) => cut,
        };
        let manifest = self.backends.master.manifest().await?;
        if !manifest.covers(&cut) {
            let behind = cut
                .iter()
                .map(|(p, c)| (*p, manifest.offsets.get(p).copied().unwrap_or(0), *c))
                .filter(|(_, i, c)| i < c)
                .collect();
            return Ok(Progress::AwaitingIngest(behind));
        }
        let (rows, posts) = write_batch_views_reporting(
            &self.backends,
            &cut,
            self.info.batch,
            &self.info.views,
            self.write_chunk_rows,
            &self.limits,
            &self.progress,
        )
        .await?;
        self.switch.mark_batch_ready(&self.info, &cut).await?;
        if self.info.shadow {
            let pair = self.info.pair(&cut);
            tracing::info!(epoch = pair.epoch.0, rows, posts, "Shadow pair ready.");
            return Ok(Progress::ShadowReady { pair, rows, posts });
        }
        let pair = self.switch.flip(&self.info, &cut).await?;
        tracing::info!(
            epoch = pair.epoch.0,
            rows,
            posts,
            "Flipped to the recomputed pair."
        );
        Ok(Progress::Flipped { pair, rows, posts })
    }

    /// Abandons this recompute (the active pair is untouched).
    pub async fn abort(self) -> Result<(), BatchError> {
        self.switch.end_recompute().await?;
        tracing::warn!(epoch = self.info.epoch.0, "Recompute abandoned.");
        Ok(())
    }
}

/// Renews the lease of the recompute `info` every `every` until `stop`. Failures are logged
/// (and retried at the next tick): a lease left to expire lets another run take over, after
/// which this one can no longer mark its batch table ready or flip.
async fn renew_lease(
    switch: LambdaSwitch,
    info: RecomputeInfo,
    every: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(250)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        if let Err(error) = switch.renew_lease(&info).await {
            metrics::counter!("lambda_batch_lease_renewal_failures_total").increment(1);
            tracing::warn!(%error, epoch = info.epoch.0, "Could not renew the recompute's lease.");
        }
    }
}

/// Computes every view of `views` from the master dataset's records before `cut` into `table`
/// (truncated first), within `limits`. Returns (rows written, posts read).
pub async fn write_batch_views(
    backends: &Backends,
    cut: &Offsets,
    table: BatchTable,
    views: &ViewSet,
    chunk_rows: usize,
    limits: &QueryLimits,
) -> Result<(u64, u64), BatchError> {
    write_batch_views_reporting(
        backends,
        cut,
        table,
        views,
        chunk_rows,
        limits,
        &ScanProgress::default(),
    )
    .await
}

/// [`write_batch_views`], reporting into `progress`.
pub async fn write_batch_views_reporting(
    backends: &Backends,
    cut: &Offsets,
    table: BatchTable,
    views: &ViewSet,
    chunk_rows: usize,
    limits: &QueryLimits,
    progress: &ScanProgress,
) -> Result<(u64, u64), BatchError> {
    let manifest = backends.master.manifest().await?;
    let files = manifest.files_before(cut);
    let ctx = session_over_with(backends.master.as_ref(), &files, "master", limits)?;
    views::batch::register_view_udfs(&ctx, views);
    views::batch::register_udfs_counting(&ctx, Some(progress.scanned.clone()));
    progress.files.store(files.len() as u64, Ordering::Relaxed);
    progress.total.store(
        files.iter().map(|f| f.rows).sum::<u64>() * views.views.len() as u64,
        Ordering::Relaxed,
    );
    // Every view's plan hands each post before the cut to the hashtag UDF exactly once, so the
    // posts read are the UDF's rows divided by the views (no separate counting pass).
    let scanned_before = progress.scanned.load(Ordering::Relaxed);
    // Cells sorted by key: stores with ordered indexes (the embedded one) then append instead of
    // inserting at random, several times faster; the sort spills within the memory pool.
    let df = views::batch::batch_views(&ctx, "master", cut, views)
        .await?
        .sort(vec![
            col("hashtag").sort(true, false),
            col("slot").sort(true, false),
        ])?;
    backends.views.truncate(ViewTable::Batch(table)).await?;
    let mut stream = df.execute_stream().await?;
    let mut rows = 0u64;
    let mut chunk: Vec<SlotCount> = Vec::with_capacity(chunk_rows);
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let tags = batch.column(0).as_string::<i32>();
        let slots = batch.column(1).as_primitive::<Int64Type>();
        let counts = batch.column(2).as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            chunk.push(SlotCount {
                hashtag: tags.value(i).to_string(),
                slot: SlotStart(slots.value(i)),
                count: counts.value(i),
            });
            if chunk.len() >= chunk_rows {
                backends.views.write_batch_rows(table, &chunk).await?;
                rows += chunk.len() as u64;
                progress.written.store(rows, Ordering::Relaxed);
                metrics::gauge!("lambda_batch_recompute_written_rows").set(rows as f64);
                chunk.clear();
            }
        }
    }
    if !chunk.is_empty() {
        backends.views.write_batch_rows(table, &chunk).await?;
        rows += chunk.len() as u64;
    }
    progress.written.store(rows, Ordering::Relaxed);
    metrics::counter!("lambda_batch_written_rows_total").increment(rows);
    let scanned = progress
        .scanned
        .load(Ordering::Relaxed)
        .saturating_sub(scanned_before);
    metrics::counter!("lambda_batch_scanned_rows_total").increment(scanned);
    Ok((rows, scanned / views.views.len().max(1) as u64))
}

/// What a recompute computes, and how it ends.
#[derive(Debug, Clone, Default)]
pub struct RecomputeRequest {
    /// The views (`None`: the active pair's).
    pub views: Option<ViewSet>,
    /// Stop before the flip, leaving a shadow pair for `views diff` and `flip`.
    pub shadow: bool,
    /// Who asks (recorded in the history; `None`: this process's user and host).
    pub actor: Option<String>,
    /// Where to report the computing step's progress.
    pub progress: Option<Arc<ScanProgress>>,
}

/// Runs a whole recompute, waiting for each step, reporting progress; gives up (and abandons the
/// recompute) after `cfg.wait_timeout_secs` without progress, or at shutdown. Returns the pair
/// made active (or, for a shadow recompute, the pair ready to be flipped to).
pub async fn run_recompute(
    backends: &Backends,
    cfg: &RecomputeConfig,
    shutdown: &CancellationToken,
    on_progress: impl FnMut(&Progress),
) -> Result<ActivePair, BatchError> {
    run_recompute_of(
        backends,
        cfg,
        &RecomputeRequest::default(),
        shutdown,
        on_progress,
    )
    .await
}

/// [`run_recompute`] of what `request` asks for.
pub async fn run_recompute_of(
    backends: &Backends,
    cfg: &RecomputeConfig,
    request: &RecomputeRequest,
    shutdown: &CancellationToken,
    mut on_progress: impl FnMut(&Progress),
) -> Result<ActivePair, BatchError> {
    let started = Instant::now();
    let mut switch = LambdaSwitch::new(backends.coordinator.clone());
    if let Some(actor) = &request.actor {
        switch = switch.acting_as(actor.clone());
    }
    let views = match &request.views {
        Some(v) => v.clone(),
        None => switch.active().await?.views,
    };
    let mut r = Recompute::begin_as(backends, switch, &views, request.shadow, cfg).await?;
    if let Some(p) = &request.progress {
        r = r.with_progress(p.clone());
    }
    let mut last: Option<Progress> = None;
    let mut last_change = Instant::now();
    let result = loop {
        let progress = match r.advance().await {
            Ok(p) => p,
            Err(e) => break Err(e),
        };
        if last.as_ref() != Some(&progress) {
            on_progress(&progress);
            last_change = Instant::now();
        }
        if let Progress::ShadowReady { pair, .. } = &progress {
            metrics::histogram!("lambda_batch_recompute_seconds")
                .record(started.elapsed().as_secs_f64());
            return Ok(pair.clone());
        }
        if let Progress::Flipped { pair, .. } = &progress {
            metrics::histogram!("lambda_batch_recompute_seconds")
                .record(started.elapsed().as_secs_f64());
            metrics::gauge!("lambda_batch_active_epoch").set(pair.epoch.0 as f64);
            return Ok(pair.clone());
        }
        if last_change.elapsed() > Duration::from_secs(cfg.wait_timeout_secs) {
            break Err(BatchError::Timeout(format!(
                "recompute made no progress for {} s: {progress}. Is every component running (`lambda-trends up`, or `speed` and `ingest`)?",
                cfg.wait_timeout_secs
            )));
        }
        last = Some(progress);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(cfg.poll_interval_ms)) => {}
            _ = shutdown.cancelled() => break Err(BatchError::Timeout("recompute interrupted by shutdown".into())),
        }
    };
    metrics::counter!("lambda_batch_recompute_failures_total").increment(1);
    if let Err(error) = r.abort().await {
        tracing::error!(%error, "Could not abandon the failed recompute; run `lambda-trends recompute --abort`.");
    }
    result
}
