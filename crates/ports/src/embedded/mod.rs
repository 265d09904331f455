//! The embedded backend: [`EmbeddedStore`], one redb file that is at once the event log, the view
//! store and the coordinator, for running everything on a laptop with no servers.
//!
//! It is a development default, not a cluster: one consumer per group receives every partition,
//! and several processes may share the file (redb's multi-writer mode), which is how
//! `lambda-trends recompute` works beside a running `lambda-trends up`. Changes made by another
//! process are seen by polling (a few hundred milliseconds); changes in this process at once.

mod log;
mod records;

use crate::{
    Coordinator, HashtagCount, PortError, Result, SlotCount, SpeedTable, Versioned, ViewStore,
    ViewTable,
};
use async_trait::async_trait;
use model::SlotStart;
use redb::{
    ConcurrencyMode, Database, ReadableDatabase, ReadableTable, TableDefinition, TableError,
};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};

pub use log::EmbeddedConsumer;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "lambda-trends.redb";

/// How often changes made by other processes are looked for.
const CROSS_PROCESS_POLL: Duration = Duration::from_millis(250);

const COORD: TableDefinition<&str, (u64, &[u8])> = TableDefinition::new("coord");
const COORD_SEQ: TableDefinition<&str, u64> = TableDefinition::new("coord_seq");

/// redb-backed [`crate::EventLog`], [`ViewStore`] and [`Coordinator`] in one file.
pub struct EmbeddedStore {
    db: Database,
    path: PathBuf,
    partitions: u32,
    appended: Notify,
    watches: Mutex<HashMap<String, watch::Sender<Option<Versioned>>>>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.path)
            .finish()
    }
}

pub(crate) fn storage(e: impl std::fmt::Display) -> PortError {
    PortError::Unavailable(format!("embedded store: {e}"))
}

/// Names of the two redb tables behind a view table: by (hashtag, slot) and by (slot, hashtag).
fn view_table_names(table: ViewTable) -> (String, String) {
    (
        format!("view.{}", table.name()),
        format!("view.{}.by_slot", table.name()),
    )
}

type ByTag<'a> = TableDefinition<'a, (&'static str, i64), i64>;
type BySlot<'a> = TableDefinition<'a, (i64, &'static str), i64>;

impl EmbeddedStore {
    /// Opens (creating if needed) the store in `dir`. New topics get `partitions` partitions.
    pub fn open(dir: &Path, partitions: u32) -> Result<Arc<Self>> {
        std::fs::create_dir_all(dir)
            .map_err(|e| PortError::Invalid(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(DB_FILE);
        let db = Database::builder()
            .set_concurrency_mode(ConcurrencyMode::MultiWriter)
            .create(&path)
            .map_err(|e| PortError::Invalid(format!("cannot open {}: {e}", path.display())))?;
        Ok(Arc::new(EmbeddedStore {
            db,
            path,
            partitions: partitions.max(1),
            appended: Notify::new(),
            watches: Mutex::new(HashMap::new()),
        }))
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs blocking database work off the async threads.
    async fn blocking<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&EmbeddedStore) -> Result<T> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(&this))
            .await
            .map_err(|e| PortError::Internal(format!("embedded store task failed: {e}")))?
    }

    /// A hashtag's non-zero cells in slots `from..=to` of each of `tables`, from one read
    /// transaction (one snapshot). It runs on the calling task, not the blocking pool: one
    /// hashtag's range is a few B-tree pages of redb's cache (serving caps a page at 10,000
    /// points), cheaper to read than to hand off to another thread and back.
    async fn read_series_tables(
        self: &Arc<Self>,
        tables: Vec<ViewTable>,
        hashtag: &str,
        from: SlotStart,
        to: SlotStart,
    ) -> Result<Vec<Vec<SlotCount>>> {
        let read = |s: &EmbeddedStore| {
            let txn = s.db.begin_read().map_err(storage)?;
            let mut out = Vec::with_capacity(tables.len());
            for table in tables {
                let (a, _) = view_table_names(table);
                let mut series = Vec::new();
                if let Some(t) = open_or_none(&txn, ByTag::new(&a))? {
                    for item in t
                        .range((hashtag, from.0)..=(hashtag, to.0))
                        .map_err(storage)?
                    {
                        let (k, v) = item.map_err(storage)?;
                        let count = v.value();
                        if count != 0 {
                            series.push(SlotCount {
                                hashtag: hashtag.to_string(),
                                slot: SlotStart(k.value().1),
                                count,
                            });
                        }
                    }
                }
                out.push(series);
            }
            Ok(out)
        };
        read(self)
    }

    fn coord_get(&self, path: &str) -> Result<Option<Versioned>> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = match txn.open_table(COORD) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(storage(e)),
        };
        Ok(table.get(path).map_err(storage)?.map(|g| {
            let (version, data) = g.value();
            Versioned {
                data: data.to_vec(),
                version,
            }
        }))
    }

    fn publish(&self, path: &str, value: Option<Versioned>) {
        let watches = self.watches.lock().expect("watch registry poisoned");
        if let Some(tx) = watches.get(path) {
            tx.send_if_modified(|cur| {
                let newer = match (&*cur, &value) {
                    (Some(c), Some(v)) => v.version != c.version || v.data != c.data,
                    (None, None) => false,
                    _ => true,
                };
                if newer {
                    *cur = value.clone();
                }
                newer
            });
        }
    }
}

fn open_or_none<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &redb::ReadTransaction,
    def: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>> {
    match txn.open_table(def) {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(storage(e)),
    }
}

#[async_trait]
impl ViewStore for Arc<EmbeddedStore> {
    async fn migrate(&self) -> Result<()> {
        self.blocking(|s| {
            let txn = s.db.begin_write().map_err(storage)?;
            for table in ViewTable::ALL {
                let (a, b) = view_table_names(table);
                txn.open_table(ByTag::new(&a)).map_err(storage)?;
                txn.open_table(BySlot::new(&b)).map_err(storage)?;
            }
            txn.commit().map_err(storage)
        })
        .await
    }

    async fn add_increments(&self, table: SpeedTable, increments: &[SlotCount]) -> Result<()> {
        let rows = increments.to_vec();
        self.blocking(move |s| write_cells(s, ViewTable::Speed(table), &rows, true))
            .await
    }

    async fn write_batch_rows(&self, table: crate::BatchTable, rows: &[SlotCount]) -> Result<()> {
        let rows = rows.to_vec();
        self.blocking(move |s| write_cells(s, ViewTable::Batch(table), &rows, false))
            .await
    }

    async fn read_series(
        &self,
        table: ViewTable,
        hashtag: &str,
        from: SlotStart,
        to: SlotStart,
    ) -> Result<Vec<SlotCount>> {
        let mut series = self
            .read_series_tables(vec![table], hashtag, from, to)
            .await?;
        Ok(series.pop().unwrap_or_default())
    }

    async fn read_series_pair(
        &self,
        tables: [ViewTable; 2],
        hashtag: &str,
        from: SlotStart,
        to: SlotStart,
    ) -> Result<[Vec<SlotCount>; 2]> {
        let mut v = self
            .read_series_tables(tables.to_vec(), hashtag, from, to)
            .await?;
        let b = v.pop().unwrap_or_default();
        let a = v.pop().unwrap_or_default();
        Ok([a, b])
    }

    async fn hashtag_totals(
        &self,
        table: ViewTable,
        from: SlotStart,
        to: SlotStart,
    ) -> Result<Vec<HashtagCount>> {
        self.blocking(move |s| {
            let (_, b) = view_table_names(table);
            let txn = s.db.begin_read().map_err(storage)?;
            let Some(t) = open_or_none(&txn, BySlot::new(&b))? else {
                return Ok(Vec::new());
            };
            let mut sums: BTreeMap<String, i64> = BTreeMap::new();
            for item in t.range((from.0, "")..(to.0 + 1, "")).map_err(storage)? {
                let (k, v) = item.map_err(storage)?;
                *sums.entry(k.value().1.to_string()).or_default() += v.value();
            }
            Ok(sums
                .into_iter()
                .filter(|(_, c)| *c != 0)
                .map(|(hashtag, count)| HashtagCount { hashtag, count })
                .collect())
        })
        .await
    }

    async fn search_hashtags(
        &self,
        table: ViewTable,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>> {
        let prefix = prefix.to_string();
        self.blocking(move |s| {
            let (a, _) = view_table_names(table);
            let txn = s.db.begin_read().map_err(storage)?;
            let Some(t) = open_or_none(&txn, ByTag::new(&a))? else {
                return Ok(Vec::new());
            };
            let mut out: Vec<String> = Vec::new();
            for item in t.range((prefix.as_str(), i64::MIN)..).map_err(storage)? {
                let (k, _) = item.map_err(storage)?;
                let tag = k.value().0;
                if !tag.starts_with(prefix.as_str()) || out.len() >= limit {
                    break;
                }
                if out.last().map(String::as_str) != Some(tag) {
                    out.push(tag.to_string());
                }
            }
            Ok(out)
        })
        .await
    }

    async fn truncate(&self, table: ViewTable) -> Result<()> {
        self.blocking(move |s| {
            let (a, b) = view_table_names(table);
            let txn = s.db.begin_write().map_err(storage)?;
            txn.delete_table(ByTag::new(&a)).map_err(storage)?;
            txn.delete_table(BySlot::new(&b)).map_err(storage)?;
            txn.open_table(ByTag::new(&a)).map_err(storage)?;
            txn.open_table(BySlot::new(&b)).map_err(storage)?;
            txn.commit().map_err(storage)
        })
        .await
    }

    fn describe(&self) -> String {
        format!("embedded:{}", self.path.display())
    }
}

fn write_cells(s: &EmbeddedStore, table: ViewTable, rows: &[SlotCount], add: bool) -> Result<()> {
    let (a, b) = view_table_names(table);
    // Each index is written in its own key order: B-tree appends and neighbouring inserts touch
    // few pages, where the rows' own order (a hash aggregate's) would touch one page per row.
    // Later rows of the same cell win (a plain write) or add up (an increment), as one by one.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&x, &y| {
        (rows[x].hashtag.as_str(), rows[x].slot).cmp(&(rows[y].hashtag.as_str(), rows[y].slot))
    });
    let mut cells: Vec<(&str, i64, i64)> = Vec::with_capacity(rows.len());
    for &i in &order {
        let r = &rows[i];
        match cells.last_mut() {
            Some(last) if last.0 == r.hashtag && last.1 == r.slot.0 => {
                last.2 = if add { last.2 + r.count } else { r.count };
            }
            _ => cells.push((r.hashtag.as_str(), r.slot.0, r.count)),
        }
    }
    let txn = s.db.begin_write().map_err(storage)?;
    {
        let mut by_tag = txn.open_table(ByTag::new(&a)).map_err(storage)?;
        for cell in &mut cells {
            let key = (cell.0, cell.1);
            if add {
                cell.2 += by_tag.get(key).map_err(storage)?.map_or(0, |g| g.value());
            }
            by_tag.insert(key, cell.2).map_err(storage)?;
        }
    }
    cells.sort_unstable_by(|x, y| (x.1, x.0).cmp(&(y.1, y.0)));
    {
        let mut by_slot = txn.open_table(BySlot::new(&b)).map_err(storage)?;
        for (tag, slot, value) in &cells {
            by_slot.insert((*slot, *tag), *value).map_err(storage)?;
        }
    }
    txn.commit().map_err(storage)
}

#[async_trait]
impl Coordinator for Arc<EmbeddedStore> {
    async fn get(&self, path: &str) -> Result<Option<Versioned>> {
        let path = path.to_string();
        self.blocking(move |s| s.coord_get(&path)).await
    }

    async fn compare_and_set(&self, path: &str, data: &[u8], expected: Option<u64>) -> Result<u64> {
        let (path, data) = (path.to_string(), data.to_vec());
        let this = self.clone();
        let (version, path, data) = self
            .blocking(move |s| {
                let txn = s.db.begin_write().map_err(storage)?;
                let version = {
                    let mut t = txn.open_table(COORD).map_err(storage)?;
                    let current = t.get(path.as_str()).map_err(storage)?.map(|g| g.value().0);
                    let version = match (current, expected) {
                        (None, None) => 0,
                        (Some(c), Some(e)) if c == e => c + 1,
                        (c, e) => {
                            return Err(PortError::Conflict(format!(
                                "{path}: expected version {e:?}, found {c:?}"
                            )));
                        }
                    };
                    t.insert(path.as_str(), (version, data.as_slice()))
                        .map_err(storage)?;
                    version
                };
                txn.commit().map_err(storage)?;
                Ok((version, path, data))
            })
            .await?;
        this.publish(&path, Some(Versioned { data, version }));
        Ok(version)
    }

    async fn watch(&self, path: &str) -> Result<watch::Receiver<Option<Versioned>>> {
        let current = Coordinator::get(self, path).await?;
        let mut watches = self.watches.lock().expect("watch registry poisoned");
        if let Some(tx) = watches.get(path) {
            return Ok(tx.subscribe());
        }
        let (tx, rx) = watch::channel(current);
        watches.insert(path.to_string(), tx);
        // Another process may write the document: poll for that, while anyone watches.
        let weak = Arc::downgrade(self);
        let path = path.to_string();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(CROSS_PROCESS_POLL).await;
                let Some(store) = weak.upgrade() else { break };
                let alive = store
                    .watches
                    .lock()
                    .expect("watch registry poisoned")
                    .get(&path)
                    .is_some_and(|tx| tx.receiver_count() > 0);
                if !alive {
                    store
                        .watches
                        .lock()
                        .expect("watch registry poisoned")
                        .remove(&path);
                    break;
                }
                let p = path.clone();
                match store.blocking(move |s| s.coord_get(&p)).await {
                    Ok(v) => store.publish(&path, v),
                    Err(error) => {
                        tracing::warn!(%error, path, "Could not poll a watched document.")
                    }
                }
            }
        });
        Ok(rx)
    }

    async fn append_sequential(&self, prefix: &str, data: &[u8]) -> Result<String> {
        let (prefix, data) = (prefix.to_string(), data.to_vec());
        self.blocking(move |s| {
            let txn = s.db.begin_write().map_err(storage)?;
            let child = {
                let mut seq = txn.open_table(COORD_SEQ).map_err(storage)?;
                let n = seq
                    .get(prefix.as_str())
                    .map_err(storage)?
                    .map_or(0, |g| g.value());
                seq.insert(prefix.as_str(), n + 1).map_err(storage)?;
                let child = format!("{prefix}{n:010}");
                let mut t = txn.open_table(COORD).map_err(storage)?;
                t.insert(child.as_str(), (0u64, data.as_slice()))
                    .map_err(storage)?;
                child
            };
            txn.commit().map_err(storage)?;
            Ok(child)
        })
        .await
    }

    async fn children(&self, prefix: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>> {
        let prefix = prefix.to_string();
        self.blocking(move |s| {
            let txn = s.db.begin_read().map_err(storage)?;
            let Some(t) = open_or_none(&txn, COORD)? else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            for item in t.range(prefix.as_str()..).map_err(storage)? {
                let (k, v) = item.map_err(storage)?;
                let key = k.value();
                if !key.starts_with(prefix.as_str()) {
                    break;
                }
                if !key[prefix.len()..].contains('/') {
                    out.push((key.to_string(), v.value().1.to_vec()));
                }
            }
            let skip = out.len().saturating_sub(limit);
            Ok(out.split_off(skip))
        })
        .await
    }

    fn describe(&self) -> String {
        format!("embedded:{}", self.path.display())
    }
}
