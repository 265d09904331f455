//! Opening the backends named in the configuration: the one place where a URL scheme picks an
//! adapter (a small closed set, matched once at start-up).

use crate::config::Config;
use anyhow::{Context, Result};
use ports::{Adapters, Backends};

/// Connects the real adapters the URLs name and opens the embedded ones for the rest.
pub async fn open(cfg: &Config) -> Result<Backends> {
    let urls = &cfg.backends;
    #[allow(unused_mut)]
    let mut adapters = Adapters::default();
    if let Some(rest) = urls.event_log.strip_prefix("kafka://") {
        #[cfg(feature = "kafka")]
        {
            // `kafka://brokers/namespace`: topics and groups are prefixed with `namespace.`.
            let (brokers, namespace) = match rest.split_once('/') {
                Some((b, ns)) if !ns.is_empty() => (b, Some(ns)),
                Some((b, _)) => (b, None),
                None => (rest, None),
            };
            let log =
                kafka::KafkaEventLog::connect(&format!("kafka://{brokers}"), cfg.kafka.clone())
                    .await
                    .with_context(|| format!("connecting to the event log {}", urls.event_log))?;
            adapters.log = Some(match namespace {
                Some(ns) => std::sync::Arc::new(ports::NamespacedLog::new(log, ns)?),
                None => log,
            });
        }
        #[cfg(not(feature = "kafka"))]
        let _ = rest;
    }
    if urls.views.starts_with("cassandra://") || urls.views.starts_with("scylla://") {
        #[cfg(feature = "cassandra")]
        {
            let views =
                cassandra::CassandraViewStore::connect_with(&urls.views, cfg.cassandra.clone())
                    .await
                    .with_context(|| format!("connecting to the view store {}", urls.views))?;
            adapters.views = Some(views);
        }
    }
    if urls.coordinator.starts_with("zk://") {
        #[cfg(feature = "zookeeper")]
        {
            let coordinator = zk::ZkCoordinator::connect(&urls.coordinator)
                .await
                .with_context(|| format!("connecting to the coordinator {}", urls.coordinator))?;
            adapters.coordinator = Some(coordinator);
        }
    }
    Backends::open_with(urls, &cfg.data_dir, adapters).context("opening the backends")
}
