//! The embedded [`EventLog`]: records in a redb table keyed by (topic, partition, offset).

use super::{CROSS_PROCESS_POLL, EmbeddedStore, open_or_none, records, storage};
use crate::event_log::partition_for_key;
use crate::{
    ConsumerEvent, EventLog, LogConsumer, LogRecord, NewRecord, PortError, Position, Result,
};
use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const LOG: TableDefinition<(&str, u32, u64), &[u8]> = TableDefinition::new("log");
const TOPICS: TableDefinition<&str, u32> = TableDefinition::new("log_topics");
const ENDS: TableDefinition<(&str, u32), u64> = TableDefinition::new("log_ends");
const COMMITS: TableDefinition<(&str, &str, u32), u64> = TableDefinition::new("log_commits");

impl EmbeddedStore {
    /// Takes the lock that makes a consumer the only member of `group` on `topic`.
    fn lock_membership(&self, topic: &str, group: &str) -> Result<std::fs::File> {
        let dir = self.path.with_file_name("locks");
        std::fs::create_dir_all(&dir)
            .map_err(|e| PortError::Invalid(format!("cannot create {}: {e}", dir.display())))?;
        let safe = |s: &str| {
            s.replace(
                |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_',
                "_",
            )
        };
        let path = dir.join(format!("{}.{}.lock", safe(topic), safe(group)));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| PortError::Invalid(format!("cannot open {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(PortError::Conflict(format!(
                "consumer group `{group}` of `{topic}` already has a member using {} (the embedded log allows one member per group: is another `lambda-trends up`, `speed` or `ingest` running on this data directory?)",
                self.path.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(PortError::Unavailable(format!(
                "cannot lock {}: {e}",
                path.display()
            ))),
        }
    }

    fn topic_partitions(&self, topic: &str) -> Result<Option<u32>> {
        let txn = self.db.begin_read().map_err(storage)?;
        let Some(t) = open_or_none(&txn, TOPICS)? else {
            return Ok(None);
        };
        Ok(t.get(topic).map_err(storage)?.map(|g| g.value()))
    }

    fn create_topic(&self, topic: &str) -> Result<u32> {
        let txn = self.db.begin_write().map_err(storage)?;
        let n = {
            let mut t = txn.open_table(TOPICS).map_err(storage)?;
            let existing = t.get(topic).map_err(storage)?.map(|g| g.value());
            match existing {
                Some(n) => n,
                None => {
                    t.insert(topic, self.partitions).map_err(storage)?;
                    self.partitions
                }
            }
        };
        txn.commit().map_err(storage)?;
        Ok(n)
    }

    fn read_range(
        &self,
        topic: &str,
        partition: u32,
        from: u64,
        max: usize,
    ) -> Result<Vec<LogRecord>> {
        let txn = self.db.begin_read().map_err(storage)?;
        let Some(t) = open_or_none(&txn, LOG)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for item in t
            .range((topic, partition, from)..=(topic, partition, u64::MAX))
            .map_err(storage)?
        {
            if out.len() >= max {
                break;
            }
            let (k, v) = item.map_err(storage)?;
            let (timestamp_ms, key, headers, value) = records::decode(v.value())?;
            out.push(LogRecord {
                partition,
                offset: k.value().2,
                timestamp_ms,
                key,
                value,
                headers,
            });
        }
        Ok(out)
    }
}

#[async_trait]
impl EventLog for Arc<EmbeddedStore> {
    async fn ensure_topic(&self, topic: &str) -> Result<u32> {
        let topic = topic.to_string();
        self.blocking(move |s| match s.topic_partitions(&topic)? {
            Some(n) => Ok(n),
            None => s.create_topic(&topic),
        })
        .await
    }

    async fn append(&self, topic: &str, records: Vec<NewRecord>) -> Result<Vec<Position>> {
        let partitions = self.ensure_topic(topic).await?;
        let topic = topic.to_string();
        let positions = self
            .blocking(move |s| {
                let now = chrono::Utc::now().timestamp_millis();
                let txn = s.db.begin_write().map_err(storage)?;
                let mut positions = Vec::with_capacity(records.len());
                {
                    let mut log = txn.open_table(LOG).map_err(storage)?;
                    let mut ends = txn.open_table(ENDS).map_err(storage)?;
                    let mut next: BTreeMap<u32, u64> = BTreeMap::new();
                    for r in &records {
                        let partition = partition_for_key(&r.key, partitions);
                        let offset = match next.get(&partition) {
                            Some(o) => *o,
                            None => ends
                                .get((topic.as_str(), partition))
                                .map_err(storage)?
                                .map_or(0, |g| g.value()),
                        };
                        let bytes = records::encode(now, &r.key, &r.headers, &r.value);
                        log.insert((topic.as_str(), partition, offset), bytes.as_slice())
                            .map_err(storage)?;
                        next.insert(partition, offset + 1);
                        positions.push(Position { partition, offset });
                    }
                    for (p, o) in next {
                        ends.insert((topic.as_str(), p), o).map_err(storage)?;
                    }
                }
                txn.commit().map_err(storage)?;
                Ok(positions)
            })
            .await?;
        self.appended.notify_waiters();
        Ok(positions)
    }

    async fn end_offsets(&self, topic: &str) -> Result<BTreeMap<u32, u64>> {
        let partitions = self.ensure_topic(topic).await?;
        let topic = topic.to_string();
        self.blocking(move |s| {
            let txn = s.db.begin_read().map_err(storage)?;
            let t = open_or_none(&txn, ENDS)?;
            let mut out = BTreeMap::new();
            for p in 0..partitions {
                let end = match &t {
                    Some(t) => t
                        .get((topic.as_str(), p))
                        .map_err(storage)?
                        .map_or(0, |g| g.value()),
                    None => 0,
                };
                out.insert(p, end);
            }
            Ok(out)
        })
        .await
    }

    async fn committed_offsets(&self, topic: &str, group: &str) -> Result<BTreeMap<u32, u64>> {
        let partitions = self.ensure_topic(topic).await?;
        let (topic, group) = (topic.to_string(), group.to_string());
        self.blocking(move |s| {
            let txn = s.db.begin_read().map_err(storage)?;
            let Some(t) = open_or_none(&txn, COMMITS)? else {
                return Ok(BTreeMap::new());
            };
            let mut out = BTreeMap::new();
            for p in 0..partitions {
                if let Some(g) = t
                    .get((group.as_str(), topic.as_str(), p))
                    .map_err(storage)?
                {
                    out.insert(p, g.value());
                }
            }
            Ok(out)
        })
        .await
    }

    async fn consumer(&self, topic: &str, group: &str) -> Result<Box<dyn LogConsumer>> {
        let partitions = self.ensure_topic(topic).await?;
        let membership = self.lock_membership(topic, group)?;
        Ok(Box::new(EmbeddedConsumer {
            _membership: membership,
            store: self.clone(),
            topic: topic.to_string(),
            group: group.to_string(),
            partitions: (0..partitions).collect(),
            positions: BTreeMap::new(),
            assigned: false,
            next_partition: 0,
        }))
    }

    fn describe(&self) -> String {
        format!("embedded:{}", self.path.display())
    }
}

/// A consumer of the embedded log. It is the only member of its group: it is assigned every
/// partition on its first poll, and while it lives a second member of the group, in this
/// process or another, is refused (two would each count every record).
pub struct EmbeddedConsumer {
    /// The group-membership lock file, held (locked) for the consumer's life.
    _membership: std::fs::File,
    store: Arc<EmbeddedStore>,
    topic: String,
    group: String,
    partitions: Vec<u32>,
    positions: BTreeMap<u32, u64>,
    assigned: bool,
    next_partition: usize,
}

#[async_trait]
impl LogConsumer for EmbeddedConsumer {
    async fn poll(&mut self, max_records: usize, timeout: Duration) -> Result<ConsumerEvent> {
        if !self.assigned {
            let committed = self
                .store
                .committed_offsets(&self.topic, &self.group)
                .await?;
            self.positions = self
                .partitions
                .iter()
                .map(|p| (*p, committed.get(p).copied().unwrap_or(0)))
                .collect();
            self.assigned = true;
            return Ok(ConsumerEvent::Assigned(self.partitions.clone()));
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.store.appended.notified();
            let (topic, positions, start) = (
                self.topic.clone(),
                self.positions.clone(),
                self.next_partition,
            );
            let order: Vec<u32> = (0..self.partitions.len())
                .map(|i| self.partitions[(start + i) % self.partitions.len()])
                .collect();
            let max = max_records.max(1);
            let batch = self
                .store
                .blocking(move |s| {
                    let mut out = Vec::new();
                    for p in order {
                        if out.len() >= max {
                            break;
                        }
                        let from = positions.get(&p).copied().unwrap_or(0);
                        out.extend(s.read_range(&topic, p, from, max - out.len())?);
                    }
                    Ok(out)
                })
                .await?;
            self.next_partition = (start + 1) % self.partitions.len().max(1);
            if !batch.is_empty() {
                for r in &batch {
                    self.positions.insert(r.partition, r.offset + 1);
                }
                return Ok(ConsumerEvent::Records(batch));
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(ConsumerEvent::Records(Vec::new()));
            }
            let wait = (deadline - now).min(CROSS_PROCESS_POLL);
            let _ = tokio::time::timeout(wait, notified).await;
        }
    }

    async fn commit(&mut self, offsets: &BTreeMap<u32, u64>) -> Result<()> {
        let (topic, group, offsets) = (self.topic.clone(), self.group.clone(), offsets.clone());
        self.store
            .blocking(move |s| {
                let txn = s.db.begin_write().map_err(storage)?;
                {
                    let mut t = txn.open_table(COMMITS).map_err(storage)?;
                    for (p, o) in offsets {
                        t.insert((group.as_str(), topic.as_str(), p), o)
                            .map_err(storage)?;
                    }
                }
                txn.commit().map_err(storage)
            })
            .await
    }

    async fn seek(&mut self, partition: u32, offset: u64) -> Result<()> {
        if !self.partitions.contains(&partition) {
            return Err(PortError::Invalid(format!(
                "partition {partition} is not assigned"
            )));
        }
        self.positions.insert(partition, offset);
        Ok(())
    }

    fn assignment(&self) -> Vec<u32> {
        if self.assigned {
            self.partitions.clone()
        } else {
            Vec::new()
        }
    }
}
