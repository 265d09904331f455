//! [`KafkaEventLog`]: the producer, the admin client and the metadata client.

use crate::consumer::KafkaConsumer;
use crate::error::{classify, from_code};
use crate::options::{KafkaOptions, bootstrap_servers};
use async_trait::async_trait;
use ports::{EventLog, LogConsumer, NewRecord, PortError, Position, Result};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The [`EventLog`] on Apache Kafka.
///
/// One value holds three long-lived clients: an idempotent producer (`acks=all`) for
/// [`EventLog::append`], an admin client for topic creation, and a group-less consumer handle
/// for metadata and watermarks. Each [`EventLog::consumer`] call starts a new group member
/// ([`KafkaConsumer`]), and [`EventLog::committed_offsets`] uses a short-lived client with the
/// group's id that reads the offsets without joining the group.
pub struct KafkaEventLog {
    url: String,
    bootstrap: String,
    options: KafkaOptions,
    producer: FutureProducer,
    admin: AdminClient<DefaultClientContext>,
    meta: Arc<BaseConsumer<RefusalContext>>,
    /// Topics known to exist, so `append` checks (and creates) a topic once, not per call.
    known_topics: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for KafkaEventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaEventLog")
            .field("url", &self.url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Runs a blocking librdkafka call off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PortError::Internal(format!("a blocking Kafka call panicked: {e}")))?
}

fn partition_u32(p: i32) -> Result<u32> {
    u32::try_from(p).map_err(|_| PortError::Internal(format!("Kafka returned partition {p}")))
}

fn partition_i32(p: u32) -> Result<i32> {
    i32::try_from(p).map_err(|_| PortError::Invalid(format!("partition {p} is out of range")))
}

fn offset_u64(o: i64) -> Result<u64> {
    u64::try_from(o).map_err(|_| PortError::Internal(format!("Kafka returned offset {o}")))
}

/// The metadata client's context: remembers the last authentication or TLS failure librdkafka
/// reports, so a refused connection says why instead of "broker transport failure".
#[derive(Debug, Default)]
struct RefusalContext {
    refusal: Mutex<Option<String>>,
}

impl RefusalContext {
    fn refusal(&self) -> Option<String> {
        self.refusal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ClientContext for RefusalContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if matches!(
            error.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::Authentication
                    | RDKafkaErrorCode::SaslAuthenticationFailed
                    | RDKafkaErrorCode::SSL
            )
        ) {
            *self.refusal.lock().unwrap_or_else(PoisonError::into_inner) = Some(reason.to_string());
        }
        tracing::warn!(%error, reason, "Kafka client error.");
    }
}

impl ConsumerContext for RefusalContext {}

/// What the metadata says about a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TopicState {
    /// Not there (or not visible yet).
    Missing,
    /// There, with this many partitions; `led` when every partition has a leader.
    Exists { partitions: u32, led: bool },
}

impl KafkaEventLog {
    /// Connects to the cluster at `url` (`kafka://host:port[,host:port...]`) and checks that a
    /// broker answers within [`KafkaOptions::operation_timeout_ms`].
    ///
    /// Errors: [`PortError::Invalid`] for a malformed URL or client configuration,
    /// [`PortError::Unavailable`] when no broker answers.
    pub async fn connect(url: &str, options: KafkaOptions) -> Result<Arc<Self>> {
        let bootstrap = bootstrap_servers(url)?;
        if options.partitions == 0 || options.replication_factor == 0 {
            return Err(PortError::Invalid(
                "Kafka options: partitions and replication-factor must be at least 1".into(),
            ));
        }
        let producer: FutureProducer = Self::producer_config(&bootstrap, &options)
            .create()
            .map_err(|e| classify("producer creation", &e))?;
        let admin = Self::client_config(&bootstrap, &options)
            .set("allow.auto.create.topics", "false")
            .create()
            .map_err(|e| classify("admin client creation", &e))?;
        let meta = Self::client_config(&bootstrap, &options)
            .set("allow.auto.create.topics", "false")
            .create_with_context(RefusalContext::default())
            .map_err(|e| classify("metadata client creation", &e))?;
        let log = KafkaEventLog {
            url: url.to_string(),
            bootstrap,
            options,
            producer,
            admin,
            meta: Arc::new(meta),
            known_topics: Mutex::new(HashSet::new()),
        };
        let meta = log.meta.clone();
        let timeout = log.options.operation_timeout();
        let shown = log.url.clone();
        blocking(move || {
            meta.fetch_metadata(None, timeout).map(|_| ()).map_err(|e| {
                // A broker that refused our credentials or certificate will refuse them again:
                // that is a configuration error, reported with librdkafka's reason. The
                // client's error events reach its context only when its queue is served.
                for _ in 0..10 {
                    let _no_subscription = meta.poll(Duration::from_millis(50));
                    if meta.context().refusal().is_some() {
                        break;
                    }
                }
                match meta.context().refusal() {
                    Some(reason) => PortError::Invalid(format!(
                        "Kafka at {shown} refused the connection: {reason} (check security.protocol, \
                         the sasl.* settings, kafka.sasl-password and ssl.ca.location)"
                    )),
                    None => PortError::Unavailable(format!(
                        "cannot reach Kafka at {shown} within {} ms: {e} (is a broker running there?)",
                        timeout.as_millis()
                    )),
                }
            })
        })
        .await?;
        tracing::info!(url = %log.url, "Connected to Kafka.");
        Ok(Arc::new(log))
    }

    /// The settings every client shares: brokers, client id, then the extra properties.
    fn client_config(bootstrap: &str, options: &KafkaOptions) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", bootstrap)
            .set("client.id", &options.client_id);
        for (k, v) in &options.properties {
            c.set(k, v);
        }
        if !options.sasl_password.is_empty() {
            c.set("sasl.password", options.sasl_password.expose());
        }
        c
    }

    fn producer_config(bootstrap: &str, options: &KafkaOptions) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", bootstrap)
            .set("client.id", &options.client_id)
            // Java's default partitioner, so other producers put one key on the same partition.
            .set("partitioner", "murmur2_random")
            .set(
                "message.timeout.ms",
                options.delivery_timeout_ms.to_string(),
            );
        for (k, v) in &options.properties {
            c.set(k, v);
        }
        if !options.sasl_password.is_empty() {
            c.set("sasl.password", options.sasl_password.expose());
        }
        // The contract: durable (acks=all) and, with retries, neither duplicated nor reordered.
        c.set("enable.idempotence", "true").set("acks", "all");
        c
    }

    /// Settings of a consumer in `group`: manual commits, from the start when nothing is
    /// committed.
    pub(crate) fn group_config(&self, group: &str) -> ClientConfig {
        let mut c = Self::client_config(&self.bootstrap, &self.options);
        c.set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("allow.auto.create.topics", "false");
        if !self.options.properties.contains_key("auto.offset.reset") {
            c.set("auto.offset.reset", "earliest");
        }
        c
    }

    /// What the metadata says about `topic`.
    async fn topic_state(&self, topic: &str) -> Result<TopicState> {
        let meta = self.meta.clone();
        let timeout = self.options.operation_timeout();
        let topic = topic.to_string();
        blocking(move || {
            let md = meta
                .fetch_metadata(Some(&topic), timeout)
                .map_err(|e| classify(&format!("metadata of `{topic}`"), &e))?;
            let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
                return Ok(TopicState::Missing);
            };
            if let Some(err) = t.error() {
                let code = RDKafkaErrorCode::from(err);
                return match code {
                    RDKafkaErrorCode::UnknownTopicOrPartition
                    | RDKafkaErrorCode::UnknownTopic
                    | RDKafkaErrorCode::UnknownTopicId
                    | RDKafkaErrorCode::LeaderNotAvailable => Ok(TopicState::Missing),
                    _ => Err(from_code(&format!("metadata of `{topic}`"), code)),
                };
            }
            let n = t.partitions().len();
            if n == 0 {
                return Ok(TopicState::Missing);
            }
            let n = u32::try_from(n)
                .map_err(|_| PortError::Internal(format!("`{topic}` has {n} partitions")))?;
            let led = t
                .partitions()
                .iter()
                .all(|p| p.error().is_none() && p.leader() >= 0);
            Ok(TopicState::Exists { partitions: n, led })
        })
        .await
    }

    /// Creates `topic` with the configured partitions and replication; an existing topic is fine.
    async fn create_topic(&self, topic: &str) -> Result<()> {
        let partitions = i32::try_from(self.options.partitions)
            .map_err(|_| PortError::Invalid("Kafka options: too many partitions".into()))?;
        let new = NewTopic::new(
            topic,
            partitions,
            TopicReplication::Fixed(i32::from(self.options.replication_factor)),
        );
        let opts = AdminOptions::new()
            .request_timeout(Some(self.options.operation_timeout()))
            .operation_timeout(Some(self.options.operation_timeout()));
        let results = self
            .admin
            .create_topics([&new], &opts)
            .await
            .map_err(|e| classify(&format!("creating topic `{topic}`"), &e))?;
        for r in results {
            match r {
                Ok(_) => tracing::info!(
                    topic,
                    partitions = self.options.partitions,
                    replication_factor = self.options.replication_factor,
                    "Created Kafka topic."
                ),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((_, code)) => {
                    return Err(from_code(&format!("creating topic `{topic}`"), code));
                }
            }
        }
        Ok(())
    }

    fn remember(&self, topic: &str) {
        self.known_topics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(topic.to_string());
    }

    fn is_known(&self, topic: &str) -> bool {
        self.known_topics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(topic)
    }

    fn record<'a>(topic: &'a str, r: &'a NewRecord) -> FutureRecord<'a, [u8], [u8]> {
        let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
        for (key, value) in &r.headers {
            headers = headers.insert(Header {
                key,
                value: Some(value.as_slice()),
            });
        }
        FutureRecord::to(topic)
            .key(r.key.as_slice())
            .payload(r.value.as_slice())
            .headers(headers)
    }

    /// Queues one record in the producer; the error says whether the queue is full.
    fn enqueue(
        &self,
        topic: &str,
        r: &NewRecord,
    ) -> std::result::Result<DeliveryFuture, KafkaError> {
        self.producer
            .send_result(Self::record(topic, r))
            .map_err(|(e, _record)| e)
    }
}

#[async_trait]
impl EventLog for KafkaEventLog {
    async fn ensure_topic(&self, topic: &str) -> Result<u32> {
        if topic.is_empty() {
            return Err(PortError::Invalid("an empty topic name".into()));
        }
        if let TopicState::Exists { partitions, .. } = self.topic_state(topic).await? {
            self.remember(topic);
            return Ok(partitions);
        }
        self.create_topic(topic).await?;
        // Metadata trails the creation for a moment, and a new partition takes requests only
        // once it has a leader: wait for both, so the next call on the topic works.
        let deadline = Instant::now() + self.options.operation_timeout();
        loop {
            let state = self.topic_state(topic).await?;
            if let TopicState::Exists {
                partitions,
                led: true,
            } = state
            {
                self.remember(topic);
                return Ok(partitions);
            }
            if Instant::now() >= deadline {
                return Err(PortError::Unavailable(format!(
                    "Kafka topic `{topic}` was created but its partitions have no leader yet ({state:?})"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn append(&self, topic: &str, records: Vec<NewRecord>) -> Result<Vec<Position>> {
        // Like the embedded log, appending to a missing topic creates it (the broker's own
        // auto-creation is off: it would hide typos and ignore our partition count).
        if !self.is_known(topic) {
            self.ensure_topic(topic).await?;
        }
        // Queue everything first (one batch on the wire), then wait for every delivery, even
        // after a failure, so no record of this call is still in flight when it returns.
        let mut pending = Vec::with_capacity(records.len());
        for r in &records {
            let delivery = loop {
                match self.enqueue(topic, r) {
                    Ok(d) => break d,
                    Err(KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)) => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err(e) => {
                        // Await what is already queued before failing.
                        for d in pending {
                            let _ = d.await;
                        }
                        return Err(classify(&format!("append to `{topic}`"), &e));
                    }
                }
            };
            pending.push(delivery);
        }
        let mut positions = Vec::with_capacity(records.len());
        let mut first_error = None;
        for d in pending {
            match d.await {
                Ok(Ok(delivery)) => positions.push(Position {
                    partition: partition_u32(delivery.partition)?,
                    offset: offset_u64(delivery.offset)?,
                }),
                Ok(Err((e, _message))) => {
                    first_error
                        .get_or_insert_with(|| classify(&format!("append to `{topic}`"), &e));
                }
                Err(_canceled) => {
                    first_error.get_or_insert_with(|| {
                        PortError::Internal("the Kafka producer was dropped".into())
                    });
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(positions),
        }
    }

    async fn end_offsets(&self, topic: &str) -> Result<BTreeMap<u32, u64>> {
        let partitions = self.ensure_topic(topic).await?;
        let meta = self.meta.clone();
        let timeout = self.options.operation_timeout();
        let topic = topic.to_string();
        blocking(move || {
            // Leadership moves (and a new topic's settles): retry transient errors a while.
            let deadline = Instant::now() + timeout;
            let mut out = BTreeMap::new();
            for p in 0..partitions {
                let high = loop {
                    match meta.fetch_watermarks(&topic, partition_i32(p)?, timeout) {
                        Ok((_low, high)) => break high,
                        Err(e) => {
                            let error = classify(&format!("watermarks of `{topic}`/{p}"), &e);
                            if !error.is_retryable() || Instant::now() >= deadline {
                                return Err(error);
                            }
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                };
                out.insert(p, offset_u64(high)?);
            }
            Ok(out)
        })
        .await
    }

    async fn committed_offsets(&self, topic: &str, group: &str) -> Result<BTreeMap<u32, u64>> {
        let partitions = self.ensure_topic(topic).await?;
        let config = self.group_config(group);
        let timeout = self.options.operation_timeout();
        let (topic, group) = (topic.to_string(), group.to_string());
        blocking(move || {
            // A client with the group's id reads its offsets (OffsetFetch) without joining.
            let reader: BaseConsumer = config
                .create()
                .map_err(|e| classify("offset reader creation", &e))?;
            let mut tpl = TopicPartitionList::with_capacity(partitions as usize);
            for p in 0..partitions {
                tpl.add_partition(&topic, partition_i32(p)?);
            }
            let committed = reader
                .committed_offsets(tpl, timeout)
                .map_err(|e| classify(&format!("offsets of group `{group}` on `{topic}`"), &e))?;
            let mut out = BTreeMap::new();
            for elem in committed.elements_for_topic(&topic) {
                if let Offset::Offset(o) = elem.offset()
                    && o >= 0
                {
                    out.insert(partition_u32(elem.partition())?, offset_u64(o)?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn consumer(&self, topic: &str, group: &str) -> Result<Box<dyn LogConsumer>> {
        self.ensure_topic(topic).await?;
        let consumer = KafkaConsumer::start(
            self.group_config(group),
            topic,
            group,
            self.options.revoke_timeout(),
        )?;
        Ok(Box::new(consumer))
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}
