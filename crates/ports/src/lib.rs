//! The ports of lambda-trends: the four traits every backend implements, the batch/speed
//! protocol state they carry, the embedded (laptop) implementations, and one conformance suite.
//!
//! | trait | role | embedded default | real backend |
//! |---|---|---|---|
//! | [`EventLog`] | the append-only, partitioned log of posts | [`EmbeddedStore`] (redb) | Kafka |
//! | [`ViewStore`] | speed (counter) and batch tables of hashtag slot counts | [`EmbeddedStore`] | Cassandra / Scylla |
//! | [`Coordinator`] | versioned documents with compare-and-set and watches | [`EmbeddedStore`] | ZooKeeper |
//! | [`MasterDataset`] | Parquet master dataset with an atomic manifest | [`ObjectStoreMasterDataset`] on a local directory | the same on S3 |
//!
//! Components take these as `Arc<dyn Trait>`, chosen once at start-up from URLs
//! ([`Backends::open`]). The [`conformance`] module is the test suite every implementation runs,
//! so the embedded defaults and the real servers behave the same.
//!
//! One decision explained: the [`Coordinator`] trait is deliberately raw (bytes, versions,
//! watches: exactly what a ZooKeeper znode offers), and the Lambda protocol is written once on top
//! of it in [`protocol`], so no adapter re-implements the protocol.

pub mod backends;
pub mod conformance;
pub mod coordinator;
pub mod embedded;
pub mod error;
pub mod event_log;
pub mod health;
pub mod master;
pub mod protocol;
pub mod retry;
pub mod secret;
pub mod tables;
pub mod view_store;

pub use backends::{Adapters, BackendUrls, Backends};
pub use coordinator::{Coordinator, Versioned};
pub use embedded::EmbeddedStore;
pub use error::{PortError, Result};
pub use event_log::{
    ConsumerEvent, EventLog, LogConsumer, LogRecord, NamespacedLog, NewRecord, Position,
};
pub use master::{Manifest, MasterDataset, MasterFile, NewMasterFile, ObjectStoreMasterDataset};
pub use protocol::{ActivePair, Epoch, LambdaSwitch, SpeedPhase, SpeedState};
pub use secret::Secret;
pub use tables::{BatchTable, SpeedTable, ViewTable};
pub use view_store::{HashtagCount, SlotCount, ViewStore};
