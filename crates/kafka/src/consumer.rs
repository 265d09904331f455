//! [`KafkaConsumer`]: one consumer-group member, a librdkafka `BaseConsumer` served by a
//! dedicated thread.
//!
//! Why a `BaseConsumer` on its own thread, and not a `StreamConsumer`: librdkafka runs the
//! rebalance callback on the thread that polls, and partitions are unassigned as soon as the
//! callback returns. With a `StreamConsumer` that thread is the caller's own task, inside our
//! `poll`, so the callback can neither return early (the partitions would be gone before the
//! caller commits) nor wait for the caller (the caller is the one waiting: a deadlock). A
//! dedicated thread can wait: it reports the revocation to the caller's `poll`, serves the
//! caller's `commit`s from inside the callback, and lets the callback return only when the
//! caller polls again (see the crate docs for the guarantee). A long-lived thread rather than
//! `spawn_blocking`, because the consumer and its callbacks live as long as the member does.
//!
//! Everything the caller asks goes to the thread as a [`Command`] over a channel and is answered
//! on a oneshot channel, so librdkafka is only ever touched from one thread.

use crate::error::classify;
use async_trait::async_trait;
use ports::{ConsumerEvent, LogConsumer, LogRecord, PortError, Result};
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How long a `seek` waits for librdkafka's fetcher to take the new position.
const SEEK_TIMEOUT: Duration = Duration::from_secs(10);

/// A request from the async side to the consumer thread.
enum Command {
    /// Read records (or a rebalance event).
    Poll(PollRequest),
    /// Commit these next-offsets synchronously.
    Commit {
        offsets: BTreeMap<u32, u64>,
        reply: oneshot::Sender<Result<()>>,
    },
    /// Move the read position of an assigned partition.
    Seek {
        partition: u32,
        offset: u64,
        reply: oneshot::Sender<Result<()>>,
    },
    /// A poll's answer that reached its channel after the caller dropped the `poll` future:
    /// records to read again, or an event to tell again.
    Salvage(ConsumerEvent),
}

/// A `poll` being served: where its answer goes, and the records gathered so far.
struct PollRequest {
    max: usize,
    deadline: Instant,
    reply: oneshot::Sender<Result<ConsumerEvent>>,
    records: Vec<LogRecord>,
    /// A non-blocking read found nothing more: the batch is complete.
    drained: bool,
}

/// The consumer's librdkafka context: the rebalance callbacks, and the state they share with
/// the consumer thread (both only ever run on that thread; the mutexes make that checkable).
struct GroupContext {
    topic: String,
    group: String,
    revoke_timeout: Duration,
    /// The caller's requests. Locked only while receiving, never while serving.
    commands: Mutex<mpsc::Receiver<Command>>,
    /// Rebalance events not yet told to the caller, oldest first.
    events: Mutex<VecDeque<ConsumerEvent>>,
    /// The `poll` being served, if any.
    in_flight: Mutex<Option<PollRequest>>,
    /// Seeks librdkafka refused because the partition was not fetching yet (right after an
    /// assignment): retried before every fetch, and until one succeeds, records of that
    /// partition at other offsets are skipped, so reading starts exactly at the target.
    pending_seeks: Mutex<BTreeMap<u32, u64>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn to_record(msg: &BorrowedMessage<'_>) -> Option<LogRecord> {
    Some(LogRecord {
        partition: u32::try_from(msg.partition()).ok()?,
        offset: u64::try_from(msg.offset()).ok()?,
        timestamp_ms: msg.timestamp().to_millis().unwrap_or(0),
        key: msg.key().unwrap_or_default().to_vec(),
        value: msg.payload().unwrap_or_default().to_vec(),
        headers: msg
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

impl GroupContext {
    /// Our topic's partitions in a rebalance's list, sorted.
    fn partitions(&self, tpl: &TopicPartitionList) -> Vec<u32> {
        let mut ps: Vec<u32> = tpl
            .elements_for_topic(&self.topic)
            .iter()
            .filter_map(|e| u32::try_from(e.partition()).ok())
            .collect();
        ps.sort_unstable();
        ps.dedup();
        ps
    }

    fn pop_event(&self) -> Option<ConsumerEvent> {
        lock(&self.events).pop_front()
    }

    /// Answers a poll with a rebalance event; if the caller has gone, the event waits for the
    /// next poll.
    fn answer(&self, reply: oneshot::Sender<Result<ConsumerEvent>>, event: ConsumerEvent) {
        if let Err(Ok(event)) = reply.send(Ok(event)) {
            lock(&self.events).push_front(event);
        }
    }

    /// Answers a poll with its records. If the caller stopped waiting (its `poll` future was
    /// dropped), the records are read again: each partition seeks back to its first lost record.
    fn deliver(&self, consumer: &BaseConsumer<GroupContext>, req: PollRequest) {
        if let Err(Ok(ConsumerEvent::Records(lost))) =
            req.reply.send(Ok(ConsumerEvent::Records(req.records)))
        {
            self.rewind(consumer, &lost);
        }
    }

    fn rewind(&self, consumer: &BaseConsumer<GroupContext>, lost: &[LogRecord]) {
        let mut first: BTreeMap<u32, u64> = BTreeMap::new();
        for r in lost {
            let o = first.entry(r.partition).or_insert(r.offset);
            *o = (*o).min(r.offset);
        }
        for (p, o) in first {
            if let Err(error) = self.seek_now(consumer, p, o) {
                tracing::warn!(%error, topic = %self.topic, partition = p, offset = o, "Could not rewind a Kafka partition after an abandoned poll; its records may be skipped until the next rebalance.");
            }
        }
    }

    fn seek_now(
        &self,
        consumer: &BaseConsumer<GroupContext>,
        partition: u32,
        offset: u64,
    ) -> Result<()> {
        let p = i32::try_from(partition)
            .map_err(|_| PortError::Invalid(format!("partition {partition} is out of range")))?;
        let o = i64::try_from(offset)
            .map_err(|_| PortError::Invalid(format!("offset {offset} is out of range")))?;
        consumer
            .seek(&self.topic, p, Offset::Offset(o), SEEK_TIMEOUT)
            .map_err(|e| classify(&format!("seek of `{}`/{partition}", self.topic), &e))
    }

    fn seek(
        &self,
        consumer: &BaseConsumer<GroupContext>,
        partition: u32,
        offset: u64,
    ) -> Result<()> {
        let assigned = consumer
            .assignment()
            .map_err(|e| classify("assignment", &e))?;
        let owned = i32::try_from(partition)
            .ok()
            .and_then(|p| assigned.find_partition(&self.topic, p))
            .is_some();
        if !owned {
            return Err(PortError::Invalid(format!(
                "partition {partition} of `{}` is not assigned to this consumer",
                self.topic
            )));
        }
        match self.seek_now(consumer, partition, offset) {
            Ok(()) => {
                lock(&self.pending_seeks).remove(&partition);
                Ok(())
            }
            // Not fetching yet: librdkafka answers "Local: Erroneous state". Apply it later.
            Err(e) if e.to_string().contains("Erroneous state") => {
                lock(&self.pending_seeks).insert(partition, offset);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Retries the seeks librdkafka refused earlier; true if some are still pending.
    fn apply_pending_seeks(&self, consumer: &BaseConsumer<GroupContext>) -> bool {
        let mut pending = lock(&self.pending_seeks);
        pending.retain(|p, o| self.seek_now(consumer, *p, *o).is_err());
        !pending.is_empty()
    }

    /// Whether a fetched record is at the position a pending seek asks for (or no seek is
    /// pending for its partition); a record that is not is skipped.
    fn at_sought_position(&self, record: &LogRecord) -> bool {
        let mut pending = lock(&self.pending_seeks);
        match pending.get(&record.partition) {
            None => true,
            Some(target) if *target == record.offset => {
                pending.remove(&record.partition);
                true
            }
            Some(_) => false,
        }
    }

    fn commit(
        &self,
        consumer: &BaseConsumer<GroupContext>,
        offsets: &BTreeMap<u32, u64>,
    ) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let what = format!("commit of group `{}` on `{}`", self.group, self.topic);
        let mut tpl = TopicPartitionList::with_capacity(offsets.len());
        for (p, o) in offsets {
            let p = i32::try_from(*p)
                .map_err(|_| PortError::Invalid(format!("partition {p} is out of range")))?;
            let o = i64::try_from(*o)
                .map_err(|_| PortError::Invalid(format!("offset {o} is out of range")))?;
            tpl.add_partition_offset(&self.topic, p, Offset::Offset(o))
                .map_err(|e| classify(&what, &e))?;
        }
        consumer
            .commit(&tpl, CommitMode::Sync)
            .map_err(|e| classify(&what, &e))
    }

    /// Serves the in-flight poll until it is answered: queued rebalance events first, then
    /// records (the first waits up to the deadline, the rest only if already fetched).
    fn drive(&self, consumer: &BaseConsumer<GroupContext>) {
        loop {
            let wait = {
                let mut slot = lock(&self.in_flight);
                let Some(req) = slot.as_mut() else {
                    return;
                };
                if !req.records.is_empty() {
                    if req.records.len() >= req.max || req.drained {
                        let req = slot.take().expect("checked above");
                        drop(slot);
                        self.deliver(consumer, req);
                        return;
                    }
                    Duration::ZERO
                } else if let Some(event) = self.pop_event() {
                    let req = slot.take().expect("checked above");
                    drop(slot);
                    self.answer(req.reply, event);
                    return;
                } else {
                    let now = Instant::now();
                    if now >= req.deadline {
                        let req = slot.take().expect("checked above");
                        drop(slot);
                        self.deliver(consumer, req);
                        return;
                    }
                    req.deadline - now
                }
            };
            let wait = if self.apply_pending_seeks(consumer) {
                wait.min(Duration::from_millis(50))
            } else {
                wait
            };
            // Rebalance callbacks run inside this call; they may answer and replace the
            // in-flight request, so it is re-read afterwards.
            let polled = consumer.poll(wait);
            let mut slot = lock(&self.in_flight);
            match polled {
                // A timeout, or an event (rebalance, commit) was served.
                None => {
                    if let Some(req) = slot.as_mut()
                        && !req.records.is_empty()
                    {
                        req.drained = true;
                    }
                }
                Some(Ok(msg)) => match (to_record(&msg), slot.as_mut()) {
                    (Some(record), _) if !self.at_sought_position(&record) => {}
                    (Some(record), Some(req)) => req.records.push(record),
                    (Some(record), None) => {
                        // Cannot happen (a rebalance ends the poll call), but never skip a record.
                        drop(slot);
                        self.rewind(consumer, &[record]);
                        return;
                    }
                    (None, _) => tracing::warn!(
                        partition = msg.partition(),
                        offset = msg.offset(),
                        "Kafka returned a record with a negative partition or offset; ignoring it."
                    ),
                },
                Some(Err(KafkaError::PartitionEOF(_))) => {}
                // librdkafka reports lost broker connections as consumer errors but reconnects
                // and goes on fetching by itself: ending the poll with an error would make the
                // caller back off once per queued report (dozens after an outage) long after the
                // broker is back. The outage shows on `/readyz` through the backend probe.
                Some(Err(KafkaError::MessageConsumption(code)))
                    if matches!(
                        code,
                        RDKafkaErrorCode::BrokerTransportFailure
                            | RDKafkaErrorCode::AllBrokersDown
                            | RDKafkaErrorCode::Resolve
                    ) =>
                {
                    metrics::counter!("lambda_kafka_consumer_transport_errors_total").increment(1);
                    tracing::debug!(group = %self.group, error = %code, "Kafka consumer lost a broker connection; librdkafka reconnects.");
                }
                Some(Err(e)) => {
                    let Some(req) = slot.take() else {
                        return;
                    };
                    drop(slot);
                    if req.records.is_empty() {
                        let _ = req.reply.send(Err(classify("poll", &e)));
                    } else {
                        tracing::warn!(error = %e, "Kafka consumer error after a partial batch; returning the batch.");
                        self.deliver(consumer, req);
                    }
                    return;
                }
            }
        }
    }

    /// The revocation protocol (see the crate docs): tell the caller, serve its commits, and
    /// return (letting librdkafka unassign) only when it polls again or `revoke_timeout` passes.
    fn on_revoke(&self, consumer: &BaseConsumer<GroupContext>, tpl: &TopicPartitionList) {
        let partitions = self.partitions(tpl);
        if partitions.is_empty() {
            return;
        }
        lock(&self.pending_seeks).retain(|p, _| !partitions.contains(p));
        if consumer.assignment_lost() {
            // The session expired: another member may own them already, a commit would fail.
            tracing::warn!(group = %self.group, ?partitions, "Kafka partitions were lost (session expired); uncommitted records will be re-read by their new owner.");
            lock(&self.events).push_back(ConsumerEvent::Revoked(partitions));
            return;
        }
        tracing::info!(group = %self.group, ?partitions, "Kafka partitions are being revoked; waiting for the consumer to commit.");
        let deadline = Instant::now() + self.revoke_timeout;
        let mut told = false;
        let in_flight = lock(&self.in_flight).take();
        if let Some(req) = in_flight {
            if !req.records.is_empty() {
                // Give the caller what it was reading; it flushes them on the revocation. If it
                // has gone, the partitions' next owner reads them from the last commit.
                let _ = req.reply.send(Ok(ConsumerEvent::Records(req.records)));
            } else if let Some(event) = self.pop_event() {
                self.answer(req.reply, event);
            } else {
                told = req
                    .reply
                    .send(Ok(ConsumerEvent::Revoked(partitions.clone())))
                    .is_ok();
            }
        }
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let next = lock(&self.commands).recv_timeout(remaining);
            match next {
                Ok(Command::Poll(req)) => {
                    if let Some(event) = self.pop_event() {
                        self.answer(req.reply, event);
                    } else if !told {
                        told = req
                            .reply
                            .send(Ok(ConsumerEvent::Revoked(partitions.clone())))
                            .is_ok();
                    } else {
                        // The acknowledgement: the caller has flushed. This poll is served by
                        // `drive` once librdkafka has unassigned.
                        tracing::debug!(group = %self.group, "The consumer acknowledged the revocation.");
                        *lock(&self.in_flight) = Some(req);
                        return;
                    }
                }
                Ok(Command::Commit { offsets, reply }) => {
                    let _ = reply.send(self.commit(consumer, &offsets));
                }
                Ok(Command::Seek {
                    partition, reply, ..
                }) => {
                    let _ = reply.send(Err(PortError::Invalid(format!(
                        "partition {partition} of `{}` is being revoked; poll to finish the rebalance",
                        self.topic
                    ))));
                }
                Ok(Command::Salvage(ConsumerEvent::Revoked(_))) => told = false,
                Ok(Command::Salvage(ConsumerEvent::Records(lost))) => {
                    // Records of the revoked partitions: their next owner reads them anyway.
                    let kept: Vec<LogRecord> = lost
                        .into_iter()
                        .filter(|r| !partitions.contains(&r.partition))
                        .collect();
                    self.rewind(consumer, &kept);
                }
                Ok(Command::Salvage(event)) => lock(&self.events).push_front(event),
                Err(RecvTimeoutError::Timeout) => {
                    tracing::warn!(group = %self.group, ?partitions, timeout_ms = self.revoke_timeout.as_millis() as u64, "The consumer did not acknowledge a Kafka revocation in time; releasing the partitions. Records it has not committed will be read again by their next owner.");
                    if !told {
                        lock(&self.events).push_back(ConsumerEvent::Revoked(partitions));
                    }
                    return;
                }
                // The consumer was dropped (or is closing): nobody to wait for.
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => self.on_revoke(consumer, tpl),
            Rebalance::Assign(_) => {}
            Rebalance::Error(error) => {
                tracing::warn!(%error, group = %self.group, "Kafka rebalance failed.");
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let partitions = self.partitions(tpl);
            if !partitions.is_empty() {
                tracing::info!(group = %self.group, ?partitions, "Kafka partitions assigned.");
                lock(&self.events).push_back(ConsumerEvent::Assigned(partitions));
            }
        }
    }
}

/// The consumer thread: serves commands until the [`KafkaConsumer`] is dropped, then leaves
/// the group (closing runs a last revocation, which returns at once: nobody is listening).
fn serve(consumer: BaseConsumer<GroupContext>) {
    let ctx = consumer.context().clone();
    loop {
        let next = lock(&ctx.commands).recv();
        let Ok(command) = next else {
            break;
        };
        match command {
            Command::Poll(req) => {
                *lock(&ctx.in_flight) = Some(req);
                ctx.drive(&consumer);
            }
            Command::Commit { offsets, reply } => {
                let _ = reply.send(ctx.commit(&consumer, &offsets));
            }
            Command::Seek {
                partition,
                offset,
                reply,
            } => {
                let _ = reply.send(ctx.seek(&consumer, partition, offset));
            }
            Command::Salvage(ConsumerEvent::Records(lost)) => ctx.rewind(&consumer, &lost),
            Command::Salvage(event) => lock(&ctx.events).push_front(event),
        }
    }
    tracing::debug!(group = %ctx.group, topic = %ctx.topic, "Kafka consumer leaving its group.");
    drop(consumer);
}

/// A member of a Kafka consumer group on one topic: the [`LogConsumer`] of
/// [`crate::KafkaEventLog`].
///
/// Offsets are committed only by [`LogConsumer::commit`] (`enable.auto.commit=false`); a
/// partition with no committed offset starts at its beginning. Rebalances surface from
/// [`LogConsumer::poll`] as [`ConsumerEvent::Assigned`] and [`ConsumerEvent::Revoked`]; a
/// revocation is held open until the next `poll` (or the revoke timeout), so what the caller
/// commits in between is committed before the partitions move. Dropping the consumer leaves
/// the group in the background.
pub struct KafkaConsumer {
    topic: String,
    commands: mpsc::Sender<Command>,
    assigned: BTreeSet<u32>,
}

impl std::fmt::Debug for KafkaConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConsumer")
            .field("topic", &self.topic)
            .field("assigned", &self.assigned)
            .finish_non_exhaustive()
    }
}

impl KafkaConsumer {
    /// Creates the librdkafka consumer from `config` (which carries `group.id`), subscribes it
    /// to `topic` and starts its thread.
    pub(crate) fn start(
        config: ClientConfig,
        topic: &str,
        group: &str,
        revoke_timeout: Duration,
    ) -> Result<Self> {
        let (commands, receiver) = mpsc::channel();
        let context = GroupContext {
            topic: topic.to_string(),
            group: group.to_string(),
            revoke_timeout,
            commands: Mutex::new(receiver),
            events: Mutex::new(VecDeque::new()),
            in_flight: Mutex::new(None),
            pending_seeks: Mutex::new(BTreeMap::new()),
        };
        let consumer: BaseConsumer<GroupContext> = config
            .create_with_context(context)
            .map_err(|e| classify("consumer creation", &e))?;
        consumer
            .subscribe(&[topic])
            .map_err(|e| classify(&format!("subscription to `{topic}`"), &e))?;
        std::thread::Builder::new()
            .name(format!("kafka-{group}"))
            .spawn(move || serve(consumer))
            .map_err(|e| PortError::Internal(format!("cannot start a consumer thread: {e}")))?;
        Ok(KafkaConsumer {
            topic: topic.to_string(),
            commands,
            assigned: BTreeSet::new(),
        })
    }

    async fn request<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T>>) -> Command,
    ) -> Result<T> {
        let stopped = || PortError::Internal("the Kafka consumer thread has stopped".into());
        let (reply, answer) = oneshot::channel();
        self.commands.send(command(reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The answer channel of a `poll` in progress. If the `poll` future is dropped before the
/// answer is taken, this hands whatever answer already arrived back to the consumer thread, and
/// closes the channel so an answer still to come bounces back there too: a cancelled `poll`
/// loses no record and no rebalance event.
struct PendingPoll {
    answer: Option<oneshot::Receiver<Result<ConsumerEvent>>>,
    commands: mpsc::Sender<Command>,
}

impl Drop for PendingPoll {
    fn drop(&mut self) {
        if let Some(mut answer) = self.answer.take() {
            answer.close();
            if let Ok(Ok(event)) = answer.try_recv() {
                let _ = self.commands.send(Command::Salvage(event));
            }
        }
    }
}

#[async_trait]
impl LogConsumer for KafkaConsumer {
    async fn poll(&mut self, max_records: usize, timeout: Duration) -> Result<ConsumerEvent> {
        let stopped = || PortError::Internal("the Kafka consumer thread has stopped".into());
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Poll(PollRequest {
                max: max_records.max(1),
                deadline: Instant::now() + timeout,
                reply,
                records: Vec::new(),
                drained: false,
            }))
            .map_err(|_| stopped())?;
        let mut pending = PendingPoll {
            answer: Some(answer),
            commands: self.commands.clone(),
        };
        let answered = pending.answer.as_mut().expect("set above").await;
        // Taken: nothing to hand back.
        pending.answer = None;
        let event = answered.map_err(|_| stopped())??;
        match &event {
            ConsumerEvent::Assigned(ps) => self.assigned.extend(ps.iter().copied()),
            ConsumerEvent::Revoked(ps) => {
                for p in ps {
                    self.assigned.remove(p);
                }
            }
            ConsumerEvent::Records(_) => {}
        }
        Ok(event)
    }

    async fn commit(&mut self, offsets: &BTreeMap<u32, u64>) -> Result<()> {
        let offsets = offsets.clone();
        self.request(|reply| Command::Commit { offsets, reply })
            .await
    }

    async fn seek(&mut self, partition: u32, offset: u64) -> Result<()> {
        self.request(|reply| Command::Seek {
            partition,
            offset,
            reply,
        })
        .await
    }

    fn assignment(&self) -> Vec<u32> {
        self.assigned.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(offset: u64) -> LogRecord {
        LogRecord {
            partition: 1,
            offset,
            timestamp_ms: 0,
            key: Vec::new(),
            value: Vec::new(),
            headers: Vec::new(),
        }
    }

    #[test]
    fn an_answer_left_in_a_dropped_poll_goes_back_to_the_thread() {
        let (commands, received) = mpsc::channel();
        let (reply, answer) = oneshot::channel();
        reply
            .send(Ok(ConsumerEvent::Records(vec![record(7)])))
            .unwrap();
        drop(PendingPoll {
            answer: Some(answer),
            commands,
        });
        match received.try_recv() {
            Ok(Command::Salvage(ConsumerEvent::Records(rs))) => assert_eq!(rs, vec![record(7)]),
            _ => panic!("the records must be handed back"),
        }
    }

    #[test]
    fn a_dropped_poll_bounces_a_later_answer() {
        let (commands, received) = mpsc::channel();
        let (reply, answer) = oneshot::channel();
        drop(PendingPoll {
            answer: Some(answer),
            commands,
        });
        assert!(received.try_recv().is_err(), "nothing to hand back yet");
        // The thread's own send fails, so it rewinds (or re-queues) itself.
        assert!(reply.send(Ok(ConsumerEvent::Assigned(vec![0]))).is_err());
    }

    #[test]
    fn an_answered_poll_hands_nothing_back() {
        let (commands, received) = mpsc::channel();
        let (_reply, answer) = oneshot::channel::<Result<ConsumerEvent>>();
        let mut pending = PendingPoll {
            answer: Some(answer),
            commands,
        };
        pending.answer = None;
        drop(pending);
        assert!(received.try_recv().is_err());
    }
}
