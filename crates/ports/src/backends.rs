//! Choosing the backends once, at start-up, from URLs.

use crate::{
    Coordinator, EmbeddedStore, EventLog, MasterDataset, ObjectStoreMasterDataset, PortError,
    Result, ViewStore,
};
use model::avro::PostCodec;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where each port lives. `embedded` means the redb file (or, for the master dataset, the
/// `master/` directory) under the data directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct BackendUrls {
    /// The event log: `embedded` or `kafka://host:9092[,host:9092][/namespace]` (a namespace
    /// prefixes every topic and consumer group with `namespace.`).
    pub event_log: String,
    /// The view store: `embedded` or `cassandra://host:9042[,host:9042]/keyspace`.
    pub views: String,
    /// The coordinator: `embedded` or `zk://host:2181[,host:2181]/chroot`.
    pub coordinator: String,
    /// The master dataset: `embedded` (`<data-dir>/master`), `file:///abs/path`, or
    /// `s3://bucket/prefix` (S3 or an S3-compatible store, configured by the standard `AWS_*`
    /// environment variables, e.g. `AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP` for MinIO).
    pub master: String,
    /// Partitions of topics the embedded log creates.
    pub partitions: u32,
    /// Write posts in the Confluent wire format under this schema-registry id (the id of
    /// `schemas/avro/post.avsc` in your registry) instead of Avro single-object encoding.
    /// Readers accept both either way.
    pub confluent_schema_id: Option<u32>,
}

impl Default for BackendUrls {
    fn default() -> Self {
        BackendUrls {
            event_log: "embedded".into(),
            views: "embedded".into(),
            coordinator: "embedded".into(),
            master: "embedded".into(),
            partitions: 4,
            confluent_schema_id: None,
        }
    }
}

/// The four ports, opened.
#[derive(Clone)]
pub struct Backends {
    /// The event log.
    pub log: Arc<dyn EventLog>,
    /// The view store.
    pub views: Arc<dyn ViewStore>,
    /// The coordinator.
    pub coordinator: Arc<dyn Coordinator>,
    /// The master dataset.
    pub master: Arc<dyn MasterDataset>,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The Avro codec of the event log's values.
    pub codec: PostCodec,
}

impl std::fmt::Debug for Backends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backends")
            .field("log", &self.log.describe())
            .field("views", &self.views.describe())
            .field("coordinator", &self.coordinator.describe())
            .field("master", &self.master.describe())
            .finish()
    }
}

fn unsupported(what: &str, url: &str) -> PortError {
    PortError::Invalid(format!(
        "{what} backend `{url}` is not supported by this build: use `embedded`, or a `kafka://`, `cassandra://` or `zk://` URL with the matching cargo feature of `lambda-trends` (all on by default)"
    ))
}

/// Real adapters, already connected by the binary for the URLs that name them (the adapters live
/// in their own crates, above this one). A port left `None` must be `embedded` in the URLs.
#[derive(Default)]
pub struct Adapters {
    /// The event log for a `kafka://` URL.
    pub log: Option<Arc<dyn EventLog>>,
    /// The view store for a `cassandra://` URL.
    pub views: Option<Arc<dyn ViewStore>>,
    /// The coordinator for a `zk://` URL.
    pub coordinator: Option<Arc<dyn Coordinator>>,
}

impl Backends {
    /// Opens every backend named in `urls` as embedded ones under `data_dir` (the master
    /// dataset may also be a `file://` URL).
    pub fn open(urls: &BackendUrls, data_dir: &Path) -> Result<Backends> {
        Self::open_with(urls, data_dir, Adapters::default())
    }

    /// Like [`Backends::open`], with `adapters` for the ports whose URLs are not `embedded`.
    pub fn open_with(urls: &BackendUrls, data_dir: &Path, adapters: Adapters) -> Result<Backends> {
        let mut embedded: Option<Arc<EmbeddedStore>> = None;
        let mut embedded_store = || -> Result<Arc<EmbeddedStore>> {
            if let Some(e) = &embedded {
                return Ok(e.clone());
            }
            let e = EmbeddedStore::open(data_dir, urls.partitions)?;
            embedded = Some(e.clone());
            Ok(e)
        };
        let log: Arc<dyn EventLog> = match (adapters.log, urls.event_log.as_str()) {
            (Some(log), _) => log,
            (None, "embedded") => Arc::new(embedded_store()?),
            (None, other) => return Err(unsupported("event log", other)),
        };
        let views: Arc<dyn ViewStore> = match (adapters.views, urls.views.as_str()) {
            (Some(views), _) => views,
            (None, "embedded") => Arc::new(embedded_store()?),
            (None, other) => return Err(unsupported("view store", other)),
        };
        let coordinator: Arc<dyn Coordinator> =
            match (adapters.coordinator, urls.coordinator.as_str()) {
                (Some(c), _) => c,
                (None, "embedded") => Arc::new(embedded_store()?),
                (None, other) => return Err(unsupported("coordinator", other)),
            };
        let master: Arc<dyn MasterDataset> = match urls.master.as_str() {
            "embedded" => Arc::new(ObjectStoreMasterDataset::local(&data_dir.join("master"))?),
            other => {
                let url = url::Url::parse(other).map_err(|e| {
                    PortError::Invalid(format!("master dataset URL `{other}`: {e}"))
                })?;
                Arc::new(ObjectStoreMasterDataset::from_url(&url)?)
            }
        };
        let codec = match urls.confluent_schema_id {
            Some(id) => PostCodec::with_confluent_schema_id(id),
            None => PostCodec::new(),
        };
        Ok(Backends {
            log,
            views,
            coordinator,
            master,
            data_dir: data_dir.to_path_buf(),
            codec,
        })
    }
}
