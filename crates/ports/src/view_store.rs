//! The [`ViewStore`] port: speed tables (counters) and batch tables (plain counts) of hashtag
//! occurrences per 5-minute slot.

use crate::{BatchTable, Result, SpeedTable, ViewTable};
use async_trait::async_trait;
use model::SlotStart;
use serde::{Deserialize, Serialize};

/// One cell of a view: a hashtag's count in one slot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SlotCount {
    /// Normalised hashtag key.
    pub hashtag: String,
    /// The slot.
    pub slot: SlotStart,
    /// The count (an increment when written to a speed table).
    pub count: i64,
}

/// A hashtag with a count summed over some slots.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HashtagCount {
    /// Normalised hashtag key.
    pub hashtag: String,
    /// The sum.
    pub count: i64,
}

/// Storage for the four view tables.
///
/// Required behaviour (checked by [`crate::conformance::view_store`]):
/// - `add_increments` adds to counters (not idempotent: the same call twice counts twice);
///   `write_batch_rows` sets plain counts.
/// - reads see every write that returned before the read started.
/// - `truncate` empties one table and leaves the others alone.
#[async_trait]
pub trait ViewStore: Send + Sync + 'static {
    /// Creates the tables if missing (Cassandra: `lambda-trends migrate`).
    async fn migrate(&self) -> Result<()>;

    /// Adds counter increments to a speed table.
    async fn add_increments(&self, table: SpeedTable, increments: &[SlotCount]) -> Result<()>;

    /// Writes rows of a batch table (overwriting a cell that exists).
    async fn write_batch_rows(&self, table: BatchTable, rows: &[SlotCount]) -> Result<()>;

    /// A hashtag's non-zero counts in slots `from..=to`, in time order.
    async fn read_series(
        &self,
        table: ViewTable,
        hashtag: &str,
        from: SlotStart,
        to: SlotStart,
    ) -> Result<Vec<SlotCount>>;

    /// [`ViewStore::read_series`] of two tables at once (a pair's batch and speed halves): the
    /// serving layer's hottest read. By default two concurrent reads; a store that can read
    /// both in one go (one snapshot, one trip) does.
    async fn read_series_pair(
        &self,
        tables: [ViewTable; 2],
        hashtag: &str,
        from: SlotStart,
        to: SlotStart,
    ) -> Result<[Vec<SlotCount>; 2]> {
        let (a, b) = futures::try_join!(
            self.read_series(tables[0], hashtag, from, to),
            self.read_series(tables[1], hashtag, from, to),
        )?;
        Ok([a, b])
    }

    /// Every hashtag's count summed over slots `from..=to` (the input of trending top-K; the
    /// caller merges tables before ranking, so nothing is cut here).
    async fn hashtag_totals(
        &self,
        table: ViewTable,
        from: SlotStart,
        to: SlotStart,
    ) -> Result<Vec<HashtagCount>>;

    /// Hashtags starting with `prefix` that have any count in `table`, at most `limit`.
    async fn search_hashtags(
        &self,
        table: ViewTable,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>>;

    /// Empties a table.
    async fn truncate(&self, table: ViewTable) -> Result<()>;

    /// A short description for logs and the status endpoint.
    fn describe(&self) -> String;
}
