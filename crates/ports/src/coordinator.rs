//! The [`Coordinator`] port: small versioned documents with compare-and-set and watches, the
//! shape of a ZooKeeper znode.

use crate::Result;
use async_trait::async_trait;
use tokio::sync::watch;

/// A document and its version. Versions start at 0 on creation and grow by one per write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The document's bytes (JSON for the protocol documents).
    pub data: Vec<u8>,
    /// The version the next compare-and-set must name.
    pub version: u64,
}

/// Versioned documents under paths like `/lambda-trends/active`.
///
/// Required behaviour (checked by [`crate::conformance::coordinator`]):
/// - `compare_and_set` with `expected: None` creates the document and fails with
///   [`crate::PortError::Conflict`] if it exists; with `Some(v)` it replaces the document only if
///   its version is `v`, else `Conflict`. It returns the new version.
/// - a watch receiver sees the current value at once and every later change (possibly
///   coalesced, never missing the latest).
/// - `append_sequential` stores a new child with an increasing, zero-padded sequence name.
#[async_trait]
pub trait Coordinator: Send + Sync + 'static {
    /// Reads a document.
    async fn get(&self, path: &str) -> Result<Option<Versioned>>;

    /// Writes a document if its version is still `expected` (`None`: if it does not exist).
    async fn compare_and_set(&self, path: &str, data: &[u8], expected: Option<u64>) -> Result<u64>;

    /// Watches a document.
    async fn watch(&self, path: &str) -> Result<watch::Receiver<Option<Versioned>>>;

    /// Appends a child under `prefix` with a sequential name, returning its full path.
    async fn append_sequential(&self, prefix: &str, data: &[u8]) -> Result<String>;

    /// The children under `prefix`, in sequence order, at most the last `limit`.
    async fn children(&self, prefix: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>>;

    /// A short description for logs and the status endpoint.
    fn describe(&self) -> String;
}
