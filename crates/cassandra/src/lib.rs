//! The [`ports::ViewStore`] on Apache Cassandra (5.0) or ScyllaDB, over the [`scylla`] driver.
//!
//! The main type is [`CassandraViewStore`], opened from a URL
//! `cassandra://host:port[,host:port...]/keyspace` (or `scylla://...`; a port left out is
//! 9042) and [`CassandraOptions`] by [`CassandraViewStore::connect_with`]. A cluster that does
//! not answer is [`ports::PortError::Unavailable`]. The same conformance suite as the embedded
//! store runs against a real node in `tests/`.
//!
//! # Schema
//!
//! [`ports::ViewStore::migrate`] creates the keyspace (`SimpleStrategy`, replication factor
//! [`CassandraOptions::replication_factor`]; an existing keyspace is left as it is) and, for
//! each of the thesis's four view tables (names from [`ports::SpeedTable::name`] and
//! [`ports::BatchTable::name`]), two tables, then waits for schema agreement:
//!
//! ```sql
//! -- speed_view_0, speed_view_1: occurrences counter; batch_view_a, batch_view_b: bigint
//! CREATE TABLE speed_view_0 (hashtag text, date date, hour int, min_5 int, occurrences counter,
//!     PRIMARY KEY ((hashtag, date), hour, min_5)) WITH CLUSTERING ORDER BY (hour DESC, min_5 DESC);
//! CREATE TABLE speed_view_0_by_slot (date date, hour int, min_5 int, hashtag text, occurrences counter,
//!     PRIMARY KEY ((date, hour, min_5), hashtag));
//! ```
//!
//! `(date, hour, min_5)` is [`model::SlotKey`]: the UTC date and the start of the 5-minute slot.
//!
//! # One decision explained: a by-slot companion per view table
//!
//! The thesis's tables are partitioned by `(hashtag, date)`: a hashtag's series
//! ([`ports::ViewStore::read_series`]) is one range read per date partition, newest first on
//! disk. But trending ([`ports::ViewStore::hashtag_totals`]: every hashtag's total over the last
//! slots) cannot be answered from them without scanning every partition of the table, since the
//! hashtags are what is being looked for. So each view table has a companion `<name>_by_slot`,
//! partitioned by the slot and clustered by hashtag, holding the same cells: trending reads one
//! partition per slot in the window (288 for a day) and sums per hashtag in the client.
//!
//! Every write goes to both tables. They are two writes, not one atomic one: a call that fails
//! half-way may leave one table ahead of the other (as it may leave some of its cells written
//! and others not). Retrying a failed `write_batch_rows` repairs both; a failed
//! `add_increments` is not retried by this crate at all (below), and the batch layer's next
//! recompute replaces the speed view anyway.
//!
//! # Writes
//!
//! - **Counters** ([`ports::ViewStore::add_increments`]): increments of one cell are summed,
//!   then sent as prepared `UPDATE ... SET occurrences = occurrences + ?` statements bound to
//!   [`scylla::value::Counter`], in `COUNTER` batches that each hold one partition and at most
//!   [`CassandraOptions::max_batch_statements`] statements, with at most
//!   [`CassandraOptions::concurrency`] batches in flight. Counter updates are not idempotent, so
//!   the statements are marked non-idempotent: the driver's retry policy then only retries
//!   errors that prove the write was not applied, never a timeout.
//! - **Batch rows** ([`ports::ViewStore::write_batch_rows`]): prepared upserts (`UPDATE … SET occurrences = ?`), the last row
//!   of a cell winning, in `UNLOGGED` single-partition batches under the same bounds; they are
//!   idempotent and may be retried.
//!
//! Server guardrails: a batch of 100 statements is a few KiB, under Cassandra's default
//! `batch_size_fail_threshold` (50 KiB); it may pass the default *warn* threshold (5 KiB),
//! which only logs. Lower `max-batch-statements` for a server with smaller limits.
//!
//! # Reads
//!
//! - `read_series`: one prepared range query per date partition in the range
//!   (`WHERE hashtag = ? AND date = ? AND (hour, min_5) >= (?, ?) AND (hour, min_5) <= (?, ?)`),
//!   in time order; zero counts are left out.
//! - `hashtag_totals`: one paged read per slot partition of the by-slot table, summed.
//! - `search_hashtags`: a paged `SELECT DISTINCT hashtag, date` scan of the by-hashtag table,
//!   filtered by prefix in the client and capped at `limit`. It is O(partitions of the table):
//!   fine for the views' size in development and tests, and the place where a later change may
//!   add a prefix index table.
//!
//! Reads and writes use the driver's default consistency, `LOCAL_QUORUM`, so a read sees every
//! write that returned before it started.

mod error;
mod options;
mod schema;
mod view_store;

pub use options::{CassandraOptions, DEFAULT_CQL_PORT};
pub use schema::{BY_SLOT_SUFFIX, by_slot_table_name};
pub use view_store::CassandraViewStore;
