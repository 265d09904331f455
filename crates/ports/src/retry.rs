//! Retrying backend operations through outages: exponential backoff with jitter, for errors
//! that [`PortError::is_retryable`] says may pass, reported as they happen, until shutdown.

use crate::{PortError, Result};
use backon::{ExponentialBuilder, Retryable};
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The backoff used for backend outages: 100 ms doubling to 10 s, with jitter, without end.
pub fn outage_backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(10))
        .with_jitter()
        .without_max_times()
}

/// Runs `op` until it succeeds, fails with an error that is not retryable, or `shutdown` fires
/// (then [`PortError::Unavailable`] saying so). Each retry is logged with what is retried and
/// counted in `lambda_backend_retries_total{operation}`.
pub async fn retry_until_shutdown<T, F, Fut>(what: &'static str, shutdown: &CancellationToken, op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let attempt = op
        .retry(outage_backoff())
        .when(|e: &PortError| matches!(e, PortError::Unavailable(_)))
        .notify(|error: &PortError, after: Duration| {
            metrics::counter!("lambda_backend_retries_total", "operation" => what).increment(1);
            tracing::warn!(%error, operation = what, retry_in_ms = after.as_millis() as u64, "Backend operation failed; retrying.");
        });
    tokio::select! {
        r = attempt => r,
        _ = shutdown.cancelled() => Err(PortError::Unavailable(format!("{what}: gave up retrying at shutdown"))),
    }
}
