//! The [`ports::EventLog`] on Apache Kafka, over librdkafka ([`rdkafka`], built from its
//! bundled sources).
//!
//! The main type is [`KafkaEventLog`], opened from a URL `kafka://host:port[,host:port...]` and
//! [`KafkaOptions`] by [`KafkaEventLog::connect`], which checks that a broker answers. It
//! appends with an idempotent producer (`enable.idempotence=true`, `acks=all`, Java's murmur2
//! partitioner, so one key always lands on one partition), creates missing topics with the
//! admin client, and reads watermarks and group offsets. Each [`ports::EventLog::consumer`] is
//! a [`KafkaConsumer`]: a member of a consumer group with manual commits
//! (`enable.auto.commit=false`, `auto.offset.reset=earliest`). The same conformance suite as
//! the embedded log runs against a real broker in `tests/`.
//!
//! # One decision explained: revocations wait for the caller's commit
//!
//! The port promises that on [`ports::ConsumerEvent::Revoked`] the caller can flush what it read
//! and commit *before* the partitions go to another member; otherwise the new owner would
//! re-read, and count again, everything since the last commit. librdkafka unassigns the
//! partitions as soon as its rebalance callback returns, and runs that callback on the thread
//! that polls. So each [`KafkaConsumer`] owns a `BaseConsumer` on a dedicated thread (a
//! `StreamConsumer` would run the callback inside the caller's own task, which cannot both wait
//! and be waited for), and the revoke callback:
//!
//! 1. answers the caller's pending `poll` with `Revoked(partitions)` (after any records or
//!    earlier events it still owed);
//! 2. keeps serving the caller's `commit`s from inside the callback: the group generation is
//!    still the old one, so they succeed, exactly like Java's `onPartitionsRevoked`;
//! 3. returns, letting librdkafka unassign and the group move on, only when the caller calls
//!    `poll` again — that next `poll` is the acknowledgement — or after
//!    [`KafkaOptions::revoke_timeout_ms`].
//!
//! Guarantee: a caller that commits between receiving `Revoked` and its next `poll`, within the
//! revoke timeout, has that commit in place before any other member is assigned the partitions
//! (with the default eager protocol no member gets partitions until every member has rejoined,
//! and this one rejoins only after the callback returns). Past the timeout, or when the session
//! was lost (`assignment_lost`), the partitions move without it and the next owner re-reads
//! from the last commit: at-least-once, never a loss. A `poll` whose future is dropped before
//! it completes loses nothing either: its records are sought back and read again.

mod consumer;
mod error;
mod event_log;
mod options;

pub use consumer::KafkaConsumer;
pub use event_log::KafkaEventLog;
pub use options::KafkaOptions;
