//! [`CassandraViewStore`]: the [`ViewStore`] port over the scylla driver.

use crate::error;
use crate::options::{CassandraOptions, ClusterUrl};
use crate::schema::{Schema, Stmt};
use async_trait::async_trait;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt, stream};
use model::{SLOT_MILLIS, SlotKey, SlotStart};
use ports::{
    BatchTable, HashtagCount, PortError, Result, SlotCount, SpeedTable, ViewStore, ViewTable,
};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::serialize::row::SerializeRow;
use scylla::serialize::value::SerializeValue;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::unprepared::Statement;
use scylla::value::{Counter, CqlDate, CqlValue};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

const DAY_MILLIS: i64 = 86_400_000;
const HOUR_MILLIS: i64 = 3_600_000;
const MINUTE_MILLIS: i64 = 60_000;
/// The `(hour, min_5)` of a day's first and last slots.
const DAY_FIRST: (u8, u8) = (0, 0);
const DAY_LAST: (u8, u8) = (23, 55);

/// The [`ViewStore`] on Apache Cassandra (5.0) or ScyllaDB, through the scylla driver.
///
/// Open it with [`CassandraViewStore::connect`]; create the schema with
/// [`ViewStore::migrate`]. The tables and why each view table has a by-slot companion are
/// described in the crate docs. One value serves the whole process: it holds the driver's
/// session (a connection pool per node) and a cache of prepared statements.
pub struct CassandraViewStore {
    session: Session,
    url: String,
    keyspace: String,
    schema: Schema,
    options: CassandraOptions,
    prepared: Mutex<HashMap<(ViewTable, Stmt), PreparedStatement>>,
}

impl std::fmt::Debug for CassandraViewStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CassandraViewStore")
            .field("url", &self.url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The bound rows of one request: statements of one table for one partition.
type Chunk<R> = Vec<R>;

/// A cell of the by-hashtag table as its write statement binds it: `(value, hashtag, date, hour, min_5)`.
type ByTagRow<'a, V> = (V, &'a str, CqlDate, i32, i32);
/// A cell of the by-slot table as its write statement binds it: `(value, date, hour, min_5, hashtag)`.
type BySlotRow<'a, V> = (V, CqlDate, i32, i32, &'a str);

/// A TLS client configuration trusting the certificate authorities in the PEM file `ca_file`.
fn tls_config(ca_file: &str) -> Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let invalid =
        |why: String| PortError::Invalid(format!("cassandra.tls-ca-file {ca_file}: {why}"));
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_file).map_err(|e| invalid(e.to_string()))?;
    for cert in certs {
        roots
            .add(cert.map_err(|e| invalid(e.to_string()))?)
            .map_err(|e| invalid(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(invalid("no certificate in the file".into()));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| invalid(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

impl CassandraViewStore {
    /// Connects to the cluster at `url` (`cassandra://host:port[,host:port...]/keyspace`, or
    /// `scylla://...`) with the default [`CassandraOptions`].
    ///
    /// Fails with [`PortError::Invalid`] for a malformed URL and [`PortError::Unavailable`]
    /// when no contact point answers within the connect timeout. The keyspace need not exist
    /// yet: [`ViewStore::migrate`] creates it.
    pub async fn connect(url: &str) -> Result<Arc<Self>> {
        Self::connect_with(url, CassandraOptions::default()).await
    }

    /// Like [`CassandraViewStore::connect`], with explicit options.
    pub async fn connect_with(url: &str, options: CassandraOptions) -> Result<Arc<Self>> {
        options.validate()?;
        let parsed = ClusterUrl::parse(url)?;
        let profile = ExecutionProfile::builder()
            .request_timeout(Some(options.request_timeout()))
            .build()
            .into_handle();
        let mut builder = SessionBuilder::new()
            .known_nodes(&parsed.nodes)
            .connection_timeout(options.connect_timeout())
            .schema_agreement_timeout(options.schema_timeout())
            .default_execution_profile_handle(profile);
        if !options.username.is_empty() {
            builder = builder.user(&options.username, options.password.expose());
        }
        if !options.tls_ca_file.is_empty() {
            builder = builder.tls_context(Some(tls_config(&options.tls_ca_file)?));
        }
        // The driver bounds each connection attempt; this bounds the whole start-up (name
        // resolution, the control connection, the first metadata fetch) as well.
        let limit = options.connect_timeout() * 3;
        let session = match tokio::time::timeout(limit, builder.build()).await {
            Ok(Ok(session)) => session,
            Ok(Err(e)) => return Err(error::new_session(url, &e)),
            Err(_) => {
                return Err(PortError::Unavailable(format!(
                    "cannot reach Cassandra at {url}: no contact point answered within {} ms",
                    limit.as_millis()
                )));
            }
        };
        tracing::info!(url, keyspace = %parsed.keyspace, "Connected to Cassandra.");
        Ok(Arc::new(CassandraViewStore {
            session,
            url: url.to_string(),
            schema: Schema::new(&parsed.keyspace),
            keyspace: parsed.keyspace,
            options,
            prepared: Mutex::new(HashMap::new()),
        }))
    }

    /// The driver session, for administration the port does not cover (tests drop their
    /// keyspace with it). Statements run on it bypass the port's error classification.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The keyspace of the view tables (lower case).
    pub fn keyspace(&self) -> &str {
        &self.keyspace
    }

    /// The options this store was opened with.
    pub fn options(&self) -> &CassandraOptions {
        &self.options
    }

    /// The prepared statement `stmt` on `table`, prepared on first use and cached.
    async fn prepared(&self, table: ViewTable, stmt: Stmt) -> Result<PreparedStatement> {
        if let Some(p) = self.cache().get(&(table, stmt)) {
            return Ok(p.clone());
        }
        let what = format!("prepare for {table}");
        let mut p = self
            .session
            .prepare(self.schema.cql(table, stmt))
            .await
            .map_err(|e| error::prepare(&what, &e))?;
        // Counter increments must never be retried by the driver when it cannot know whether
        // they were applied (they would count twice); everything else may be.
        p.set_is_idempotent(stmt.is_idempotent());
        p.set_page_size(self.options.page_size);
        self.cache().insert((table, stmt), p.clone());
        Ok(p)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<(ViewTable, Stmt), PreparedStatement>> {
        // The map is only ever inserted into, so a poisoned lock still holds a usable map.
        self.prepared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs a schema statement (DDL, `TRUNCATE`) with the schema timeout.
    async fn schema_statement(&self, what: &str, cql: String) -> Result<()> {
        let mut st = Statement::new(cql);
        st.set_request_timeout(Some(self.options.schema_timeout()));
        st.set_is_idempotent(true);
        self.session
            .query_unpaged(st, ())
            .await
            .map_err(|e| error::execution(what, &e))?;
        Ok(())
    }

    /// Writes one chunk: a single statement alone, more as one batch of `kind` (all for one
    /// partition).
    /// Writes cells (one value per hashtag and slot) to both tables of a view: grouped by
    /// partition, in batches of at most `max_batch_statements`, with bounded concurrency. Both
    /// statements bind `(value, key columns...)`.
    async fn write_cells<V>(
        &self,
        view: ViewTable,
        cells: &[((&str, SlotStart), V)],
        (by_tag_stmt, by_slot_stmt): (Stmt, Stmt),
        kind: BatchType,
        verb: &str,
    ) -> Result<()>
    where
        V: SerializeValue + Copy + Send + Sync,
    {
        if cells.is_empty() {
            return Ok(());
        }
        let mut by_tag: BTreeMap<(&str, i32), Vec<ByTagRow<'_, V>>> = BTreeMap::new();
        let mut by_slot: BTreeMap<SlotStart, Vec<BySlotRow<'_, V>>> = BTreeMap::new();
        for &((hashtag, slot), value) in cells {
            let key = slot.key();
            let (date, hour, min_5) = bind_key(key);
            by_tag
                .entry((hashtag, key.days_since_epoch()))
                .or_default()
                .push((value, hashtag, date, hour, min_5));
            by_slot
                .entry(slot)
                .or_default()
                .push((value, date, hour, min_5, hashtag));
        }
        let tag_stmt = self.prepared(view, by_tag_stmt).await?;
        let slot_stmt = self.prepared(view, by_slot_stmt).await?;
        let what = format!("{verb} {view}");
        let max = self.options.max_batch_statements;
        let mut jobs: Vec<BoxFuture<'_, Result<()>>> = Vec::new();
        for rows in by_tag.into_values() {
            for chunk in chunks(rows, max) {
                jobs.push(self.write_chunk(&what, &tag_stmt, kind, chunk).boxed());
            }
        }
        for rows in by_slot.into_values() {
            for chunk in chunks(rows, max) {
                jobs.push(self.write_chunk(&what, &slot_stmt, kind, chunk).boxed());
            }
        }
        self.run_bounded(jobs).await
    }

    async fn write_chunk<R>(
        &self,
        what: &str,
        stmt: &PreparedStatement,
        kind: BatchType,
        rows: Chunk<R>,
    ) -> Result<()>
    where
        R: SerializeRow + Send + Sync,
    {
        let result = if let [row] = rows.as_slice() {
            self.session.execute_unpaged(stmt, row).await.map(|_| ())
        } else {
            let mut batch = Batch::new(kind);
            for _ in &rows {
                batch.append_statement(stmt.clone());
            }
            batch.set_is_idempotent(stmt.get_is_idempotent());
            self.session.batch(&batch, &rows).await.map(|_| ())
        };
        result.map_err(|e| error::execution(what, &e))
    }

    /// Runs `jobs` with at most `concurrency` in flight; stops at the first error.
    async fn run_bounded(&self, jobs: Vec<BoxFuture<'_, Result<()>>>) -> Result<()> {
        stream::iter(jobs)
            .buffer_unordered(self.options.concurrency)
            .try_collect::<()>()
            .await
    }

    /// One hashtag's cells in one date partition between two `(hour, min_5)` bounds, in time
    /// order, zeros left out.
    async fn series_in_day(
        &self,
        table: ViewTable,
        stmt: &PreparedStatement,
        hashtag: &str,
        day: i32,
        lo: (u8, u8),
        hi: (u8, u8),
    ) -> Result<Vec<SlotCount>> {
        let what = format!("read series from {table}");
        let values = (
            hashtag,
            cql_date(day),
            i32::from(lo.0),
            i32::from(lo.1),
            i32::from(hi.0),
            i32::from(hi.1),
        );
        let rows = self
            .session
            .execute_unpaged(stmt, values)
            .await
            .map_err(|e| error::execution(&what, &e))?
            .into_rows_result()
            .map_err(|e| error::shape(&what, &e))?;
        let mut out = Vec::new();
        for row in rows
            .rows::<(i32, i32, Option<CqlValue>)>()
            .map_err(|e| error::shape(&what, &e))?
        {
            let (hour, min_5, occurrences) = row.map_err(|e| error::shape(&what, &e))?;
            let count = count_of(&what, occurrences)?;
            if count != 0 {
                out.push(SlotCount {
                    hashtag: hashtag.to_string(),
                    slot: slot_of(&what, day, hour, min_5)?,
                    count,
                });
            }
        }
        Ok(out)
    }

    /// Every hashtag's cell in one slot partition of a by-slot table.
    async fn slot_cells(
        &self,
        table: ViewTable,
        stmt: &PreparedStatement,
        slot: SlotStart,
    ) -> Result<Vec<(String, i64)>> {
        let what = format!("read slot totals from {table}");
        let key = slot.key();
        let values = (
            cql_date(key.days_since_epoch()),
            i32::from(key.hour),
            i32::from(key.min_5),
        );
        let mut rows = self
            .session
            .execute_iter(stmt.clone(), values)
            .await
            .map_err(|e| error::pager(&what, &e))?
            .rows_stream::<(String, Option<CqlValue>)>()
            .map_err(|e| error::shape(&what, &e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().await {
            let (hashtag, occurrences) = row.map_err(|e| error::next_row(&what, &e))?;
            out.push((hashtag, count_of(&what, occurrences)?));
        }
        Ok(out)
    }
}

#[async_trait]
impl ViewStore for CassandraViewStore {
    async fn migrate(&self) -> Result<()> {
        self.schema_statement(
            "create keyspace",
            self.schema.create_keyspace(self.options.replication_factor),
        )
        .await?;
        for table in ViewTable::ALL {
            for cql in self.schema.create_tables(table) {
                self.schema_statement(&format!("create table {table}"), cql)
                    .await?;
            }
        }
        self.session
            .await_schema_agreement()
            .await
            .map_err(|e| error::schema_agreement(&e))?;
        tracing::info!(keyspace = %self.keyspace, "The view tables are in place.");
        Ok(())
    }

    async fn add_increments(&self, table: SpeedTable, increments: &[SlotCount]) -> Result<()> {
        let view = ViewTable::Speed(table);
        // Sum increments of the same cell first: counters add, so this changes nothing but
        // the number of statements.
        let mut cells: BTreeMap<(&str, SlotStart), i64> = BTreeMap::new();
        for inc in increments {
            let slot = SlotStart::containing(inc.slot.0);
            let cell = cells.entry((inc.hashtag.as_str(), slot)).or_default();
            *cell = cell.checked_add(inc.count).ok_or_else(|| {
                PortError::Invalid(format!(
                    "increments of `{}` in slot {} overflow a 64-bit counter",
                    inc.hashtag,
                    inc.slot.to_rfc3339()
                ))
            })?;
        }
        cells.retain(|_, count| *count != 0);
        if cells.is_empty() {
            return Ok(());
        }
        let cells: Vec<_> = cells.into_iter().map(|(k, v)| (k, Counter(v))).collect();
        self.write_cells(
            view,
            &cells,
            (Stmt::AddByTag, Stmt::AddBySlot),
            BatchType::Counter,
            "add increments to",
        )
        .await
    }

    async fn write_batch_rows(&self, table: BatchTable, rows: &[SlotCount]) -> Result<()> {
        let view = ViewTable::Batch(table);
        // The last row of a cell wins, as if the rows were written one by one (statements of
        // one batch share a timestamp, so duplicates there would not resolve in order).
        let mut cells: BTreeMap<(&str, SlotStart), i64> = BTreeMap::new();
        for r in rows {
            cells.insert(
                (r.hashtag.as_str(), SlotStart::containing(r.slot.0)),
                r.count,
            );
        }
        if cells.is_empty() {
            return Ok(());
        }
        let cells: Vec<_> = cells.into_iter().collect();
        self.write_cells(
            view,
            &cells,
            (Stmt::InsertByTag, Stmt::InsertBySlot),
            BatchType::Unlogged,
            "write rows to",
        )
        .await
    }

    async fn read_series(
        &self,
        table: ViewTable,
        hashtag: &str,
        from: SlotStart,
        to: SlotStart,
    ) -> Result<Vec<SlotCount>> {
        let Some((first, last)) = slot_range(from, to) else {
            return Ok(Vec::new());
        };
        let stmt = self.prepared(table, Stmt::Series).await?;
        let (fk, lk) = (first.key(), last.key());
        let (first_day, last_day) = (fk.days_since_epoch(), lk.days_since_epoch());
        let days: Vec<Vec<SlotCount>> = stream::iter(first_day..=last_day)
            .map(|day| {
                let lo = if day == first_day {
                    (fk.hour, fk.min_5)
                } else {
                    DAY_FIRST
                };
                let hi = if day == last_day {
                    (lk.hour, lk.min_5)
                } else {
                    DAY_LAST
                };
                self.series_in_day(table, &stmt, hashtag, day, lo, hi)
            })
            .buffered(self.options.concurrency)
            .try_collect()
            .await?;
        Ok(days.into_iter().flatten().collect())
    }

    async fn hashtag_totals(
        &self,
        table: ViewTable,
        from: SlotStart,
        to: SlotStart,
    ) -> Result<Vec<HashtagCount>> {
        let Some((first, last)) = slot_range(from, to) else {
            return Ok(Vec::new());
        };
        let stmt = self.prepared(table, Stmt::SlotCells).await?;
        let slots =
            (0..=(last.0 - first.0) / SLOT_MILLIS).map(|i| SlotStart(first.0 + i * SLOT_MILLIS));
        let mut sums: BTreeMap<String, i64> = BTreeMap::new();
        let mut parts = stream::iter(slots)
            .map(|slot| self.slot_cells(table, &stmt, slot))
            .buffer_unordered(self.options.concurrency);
        while let Some(part) = parts.next().await {
            for (hashtag, count) in part? {
                let sum = sums.entry(hashtag).or_default();
                *sum = sum.saturating_add(count);
            }
        }
        Ok(sums
            .into_iter()
            .filter(|(_, count)| *count != 0)
            .map(|(hashtag, count)| HashtagCount { hashtag, count })
            .collect())
    }

    async fn search_hashtags(
        &self,
        table: ViewTable,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let what = format!("search hashtags in {table}");
        let stmt = self.prepared(table, Stmt::DistinctTags).await?;
        let mut rows = self
            .session
            .execute_iter(stmt, ())
            .await
            .map_err(|e| error::pager(&what, &e))?
            .rows_stream::<(String, CqlDate)>()
            .map_err(|e| error::shape(&what, &e))?;
        // Partitions come in token order: keep the `limit` smallest matches seen so far.
        let mut found: BTreeSet<String> = BTreeSet::new();
        while let Some(row) = rows.next().await {
            let (hashtag, _date) = row.map_err(|e| error::next_row(&what, &e))?;
            if hashtag.starts_with(prefix) && !found.contains(&hashtag) {
                found.insert(hashtag);
                if found.len() > limit {
                    found.pop_last();
                }
            }
        }
        Ok(found.into_iter().collect())
    }

    async fn truncate(&self, table: ViewTable) -> Result<()> {
        for cql in self.schema.truncate(table) {
            self.schema_statement(&format!("truncate {table}"), cql)
                .await?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}

/// The first and last slot starts in `from..=to`, or `None` when the range holds none.
fn slot_range(from: SlotStart, to: SlotStart) -> Option<(SlotStart, SlotStart)> {
    let first =
        SlotStart(from.0.checked_add(SLOT_MILLIS - 1)?.div_euclid(SLOT_MILLIS) * SLOT_MILLIS);
    let last = SlotStart::containing(to.0);
    (first <= last).then_some((first, last))
}

/// A CQL `date` from days since 1970-01-01 (the protocol counts from 2^31).
fn cql_date(days_since_epoch: i32) -> CqlDate {
    CqlDate(days_since_epoch.cast_unsigned() ^ (1 << 31))
}

/// The `(date, hour, min_5)` bind values of a slot.
fn bind_key(key: SlotKey) -> (CqlDate, i32, i32) {
    (
        cql_date(key.days_since_epoch()),
        i32::from(key.hour),
        i32::from(key.min_5),
    )
}

/// The slot stored as `(day, hour, min_5)`.
fn slot_of(what: &str, day: i32, hour: i32, min_5: i32) -> Result<SlotStart> {
    if !(0..24).contains(&hour) || !(0..60).contains(&min_5) || min_5 % 5 != 0 {
        return Err(error::shape(
            what,
            &format!("a cell at hour {hour}, min_5 {min_5}"),
        ));
    }
    Ok(SlotStart(
        i64::from(day) * DAY_MILLIS
            + i64::from(hour) * HOUR_MILLIS
            + i64::from(min_5) * MINUTE_MILLIS,
    ))
}

/// The count in an `occurrences` cell: a `counter` or a `bigint`; a missing one is zero.
fn count_of(what: &str, value: Option<CqlValue>) -> Result<i64> {
    match value {
        None => Ok(0),
        Some(CqlValue::Counter(Counter(c)) | CqlValue::BigInt(c)) => Ok(c),
        Some(other) => Err(error::shape(
            what,
            &format!("occurrences of type {other:?}"),
        )),
    }
}

/// Splits `rows` into chunks of at most `max`.
fn chunks<R>(rows: Vec<R>, max: usize) -> Vec<Vec<R>> {
    if rows.len() <= max {
        return vec![rows];
    }
    let mut out = Vec::with_capacity(rows.len().div_ceil(max));
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        out.push(rows.by_ref().take(max).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_trusts_the_authorities_of_a_pem_file_and_refuses_anything_else() {
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/test-ca.pem");
        assert!(tls_config(fixture).is_ok());
        let empty = std::env::temp_dir().join(format!("lt-empty-ca-{}.pem", std::process::id()));
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let refused = |path: &str| match tls_config(path) {
            Err(PortError::Invalid(m)) => m,
            Err(e) => panic!("{path}: expected Invalid, got {e}"),
            Ok(_) => panic!("{path}: expected an error"),
        };
        assert!(refused(empty.to_str().unwrap()).contains("no certificate"));
        assert!(refused("/nonexistent/ca.pem").contains("/nonexistent/ca.pem"));
        std::fs::remove_file(empty).unwrap();
    }

    #[test]
    fn dates_bind_as_days_from_two_to_the_31() {
        assert_eq!(cql_date(0), CqlDate(1 << 31));
        assert_eq!(cql_date(1), CqlDate((1 << 31) + 1));
        assert_eq!(cql_date(-1), CqlDate((1 << 31) - 1));
        let key = SlotStart(1_617_292_200_000).key();
        assert_eq!(
            cql_date(key.days_since_epoch()),
            CqlDate((1 << 31) + 18_718)
        );
    }

    #[test]
    fn stored_keys_round_trip_to_slots() {
        for slot in [0, 287, 288, 5_390_000, -1, -289] {
            let s = SlotStart(slot * SLOT_MILLIS);
            let k = s.key();
            assert_eq!(
                slot_of("t", k.days_since_epoch(), k.hour.into(), k.min_5.into()).unwrap(),
                s
            );
        }
        assert!(slot_of("t", 0, 24, 0).is_err());
        assert!(slot_of("t", 0, 1, 7).is_err());
    }

    #[test]
    fn slot_ranges_are_inclusive_and_aligned() {
        let s = |n: i64| SlotStart(n * SLOT_MILLIS);
        assert_eq!(slot_range(s(3), s(3)), Some((s(3), s(3))));
        assert_eq!(slot_range(s(4), s(3)), None);
        assert_eq!(
            slot_range(SlotStart(1), SlotStart(2 * SLOT_MILLIS + 1)),
            Some((s(1), s(2))),
            "unaligned bounds keep only whole slots inside"
        );
        assert_eq!(slot_range(SlotStart(1), SlotStart(2)), None);
    }

    #[test]
    fn chunks_are_bounded() {
        let c = chunks((0..250).collect::<Vec<_>>(), 100);
        assert_eq!(
            c.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![100, 100, 50]
        );
        assert_eq!(c.concat(), (0..250).collect::<Vec<_>>());
        assert_eq!(chunks(vec![1], 100), vec![vec![1]]);
    }

    #[test]
    fn counts_come_from_counters_and_bigints() {
        assert_eq!(
            count_of("t", Some(CqlValue::Counter(Counter(3)))).unwrap(),
            3
        );
        assert_eq!(count_of("t", Some(CqlValue::BigInt(-2))).unwrap(), -2);
        assert_eq!(count_of("t", None).unwrap(), 0);
        assert!(count_of("t", Some(CqlValue::Int(1))).is_err());
    }
}
