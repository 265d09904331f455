//! The Kafka event log against a real broker: the port's conformance suite, and consumer-group
//! rebalancing with commit-on-revoke.
//!
//! The broker address comes from `LT_IT_KAFKA` (`host:port`; `scripts/it/up.sh kafka` starts
//! one on 127.0.0.1:9092). Unset, the tests print a notice and pass, except in CI (`CI` set),
//! where they fail. Each test uses its own random topic (and group where it matters).

use kafka::{KafkaEventLog, KafkaOptions};
use ports::{ConsumerEvent, EventLog, LogConsumer, NewRecord, PortError, conformance};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
/// The broker URL from `LT_IT_KAFKA` (see `ports::conformance::server_address`).
fn kafka_url() -> Option<String> {
    let addr = ports::conformance::server_address("LT_IT_KAFKA", "Kafka")?;
    Some(if addr.starts_with("kafka://") {
        addr
    } else {
        format!("kafka://{addr}")
    })
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

async fn connect(url: &str, partitions: u32) -> Arc<KafkaEventLog> {
    let options = KafkaOptions {
        partitions,
        client_id: "lambda-trends-it".into(),
        ..KafkaOptions::default()
    };
    KafkaEventLog::connect(url, options)
        .await
        .expect("connect to Kafka")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_event_log_conforms() {
    let Some(url) = kafka_url() else { return };
    let log = connect(&url, 4).await;
    assert_eq!(log.describe(), url);
    conformance::event_log(log, &unique("lt-it-conformance")).await;
}

#[tokio::test]
async fn an_unreachable_broker_is_unavailable() {
    let options = KafkaOptions {
        operation_timeout_ms: 2_000,
        ..KafkaOptions::default()
    };
    let started = Instant::now();
    match KafkaEventLog::connect("kafka://127.0.0.1:1", options).await {
        Err(PortError::Unavailable(msg)) => {
            assert!(
                msg.contains("cannot reach Kafka at kafka://127.0.0.1:1"),
                "{msg}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_malformed_url_is_invalid() {
    let err = KafkaEventLog::connect("kafka://nohost", KafkaOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::Invalid(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_polls_lose_nothing_and_seek_rereads() {
    let Some(url) = kafka_url() else { return };
    let log = connect(&url, 2).await;
    let topic = unique("lt-it-cancel");
    let group = unique("lt-it-group");
    let written = log.append(&topic, batch(0, 400)).await.unwrap();
    let mut per_partition: BTreeMap<u32, u64> = BTreeMap::new();
    for p in &written {
        *per_partition.entry(p.partition).or_default() += 1;
    }

    let mut c = log.consumer(&topic, &group).await.unwrap();
    let mut next: BTreeMap<u32, u64> = BTreeMap::new();
    let mut seen = 0usize;
    let mut assigned = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut i = 0u64;
    while seen < 400 || assigned.len() < 2 {
        assert!(Instant::now() < deadline, "read {seen} of 400");
        i += 1;
        // Most polls are abandoned after a few hundred microseconds.
        let poll = c.poll(7, Duration::from_millis(50));
        let event = if i.is_multiple_of(4) {
            Some(poll.await.unwrap())
        } else {
            tokio::time::timeout(Duration::from_micros(50 + (i * 37) % 700), poll)
                .await
                .ok()
                .map(Result::unwrap)
        };
        match event {
            None => {}
            Some(ConsumerEvent::Assigned(ps)) => assigned.extend(ps),
            Some(ConsumerEvent::Revoked(ps)) => panic!("a lone member lost {ps:?}"),
            Some(ConsumerEvent::Records(rs)) => {
                for r in rs {
                    let expect = next.get(&r.partition).copied().unwrap_or(0);
                    assert_eq!(
                        r.offset, expect,
                        "partition {} skipped or repeated a record",
                        r.partition
                    );
                    next.insert(r.partition, r.offset + 1);
                    seen += 1;
                }
            }
        }
    }
    assert_eq!(seen, 400);
    assert_eq!(next, per_partition, "every record, once, in order");
    assert_eq!(c.assignment(), vec![0, 1]);

    // Seek moves an assigned partition back; an unassigned one is refused.
    let p = *per_partition.keys().next().unwrap();
    c.seek(p, 3).await.expect("seek");
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = loop {
        assert!(Instant::now() < deadline, "nothing after the seek");
        if let ConsumerEvent::Records(rs) = c.poll(10, Duration::from_millis(200)).await.unwrap()
            && let Some(r) = rs.into_iter().find(|r| r.partition == p)
        {
            break r;
        }
    };
    assert_eq!(first.offset, 3, "the read resumes at the sought offset");
    assert!(matches!(c.seek(99, 0).await, Err(PortError::Invalid(_))));
}

/// A group member as the speed layer drives one: it reads records into a pending window, and at
/// a flush (a view write, then the commit) they count as done.
struct Member {
    name: &'static str,
    consumer: Box<dyn LogConsumer>,
    /// Next offset per assigned partition.
    positions: BTreeMap<u32, u64>,
    /// Read since the last commit.
    pending: Vec<(u32, u64)>,
    /// Committed, hence processed for good.
    done: Vec<(u32, u64)>,
    revocations: usize,
    /// How long the flush on a revocation takes before it commits (a slow view write).
    revoke_flush: Duration,
}

/// What a member has got to, for the test to watch while the member runs in its own task.
#[derive(Debug, Clone, Default)]
struct Progress {
    assignment: Vec<u32>,
    revocations: usize,
    read: BTreeSet<(u32, u64)>,
}

impl Member {
    fn new(name: &'static str, consumer: Box<dyn LogConsumer>) -> Self {
        Member {
            name,
            consumer,
            positions: BTreeMap::new(),
            pending: Vec::new(),
            done: Vec::new(),
            revocations: 0,
            revoke_flush: Duration::from_millis(1500),
        }
    }

    fn read(&self) -> impl Iterator<Item = &(u32, u64)> {
        self.done.iter().chain(&self.pending)
    }

    fn progress(&self) -> Progress {
        Progress {
            assignment: self.consumer.assignment(),
            revocations: self.revocations,
            read: self.read().copied().collect(),
        }
    }

    async fn flush(&mut self, write_time: Duration) {
        if self.pending.is_empty() {
            return;
        }
        tokio::time::sleep(write_time).await;
        self.consumer.commit(&self.positions).await.expect("commit");
        self.done.append(&mut self.pending);
    }

    async fn step(&mut self, log: &dyn EventLog, topic: &str, group: &str) {
        match self
            .consumer
            .poll(25, Duration::from_millis(100))
            .await
            .expect("poll")
        {
            ConsumerEvent::Assigned(ps) => {
                let committed = log.committed_offsets(topic, group).await.unwrap();
                for p in ps {
                    self.positions
                        .insert(p, committed.get(&p).copied().unwrap_or(0));
                }
                assert_eq!(
                    self.consumer.assignment(),
                    self.positions.keys().copied().collect::<Vec<_>>()
                );
            }
            ConsumerEvent::Revoked(ps) => {
                self.revocations += 1;
                // The contract: flush and commit now, before the partitions move. The write is
                // slow on purpose: the other member must not start on them meanwhile.
                self.flush(self.revoke_flush).await;
                for p in ps {
                    self.positions.remove(&p);
                }
            }
            ConsumerEvent::Records(rs) => {
                for r in rs {
                    let next = self
                        .positions
                        .get(&r.partition)
                        .copied()
                        .unwrap_or_else(|| {
                            panic!(
                                "{} got partition {} it does not own",
                                self.name, r.partition
                            )
                        });
                    assert_eq!(
                        r.offset, next,
                        "{}: partition {} must continue at its position (after an assignment: the group's last commit)",
                        self.name, r.partition
                    );
                    self.positions.insert(r.partition, r.offset + 1);
                    self.pending.push((r.partition, r.offset));
                }
            }
        }
    }

    /// Steps in its own task until `stop`, publishing its progress after every step.
    fn run(
        mut self,
        log: Arc<KafkaEventLog>,
        topic: String,
        group: String,
        stop: Arc<AtomicBool>,
    ) -> (
        tokio::task::JoinHandle<Member>,
        tokio::sync::watch::Receiver<Progress>,
    ) {
        let (tx, rx) = tokio::sync::watch::channel(self.progress());
        let task = tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                self.step(log.as_ref(), &topic, &group).await;
                tx.send_replace(self.progress());
            }
            self
        });
        (task, rx)
    }
}

fn batch(from: usize, n: usize) -> Vec<NewRecord> {
    (from..from + n)
        .map(|i| NewRecord {
            key: format!("author-{}", i % 13).into_bytes(),
            value: format!("post-{i}").into_bytes(),
            headers: Vec::new(),
        })
        .collect()
}

/// Waits until `done` holds for the two members' progress.
async fn until(
    what: &str,
    limit: Duration,
    a: &mut tokio::sync::watch::Receiver<Progress>,
    b: &mut tokio::sync::watch::Receiver<Progress>,
    done: impl Fn(&Progress, &Progress) -> bool,
) {
    let deadline = Instant::now() + limit;
    loop {
        let (pa, pb) = (a.borrow_and_update().clone(), b.borrow_and_update().clone());
        if done(&pa, &pb) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: A {:?} (revocations {}, read {}), B {:?} (read {})",
            pa.assignment,
            pa.revocations,
            pa.read.len(),
            pb.assignment,
            pb.read.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joining_member_gets_partitions_after_the_first_commits_on_revoke() {
    let Some(url) = kafka_url() else { return };
    let log = connect(&url, 4).await;
    let topic = unique("lt-it-rebalance");
    let group = unique("lt-it-group");
    assert_eq!(log.ensure_topic(&topic).await.unwrap(), 4);
    let mut written: Vec<(u32, u64)> = log
        .append(&topic, batch(0, 100))
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.partition, p.offset))
        .collect();

    // A alone reads the first wave: it commits once early, and holds the rest uncommitted.
    let mut a = Member::new("A", log.consumer(&topic, &group).await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut committed_once = false;
    while a.read().count() < 100 {
        assert!(
            Instant::now() < deadline,
            "A read {} of 100",
            a.read().count()
        );
        a.step(log.as_ref(), &topic, &group).await;
        if !committed_once && a.read().count() >= 30 {
            a.flush(Duration::ZERO).await;
            committed_once = true;
        }
    }
    assert_eq!(a.consumer.assignment(), vec![0, 1, 2, 3]);
    assert!(!a.pending.is_empty(), "A holds uncommitted records");

    // B joins, and both run concurrently: A must be told to give its partitions up, and its
    // slow flush-and-commit must land before B starts on them.
    let b = Member::new("B", log.consumer(&topic, &group).await.unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let (task_a, mut prog_a) = a.run(log.clone(), topic.clone(), group.clone(), stop.clone());
    let (task_b, mut prog_b) = b.run(log.clone(), topic.clone(), group.clone(), stop.clone());
    until(
        "the rebalance",
        Duration::from_secs(90),
        &mut prog_a,
        &mut prog_b,
        |a, b| {
            a.revocations > 0
                && !a.assignment.is_empty()
                && !b.assignment.is_empty()
                && a.assignment.len() + b.assignment.len() == 4
        },
    )
    .await;
    let (pa, pb) = (prog_a.borrow().clone(), prog_b.borrow().clone());
    let owners: BTreeSet<u32> = pa
        .assignment
        .iter()
        .chain(&pb.assignment)
        .copied()
        .collect();
    assert_eq!(owners.len(), 4, "the members own disjoint partitions");
    let committed = log.committed_offsets(&topic, &group).await.unwrap();
    assert_eq!(
        committed.values().sum::<u64>(),
        100,
        "A's commit on revoke covers the first wave: {committed:?}"
    );

    // The second wave is shared between A and B.
    written.extend(
        log.append(&topic, batch(100, 100))
            .await
            .unwrap()
            .into_iter()
            .map(|p| (p.partition, p.offset)),
    );
    until(
        "every record to be read",
        Duration::from_secs(60),
        &mut prog_a,
        &mut prog_b,
        |a, b| a.read.union(&b.read).count() == 200,
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    let mut a = task_a.await.expect("A's task");
    let mut b = task_b.await.expect("B's task");
    a.flush(Duration::ZERO).await;
    b.flush(Duration::ZERO).await;

    assert!(a.revocations >= 1, "the join revoked A's partitions");
    assert!(!b.done.is_empty(), "B processed part of the second wave");
    let mut times: BTreeMap<(u32, u64), usize> = written.iter().map(|w| (*w, 0)).collect();
    for d in a.done.iter().chain(&b.done) {
        *times.entry(*d).or_default() += 1;
    }
    let twice: Vec<_> = times
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(r, _)| r)
        .collect();
    let never: Vec<_> = times
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(r, _)| r)
        .collect();
    assert!(
        twice.is_empty() && never.is_empty(),
        "every record is processed exactly once across the rebalance: twice {twice:?}, never {never:?}"
    );
    assert_eq!(times.len(), written.len(), "nothing unwritten was read");
    assert_eq!(
        log.committed_offsets(&topic, &group).await.unwrap(),
        log.end_offsets(&topic).await.unwrap(),
        "everything is committed"
    );
}

/// The master ingest seeks every partition to the manifest's offset as soon as it is assigned,
/// before librdkafka has started fetching it; reading must start exactly there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seek_right_after_assignment_starts_reading_there() {
    let Some(url) = kafka_url() else { return };
    let log = connect(&url, 2).await;
    let topic = unique("seek-on-assign");
    let positions = log.append(&topic, batch(0, 60)).await.expect("append");
    let mut c = log
        .consumer(&topic, &unique("group"))
        .await
        .expect("consumer");
    let deadline = Instant::now() + Duration::from_secs(30);
    let assigned = loop {
        assert!(Instant::now() < deadline, "no assignment");
        if let ConsumerEvent::Assigned(ps) =
            c.poll(10, Duration::from_millis(500)).await.expect("poll")
        {
            break ps;
        }
    };
    let mut start: BTreeMap<u32, u64> = BTreeMap::new();
    for p in &assigned {
        let end = positions.iter().filter(|x| x.partition == *p).count() as u64;
        start.insert(*p, end / 2);
        c.seek(*p, end / 2)
            .await
            .expect("seek right after the assignment");
    }
    let expected: usize = positions
        .iter()
        .filter(|x| x.offset >= start[&x.partition])
        .count();
    let mut got: Vec<(u32, u64)> = Vec::new();
    while got.len() < expected {
        assert!(
            Instant::now() < deadline,
            "read {} of {expected}",
            got.len()
        );
        if let ConsumerEvent::Records(rs) =
            c.poll(100, Duration::from_millis(500)).await.expect("poll")
        {
            got.extend(rs.iter().map(|r| (r.partition, r.offset)));
        }
    }
    for p in &assigned {
        let first = got.iter().find(|(q, _)| q == p).map(|(_, o)| *o);
        assert_eq!(
            first,
            Some(start[p]),
            "partition {p} starts at the sought offset"
        );
    }
    assert_eq!(
        got.len(),
        expected,
        "nothing before the sought offsets, nothing twice"
    );
}

/// Options for the broker's SASL_SSL listener (`LT_IT_KAFKA_SASL_SSL`; `scripts/it/up.sh` makes
/// a test CA, `LT_IT_KAFKA_CA`, and a SCRAM-SHA-512 user, `LT_IT_KAFKA_USER`/`_PASSWORD`), the
/// way an operator configures a Strimzi or managed cluster: `properties` plus the password as
/// a secret.
fn sasl_ssl(password: Option<&str>) -> Option<(String, KafkaOptions)> {
    let addr = ports::conformance::server_address("LT_IT_KAFKA_SASL_SSL", "Kafka SASL_SSL")?;
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let properties = [
        ("security.protocol", "SASL_SSL".to_string()),
        ("sasl.mechanisms", "SCRAM-SHA-512".into()),
        ("sasl.username", var("LT_IT_KAFKA_USER")),
        ("ssl.ca.location", var("LT_IT_KAFKA_CA")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let options = KafkaOptions {
        partitions: 2,
        client_id: "lambda-trends-it-tls".into(),
        properties,
        sasl_password: ports::Secret::new(
            password
                .map(str::to_string)
                .unwrap_or_else(|| var("LT_IT_KAFKA_PASSWORD")),
        ),
        operation_timeout_ms: 5_000,
        ..KafkaOptions::default()
    };
    Some((format!("kafka://{addr}"), options))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_log_conforms_over_tls_with_scram() {
    let Some((url, options)) = sasl_ssl(None) else {
        return;
    };
    let log = KafkaEventLog::connect(&url, options)
        .await
        .expect("connect over SASL_SSL");
    conformance::event_log(log, &unique("lt-it-tls")).await;
}

#[tokio::test]
async fn a_wrong_scram_password_is_refused_with_a_clear_error() {
    let Some((url, options)) = sasl_ssl(Some("not-the-password")) else {
        return;
    };
    let err = match KafkaEventLog::connect(&url, options).await {
        Ok(_) => panic!("a wrong SCRAM password connected"),
        Err(e) => e,
    };
    assert!(matches!(err, PortError::Invalid(_)), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("SASL authentication error") && msg.contains("kafka.sasl-password"),
        "the error names the failed authentication and what to check: {msg}"
    );
    eprintln!("{msg}");
    assert!(
        !msg.contains("not-the-password"),
        "the password is not in the error: {msg}"
    );
}

#[tokio::test]
async fn a_broker_certificate_from_an_untrusted_ca_is_refused() {
    let Some((url, mut options)) = sasl_ssl(None) else {
        return;
    };
    // Trust only a CA that did not sign the broker's certificate.
    options.properties.insert(
        "ssl.ca.location".into(),
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../cassandra/tests/fixtures/test-ca.pem"
        )
        .into(),
    );
    let err = match KafkaEventLog::connect(&url, options).await {
        Ok(_) => panic!("connected to a broker whose certificate is not trusted"),
        Err(e) => e,
    };
    assert!(
        matches!(err, PortError::Invalid(_)),
        "trusting the wrong CA is a configuration error: {err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("certificate verify failed") && msg.contains("ssl.ca.location"),
        "the error says the certificate was not trusted, and what to check: {msg}"
    );
}
