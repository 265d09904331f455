//! [`KafkaOptions`] and the `kafka://` URL.

use ports::{PortError, Secret};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Settings of the Kafka event log (everything but the broker list, which is the URL).
///
/// Defaults suit a single development broker; production clusters usually raise
/// `replication-factor` to 3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct KafkaOptions {
    /// Partitions of the topics this adapter creates ([`ports::EventLog::ensure_topic`]).
    /// Existing topics keep theirs.
    pub partitions: u32,
    /// Replication factor of the topics this adapter creates.
    pub replication_factor: u16,
    /// The `client.id` of every client (shows up in broker logs and quotas).
    pub client_id: String,
    /// Extra librdkafka properties (`security.protocol`, `sasl.*`, `linger.ms`, ...), given to
    /// every client (producer, admin, consumers). They are applied after the adapter's defaults
    /// but before the settings the port's contract relies on, which cannot be overridden:
    /// `enable.idempotence`, `acks`, `enable.auto.commit`, `group.id`.
    pub properties: BTreeMap<String, String>,
    /// librdkafka's `sasl.password`, kept apart from `properties` so it can come from a
    /// secret (`LT__KAFKA__SASL_PASSWORD`) and is never shown by `config show` or in logs.
    pub sasl_password: Secret,
    /// Time limit of metadata, admin, watermark and offset requests, milliseconds. Also the
    /// time the health check on connect waits for a broker.
    pub operation_timeout_ms: u64,
    /// How long the producer keeps retrying a record before `append` fails
    /// (librdkafka's `message.timeout.ms`), milliseconds.
    pub delivery_timeout_ms: u64,
    /// How long a consumer holds a revocation open, waiting for its caller to flush and commit
    /// (see the crate docs), milliseconds. Keep it well below `max.poll.interval.ms`
    /// (300 000 by default): the whole group waits for the rebalance meanwhile.
    pub revoke_timeout_ms: u64,
}

impl Default for KafkaOptions {
    fn default() -> Self {
        KafkaOptions {
            partitions: 4,
            replication_factor: 1,
            client_id: "lambda-trends".into(),
            properties: BTreeMap::new(),
            sasl_password: Secret::default(),
            operation_timeout_ms: 10_000,
            delivery_timeout_ms: 30_000,
            revoke_timeout_ms: 30_000,
        }
    }
}

impl KafkaOptions {
    pub(crate) fn operation_timeout(&self) -> Duration {
        Duration::from_millis(self.operation_timeout_ms)
    }

    pub(crate) fn revoke_timeout(&self) -> Duration {
        Duration::from_millis(self.revoke_timeout_ms)
    }
}

/// Parses `kafka://host:port[,host:port...]` into librdkafka's `bootstrap.servers` list.
pub(crate) fn bootstrap_servers(url: &str) -> Result<String, PortError> {
    let invalid = |why: &str| {
        PortError::Invalid(format!(
            "event log URL `{url}`: {why} (expected kafka://host:port[,host:port...])"
        ))
    };
    let rest = url
        .strip_prefix("kafka://")
        .ok_or_else(|| invalid("the scheme must be kafka://"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Err(invalid("no broker given"));
    }
    if rest.contains(['/', '?', '#', '@']) {
        return Err(invalid("paths, queries and credentials are not supported"));
    }
    let mut brokers = Vec::new();
    for broker in rest.split(',') {
        let (host, port) = broker
            .rsplit_once(':')
            .ok_or_else(|| invalid(&format!("broker `{broker}` has no port")))?;
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(invalid(&format!("broker `{broker}` has no valid host")));
        }
        match port.parse::<u16>() {
            Ok(p) if p > 0 => {}
            _ => return Err(invalid(&format!("broker `{broker}` has no valid port"))),
        }
        brokers.push(broker);
    }
    Ok(brokers.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_or_more_brokers() {
        assert_eq!(
            bootstrap_servers("kafka://127.0.0.1:9092").unwrap(),
            "127.0.0.1:9092"
        );
        assert_eq!(
            bootstrap_servers("kafka://a:1,b:2/").unwrap(),
            "a:1,b:2",
            "a trailing slash is fine"
        );
        assert_eq!(
            bootstrap_servers("kafka://[::1]:9092").unwrap(),
            "[::1]:9092"
        );
    }

    #[test]
    fn rejects_malformed_urls() {
        for bad in [
            "http://a:1",
            "kafka://",
            "kafka://a",
            "kafka://a:x",
            "kafka://a:0",
            "kafka://:9092",
            "kafka://a:1,",
            "kafka://a:1/topic",
            "kafka://u:p@a:1",
        ] {
            assert!(
                matches!(bootstrap_servers(bad), Err(PortError::Invalid(_))),
                "{bad} must be refused"
            );
        }
    }

    #[test]
    fn options_deserialize_with_defaults() {
        let o: KafkaOptions = serde_json::from_str(r#"{"partitions": 8}"#).unwrap();
        assert_eq!(o.partitions, 8);
        assert_eq!(o.replication_factor, 1);
        assert!(serde_json::from_str::<KafkaOptions>(r#"{"partition": 8}"#).is_err());
    }
}
