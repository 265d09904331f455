//! The batch layer: keeps every post in the Parquet master dataset ([`ingest`]) and rebuilds the
//! batch views from all of history with DataFusion ([`recompute`]), ending in the coordinator flip
//! (or leaving a shadow pair to compare with the active one, [`diff`]); ad hoc SQL over the
//! master dataset, as of any past time ([`sql`]); compaction of its small files ([`compact`]).
//!
//! One decision explained: the recompute is a step machine ([`recompute::Recompute::advance`])
//! rather than one long function, so that the merge property test can interleave its steps with
//! ingestion and speed flushes in any order, and so that progress can be reported at each step.

pub mod compact;
pub mod diff;
pub mod ingest;
pub mod query;
pub mod recompute;
pub mod sql;

use ports::PortError;

/// Why a batch-layer operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// A backend failed.
    #[error(transparent)]
    Backend(#[from] PortError),
    /// DataFusion failed while computing the view.
    #[error("query engine: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// A Parquet file could not be written.
    #[error("parquet: {0}")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    /// The recompute waited too long for another component.
    #[error("{0}")]
    Timeout(String),
    /// The views file cannot be used.
    #[error(transparent)]
    Views(#[from] views::definitions::ViewsFileError),
}

impl BatchError {
    /// Whether retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, BatchError::Backend(e) if e.is_retryable())
    }
}
