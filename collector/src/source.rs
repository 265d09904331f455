//! The interface of live sources (the X sampled stream, Bluesky Jetstream): an endless stream
//! of posts and malformed inputs, which [`crate::publisher`] batches into the event log.

use crate::publisher::CollectorError;
use async_trait::async_trait;
use model::Post;
use tokio_util::sync::CancellationToken;

/// One thing a live source produced.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    /// A post.
    Post(Post),
    /// Input that is not a post: it goes to the dead-letter topic with its reason, and is counted.
    Malformed {
        /// The input as received (a line, a frame).
        raw: String,
        /// Why it was rejected, for humans.
        reason: String,
        /// A short, stable code for metrics (`invalid_json`, `missing_id`, ...).
        code: &'static str,
    },
}

/// A live source of posts.
///
/// Required behaviour: `next` waits for the next event, reconnecting by itself (with the
/// backoff its protocol asks for) through disconnects, stalls and server errors, and counting
/// them in metrics; it returns `Ok(None)` once `shutdown` fires, and an error only when going
/// on is pointless (bad credentials, a bad configuration). `next` must be cancel-safe: the
/// publisher drops it when the source has been quiet for a moment (to send a partial batch),
/// and nothing may be lost when it does (keep partial lines and frames in the source, not in
/// the future).
#[async_trait]
pub trait LiveSource: Send {
    /// The next post or malformed input; `None` at shutdown.
    async fn next(
        &mut self,
        shutdown: &CancellationToken,
    ) -> Result<Option<SourceEvent>, CollectorError>;

    /// A short name for logs and metric labels (`x-sample`, `jetstream`).
    fn name(&self) -> &'static str;

    /// Called by the publisher once every event `next` has returned so far is in the event log
    /// (after each batch, and with `last` after the final one, before the collector stops). A
    /// source that persists a resume position (a cursor) saves it here, so the position never
    /// runs ahead of what the log holds. The default does nothing.
    fn acknowledged(&mut self, last: bool) {
        let _ = last;
    }
}
