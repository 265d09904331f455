//! Compaction of the master dataset: ingest writes a file per hour and partition at every flush
//! (about one a second under load); compaction merges the small files of one `date=/hour=`
//! directory and one event-log partition into one, and swaps them in a single manifest version.
//!
//! Nothing is lost or doubled: the merged file holds exactly the rows of the files it replaces
//! (checked before the swap), rows keep their `partition`, `offset` and `ingested_at`, and the
//! swap is a compare-and-set on the manifest, so a concurrent ingest flush either lands before
//! it (and is not touched) or retries on top of it. Replaced files stay readable for
//! `retire-after-secs` (a recompute or query may still be reading them), then a later compaction
//! deletes them.

use crate::BatchError;
use crate::ingest::to_parquet;
use crate::query::{QueryLimits, session_over_with};
use datafusion::arrow::compute::concat_batches;
use ports::master::{Compaction, MasterFile, NewMasterFile};
use ports::{Backends, Manifest, PortError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use views::master::master_schema;

/// Compaction settings (`[compact]` in the config file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct CompactConfig {
    /// A directory and partition is compacted once it holds at least this many small files.
    pub min_files: usize,
    /// Files at or above this size (MiB) are left alone, and merged files stop growing here.
    pub target_file_mb: u64,
    /// Seconds a replaced file stays readable before a later compaction deletes it.
    pub retire_after_secs: u64,
    /// In `ingest` (and `up`): minutes between compactions (0: never; `lambda-trends compact`
    /// runs one).
    pub every_minutes: u64,
}

impl Default for CompactConfig {
    fn default() -> Self {
        CompactConfig {
            min_files: 8,
            target_file_mb: 128,
            retire_after_secs: 3600,
            every_minutes: 10,
        }
    }
}

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CompactReport {
    /// Files merged.
    pub files_in: usize,
    /// Files written.
    pub files_out: usize,
    /// Rows moved.
    pub rows: u64,
    /// Replaced files deleted (retired long enough ago).
    pub purged: usize,
    /// The manifest version it made (unchanged if there was nothing to do).
    pub manifest_version: u64,
}

/// The directory of a file's path (`date=…/hour=…`).
fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// Runs of small files to merge: per (directory, partition), in offset order, consecutive files
/// below the target size, cut when a run reaches the target; only runs of `min_files` or more.
pub fn plan(manifest: &Manifest, cfg: &CompactConfig) -> Vec<Vec<MasterFile>> {
    let target = cfg.target_file_mb.saturating_mul(1 << 20);
    let mut groups: BTreeMap<(&str, u32), Vec<&MasterFile>> = BTreeMap::new();
    for f in &manifest.files {
        groups
            .entry((dir_of(&f.path), f.partition))
            .or_default()
            .push(f);
    }
    let mut runs = Vec::new();
    for (_, mut files) in groups {
        files.sort_by_key(|f| f.first_offset);
        let mut run: Vec<MasterFile> = Vec::new();
        let mut bytes = 0u64;
        let mut close = |run: &mut Vec<MasterFile>, bytes: &mut u64| {
            if run.len() >= cfg.min_files.max(2) {
                runs.push(std::mem::take(run));
            } else {
                run.clear();
            }
            *bytes = 0;
        };
        for f in files {
            if f.bytes >= target {
                close(&mut run, &mut bytes);
                continue;
            }
            run.push(f.clone());
            bytes += f.bytes;
            if bytes >= target {
                close(&mut run, &mut bytes);
            }
        }
        close(&mut run, &mut bytes);
    }
    runs
}

/// Merges one run into one Parquet file, rows in offset order.
async fn merge(
    backends: &Backends,
    run: &[MasterFile],
    limits: &QueryLimits,
) -> Result<NewMasterFile, BatchError> {
    let ctx = session_over_with(backends.master.as_ref(), run, "small", limits)?;
    let batches = ctx
        .sql("SELECT * FROM small ORDER BY \"offset\"")
        .await?
        .collect()
        .await?;
    let batch =
        concat_batches(&master_schema(), &batches).map_err(|e| BatchError::Query(e.into()))?;
    let rows = batch.num_rows() as u64;
    let expected: u64 = run.iter().map(|f| f.rows).sum();
    if rows != expected {
        return Err(PortError::Internal(format!(
            "compaction read {rows} rows from {} files that hold {expected}: left as they are",
            run.len()
        ))
        .into());
    }
    let data = to_parquet(&batch)?;
    let (first, last) = (
        run.iter().map(|f| f.first_offset).min().unwrap_or(0),
        run.iter().map(|f| f.last_offset).max().unwrap_or(0),
    );
    let partition = run[0].partition;
    Ok(NewMasterFile {
        file: MasterFile {
            path: format!(
                "{}/part-{partition}-{first}-{last}.parquet",
                dir_of(&run[0].path)
            ),
            partition,
            first_offset: first,
            last_offset: last,
            rows,
            bytes: data.len() as u64,
        },
        data,
    })
}

/// One compaction: merges what [`plan`] finds, swaps it in, and deletes files retired more
/// than `retire_after_secs` ago. Retries a few times when ingest publishes in between.
pub async fn compact(
    backends: &Backends,
    cfg: &CompactConfig,
    limits: &QueryLimits,
) -> Result<CompactReport, BatchError> {
    const ATTEMPTS: usize = 5;
    let mut last_conflict = None;
    for _ in 0..ATTEMPTS {
        let base = backends.master.manifest().await?;
        let runs = plan(&base, cfg);
        let now = chrono::Utc::now();
        let purge: Vec<String> = base
            .retired
            .iter()
            .filter(|r| {
                (now - r.at).num_seconds()
                    >= i64::try_from(cfg.retire_after_secs).unwrap_or(i64::MAX)
            })
            .map(|r| r.path.clone())
            .collect();
        if runs.is_empty() && purge.is_empty() {
            return Ok(CompactReport {
                manifest_version: base.version,
                ..CompactReport::default()
            });
        }
        let mut add = Vec::with_capacity(runs.len());
        for run in &runs {
            add.push(merge(backends, run, limits).await?);
        }
        let report = CompactReport {
            files_in: runs.iter().map(Vec::len).sum(),
            files_out: add.len(),
            rows: add.iter().map(|f| f.file.rows).sum(),
            purged: purge.len(),
            manifest_version: 0,
        };
        let change = Compaction {
            remove: runs.iter().flatten().map(|f| f.path.clone()).collect(),
            add,
            purge,
        };
        match backends.master.compact(&base, change).await {
            Ok(m) => {
                metrics::counter!("lambda_compaction_files_merged_total")
                    .increment(report.files_in as u64);
                metrics::counter!("lambda_compaction_files_purged_total")
                    .increment(report.purged as u64);
                tracing::info!(
                    files_in = report.files_in,
                    files_out = report.files_out,
                    rows = report.rows,
                    purged = report.purged,
                    version = m.version,
                    "Compacted the master dataset."
                );
                return Ok(CompactReport {
                    manifest_version: m.version,
                    ..report
                });
            }
            Err(PortError::Conflict(msg)) => {
                metrics::counter!("lambda_compaction_conflicts_total").increment(1);
                last_conflict = Some(msg);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(PortError::Conflict(format!(
        "compaction lost {ATTEMPTS} races with ingest: {}",
        last_conflict.unwrap_or_default()
    ))
    .into())
}

/// Compacts every `cfg.every_minutes` until `shutdown` (never when 0). A failed compaction is
/// logged and counted; the next one tries again (nothing is changed by a failed one).
pub async fn run_periodic(
    backends: Backends,
    cfg: CompactConfig,
    limits: QueryLimits,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<(), BatchError> {
    if cfg.every_minutes == 0 {
        shutdown.cancelled().await;
        return Ok(());
    }
    let every = std::time::Duration::from_secs(cfg.every_minutes * 60);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return Ok(()),
        }
        if let Err(error) = compact(&backends, &cfg, &limits).await {
            metrics::counter!("lambda_compaction_failures_total").increment(1);
            tracing::warn!(%error, "Compaction failed; the master dataset is unchanged.");
        }
    }
}
