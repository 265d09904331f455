//! The [`EventLog`] port: an append-only, partitioned log with consumer groups (Kafka's model).

use crate::Result;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::time::Duration;

/// A record to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    /// Partitioning key (the author id for posts); records with one key keep their order.
    pub key: Vec<u8>,
    /// The payload (Avro for posts).
    pub value: Vec<u8>,
    /// Headers, e.g. the rejection reason on the dead-letter topic.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Where a record was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Partition number, from 0.
    pub partition: u32,
    /// Offset within the partition, from 0, dense and increasing.
    pub offset: u64,
}

/// A record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Partition number.
    pub partition: u32,
    /// Offset within the partition.
    pub offset: u64,
    /// Append time, epoch milliseconds.
    pub timestamp_ms: i64,
    /// Partitioning key.
    pub key: Vec<u8>,
    /// Payload.
    pub value: Vec<u8>,
    /// Headers.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// What one [`LogConsumer::poll`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerEvent {
    /// Records, in offset order within each partition. Empty when the timeout passed.
    Records(Vec<LogRecord>),
    /// These partitions were assigned to this consumer; consumption starts at the group's
    /// committed offset (or 0).
    Assigned(Vec<u32>),
    /// These partitions are being taken away: flush what was read from them and commit, now.
    Revoked(Vec<u32>),
}

/// A partitioned, append-only event log.
///
/// Required behaviour, relied on by every component and checked by
/// [`crate::conformance::event_log`]:
/// - `append` returns only once the records are durable (Kafka: `acks=all`), and returns their
///   positions in the order given. Records with the same key go to the same partition.
/// - offsets are dense from 0 within a partition, and a consumer sees each partition in order.
/// - a consumer of group `g` starts every assigned partition at `g`'s committed offset, or 0.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Creates the topic if it is missing, and returns its number of partitions.
    async fn ensure_topic(&self, topic: &str) -> Result<u32>;

    /// Appends records durably, returning where each was stored.
    async fn append(&self, topic: &str, records: Vec<NewRecord>) -> Result<Vec<Position>>;

    /// The next offset to be written, per partition (the high watermark).
    async fn end_offsets(&self, topic: &str) -> Result<BTreeMap<u32, u64>>;

    /// The offsets committed by `group`, per partition (absent: never committed).
    async fn committed_offsets(&self, topic: &str, group: &str) -> Result<BTreeMap<u32, u64>>;

    /// Joins consumer group `group` on `topic`.
    async fn consumer(&self, topic: &str, group: &str) -> Result<Box<dyn LogConsumer>>;

    /// A short description for logs and the status endpoint (`embedded:./data`, `kafka://...`).
    fn describe(&self) -> String;
}

/// One member of a consumer group.
#[async_trait]
pub trait LogConsumer: Send {
    /// Waits up to `timeout` for records (at most `max_records`) or a rebalance.
    async fn poll(&mut self, max_records: usize, timeout: Duration) -> Result<ConsumerEvent>;

    /// Commits, per partition, the next offset to read (everything before it is done).
    async fn commit(&mut self, offsets: &BTreeMap<u32, u64>) -> Result<()>;

    /// Moves the read position of an assigned partition.
    async fn seek(&mut self, partition: u32, offset: u64) -> Result<()>;

    /// The partitions assigned to this consumer now.
    fn assignment(&self) -> Vec<u32>;
}

/// Partition for a key, the same on every backend that lets us choose (murmur2 is Kafka's; we
/// use FNV-1a for the embedded log, which only needs stability).
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in key {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % partitions.max(1)
}

/// An [`EventLog`] whose topics and consumer groups all carry a prefix (`<namespace>.posts`,
/// `<namespace>.speed`), so several deployments or test runs can share one Kafka cluster.
pub struct NamespacedLog {
    inner: std::sync::Arc<dyn EventLog>,
    prefix: String,
}

impl NamespacedLog {
    /// Wraps `inner`, prefixing every topic and group with `namespace` and a dot.
    pub fn new(inner: std::sync::Arc<dyn EventLog>, namespace: &str) -> crate::Result<Self> {
        let valid = !namespace.is_empty()
            && namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            return Err(crate::PortError::Invalid(format!(
                "event log namespace `{namespace}`: use letters, digits, `-`, `_` and `.`"
            )));
        }
        Ok(NamespacedLog {
            inner,
            prefix: format!("{namespace}."),
        })
    }

    fn name(&self, s: &str) -> String {
        format!("{}{s}", self.prefix)
    }
}

#[async_trait]
impl EventLog for NamespacedLog {
    async fn ensure_topic(&self, topic: &str) -> Result<u32> {
        self.inner.ensure_topic(&self.name(topic)).await
    }

    async fn append(&self, topic: &str, records: Vec<NewRecord>) -> Result<Vec<Position>> {
        self.inner.append(&self.name(topic), records).await
    }

    async fn end_offsets(&self, topic: &str) -> Result<BTreeMap<u32, u64>> {
        self.inner.end_offsets(&self.name(topic)).await
    }

    async fn committed_offsets(&self, topic: &str, group: &str) -> Result<BTreeMap<u32, u64>> {
        self.inner
            .committed_offsets(&self.name(topic), &self.name(group))
            .await
    }

    async fn consumer(&self, topic: &str, group: &str) -> Result<Box<dyn LogConsumer>> {
        self.inner
            .consumer(&self.name(topic), &self.name(group))
            .await
    }

    fn describe(&self) -> String {
        format!(
            "{} (namespace {})",
            self.inner.describe(),
            self.prefix.trim_end_matches('.')
        )
    }
}
