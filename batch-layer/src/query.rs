//! DataFusion over the master dataset: a session with the view UDFs and the master table
//! registered from the files a manifest names.

use crate::BatchError;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use ports::{MasterDataset, MasterFile};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use views::master::master_schema;

/// Memory bounds of DataFusion queries (`[batch]`-level settings of the recompute and `sql`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct QueryLimits {
    /// Memory for a query's sorts, joins and aggregations, MiB. Past it, operators that can
    /// spill to disk do, so a dataset larger than memory still recomputes; others fail with
    /// "resources exhausted". 0: unbounded.
    pub memory_limit_mb: u64,
    /// Where spill files go (empty: the system's temporary directory).
    pub spill_dir: String,
    /// Rows per DataFusion batch.
    pub batch_size: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            memory_limit_mb: 1024,
            spill_dir: String::new(),
            batch_size: 8192,
        }
    }
}

/// A DataFusion session bounded by `limits`, with the view UDFs registered.
pub fn bounded_session(limits: &QueryLimits) -> Result<SessionContext, BatchError> {
    let mut runtime = RuntimeEnvBuilder::new();
    let mut config = SessionConfig::new().with_batch_size(limits.batch_size.max(1));
    if limits.memory_limit_mb > 0 {
        let bytes =
            usize::try_from(limits.memory_limit_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
        runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(bytes)));
        // An external sort sets aside memory for merging its spill files (10 MiB by default),
        // more than a small pool has: keep it to an eighth of the pool so the sort can spill.
        let reserve = (bytes / 8).min(10 << 20);
        config = config
            .with_sort_spill_reservation_bytes(reserve)
            .with_sort_in_place_threshold_bytes(reserve);
    }
    if !limits.spill_dir.is_empty() {
        runtime = runtime.with_disk_manager_builder(DiskManagerBuilder::default().with_mode(
            DiskManagerMode::Directories(vec![PathBuf::from(&limits.spill_dir)]),
        ));
    }
    let ctx = SessionContext::new_with_config_rt(config, runtime.build_arc()?);
    views::batch::register_udfs(&ctx);
    Ok(ctx)
}

/// A session with table `name` over `files` of `master`, and the view UDFs registered.
pub fn session_over(
    master: &dyn MasterDataset,
    files: &[MasterFile],
    name: &str,
) -> Result<SessionContext, BatchError> {
    session_over_with(master, files, name, &QueryLimits::default())
}

/// [`session_over`], bounded by `limits`.
pub fn session_over_with(
    master: &dyn MasterDataset,
    files: &[MasterFile],
    name: &str,
    limits: &QueryLimits,
) -> Result<SessionContext, BatchError> {
    let ctx = bounded_session(limits)?;
    let (store_url, store) = master.object_store();
    ctx.register_object_store(&store_url, store);
    if files.is_empty() {
        ctx.register_table(
            name,
            Arc::new(MemTable::try_new(master_schema(), vec![vec![]])?),
        )?;
        return Ok(ctx);
    }
    let urls = files
        .iter()
        .map(|f| ListingTableUrl::parse(master.file_url(f).as_str()))
        .collect::<Result<Vec<_>, _>>()?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(master_schema());
    ctx.register_table(name, Arc::new(ListingTable::try_new(config)?))?;
    Ok(ctx)
}
