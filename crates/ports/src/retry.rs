//! Retrying backend operations through outages: exponential backoff with jitter, for errors
//! that [`PortError::is_retryable`] says may pass, reported as they happen (logs, metrics and
//! [`crate::health`], so `/readyz` shows the outage), until shutdown.

use crate::{PortError, Result};
use backon::{BackoffBuilder, ExponentialBuilder};
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

/// Runs `op` until it succeeds or fails with an error that is not
/// [`PortError::Unavailable`]. An attempt under way is never cancelled; once `shutdown` fires,
/// no new attempt starts and the last error is returned. Each retry is logged with what is
/// retried and counted in `lambda_backend_retries_total{operation}`, and the operation is a
/// problem in [`crate::health::global`] from its first failure until it succeeds.
pub async fn retry_until_shutdown<T, F, Fut>(
    what: &'static str,
    shutdown: &CancellationToken,
    mut op: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut delays = outage_backoff().build();
    loop {
        let error = match op().await {
            Ok(v) => {
                crate::health::global().recovered(what);
                return Ok(v);
            }
            Err(e @ PortError::Unavailable(_)) if !shutdown.is_cancelled() => e,
            Err(e) => return Err(e),
        };
        crate::health::global().failing(what, &error.to_string());
        let after = delays.next().unwrap_or(Duration::from_secs(10));
        metrics::counter!("lambda_backend_retries_total", "operation" => what).increment(1);
        tracing::warn!(%error, operation = what, retry_in_ms = after.as_millis() as u64, "Backend operation failed; retrying.");
        tokio::select! {
            _ = tokio::time::sleep(after) => {}
            _ = shutdown.cancelled() => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn retries_outages_but_not_invalid_input() {
        let shutdown = CancellationToken::new();
        let calls = AtomicU32::new(0);
        let r = retry_until_shutdown("test", &shutdown, || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0..=2 => Err(PortError::Unavailable("down".into())),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(r.unwrap(), 3, "three outages, then success");
        assert!(
            !crate::health::global()
                .readiness()
                .problems
                .iter()
                .any(|p| p.operation == "test"),
            "a success clears the outage from /readyz"
        );
        let calls = AtomicU32::new(0);
        let r: Result<()> = retry_until_shutdown("test", &shutdown, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(PortError::Invalid("bad".into()))
        })
        .await;
        assert!(matches!(r, Err(PortError::Invalid(_))));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "invalid input is not retried"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_stops_retrying_with_the_last_error() {
        let shutdown = CancellationToken::new();
        let s = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            s.cancel();
        });
        let r: Result<()> = retry_until_shutdown("test.shutdown", &shutdown, || async {
            Err(PortError::Unavailable("down".into()))
        })
        .await;
        assert!(matches!(r, Err(PortError::Unavailable(m)) if m == "down"));
        let readiness = crate::health::global().readiness();
        let problem = readiness
            .problems
            .iter()
            .find(|p| p.operation == "test.shutdown")
            .expect("an outage never recovered stays on /readyz");
        assert!(problem.attempts >= 2 && problem.error.contains("down"));
    }
}
