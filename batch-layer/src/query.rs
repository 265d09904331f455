//! DataFusion over the master dataset: a session with the view UDFs and the master table
//! registered from the files a manifest names.

use crate::BatchError;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::SessionContext;
use ports::{MasterDataset, MasterFile};
use std::sync::Arc;
use views::master::master_schema;

/// A session with table `name` over `files` of `master`, and the view UDFs registered.
pub fn session_over(
    master: &dyn MasterDataset,
    files: &[MasterFile],
    name: &str,
) -> Result<SessionContext, BatchError> {
    let ctx = SessionContext::new();
    views::batch::register_udfs(&ctx);
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
