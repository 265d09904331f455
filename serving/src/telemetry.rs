//! The telemetry endpoints every long-running component serves: `/healthz` (the process is
//! alive), `/readyz` (no backend operation is failing, see [`ports::health`]) and `/metrics`
//! (Prometheus text). `serve` and `up` have them on the API's address; `collect`, `speed` and
//! `ingest` on `telemetry.listen` ([`TelemetryConfig`]).

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use ports::health::Readiness;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Telemetry settings (`[telemetry]` in the config file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Where `collect`, `speed` and `ingest` serve `/healthz`, `/readyz` and `/metrics`, e.g.
    /// `0.0.0.0:9464`. Empty (the default): not served (`serve` and `up` have them on the API's
    /// address anyway).
    pub listen: String,
}

/// The routes `/healthz`, `/readyz` and `/metrics`.
pub fn router(metrics: Option<PrometheusHandle>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|| async { readiness_response(ports::health::global().readiness()) }),
        )
        .route(
            "/metrics",
            get(move || async move { metrics_response(metrics.as_ref()) }),
        )
}

/// `200` with the report when ready, `503` with it when not.
pub fn readiness_response(r: Readiness) -> Response {
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(r)).into_response()
}

/// The Prometheus exposition, or `404` when no recorder is installed.
pub fn metrics_response(metrics: Option<&PrometheusHandle>) -> Response {
    match metrics {
        Some(h) => h.render().into_response(),
        None => (StatusCode::NOT_FOUND, "no metrics recorder is installed").into_response(),
    }
}

/// Serves the telemetry routes on `cfg.listen` until `shutdown`; does nothing when it is empty.
pub async fn run(
    cfg: &TelemetryConfig,
    metrics: Option<PrometheusHandle>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    if cfg.listen.is_empty() {
        return Ok(());
    }
    let listener = TcpListener::bind(&cfg.listen).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {} (telemetry.listen): {e}", cfg.listen),
        )
    })?;
    tracing::info!(addr = %listener.local_addr()?, "Serving /healthz, /readyz and /metrics.");
    axum::serve(listener, router(metrics))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn readyz_is_503_with_the_failing_operation_during_an_outage() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let s = shutdown.clone();
        tokio::spawn(async move {
            axum::serve(listener, router(None))
                .with_graceful_shutdown(s.cancelled_owned())
                .await
        });
        let url = |p: &str| format!("http://{addr}{p}");
        let health = ports::health::global();
        health.failing("telemetry-test.write", "connection refused");
        let r = reqwest::get(url("/readyz")).await.unwrap();
        assert_eq!(r.status(), 503);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["ready"], false);
        assert!(
            body["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["operation"] == "telemetry-test.write"
                    && p["error"] == "connection refused")
        );
        health.recovered("telemetry-test.write");
        let body: serde_json::Value = reqwest::get(url("/readyz"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            !body["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["operation"] == "telemetry-test.write")
        );
        assert_eq!(reqwest::get(url("/healthz")).await.unwrap().status(), 200);
        assert_eq!(
            reqwest::get(url("/metrics")).await.unwrap().status(),
            404,
            "no recorder in this test"
        );
        shutdown.cancel();
    }
}
