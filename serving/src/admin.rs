//! The admin endpoints, for data engineers and operators:
//!
//! | endpoint | does |
//! |---|---|
//! | `POST /api/v1/admin/recompute` | starts a recompute (and flip) in the background: `202`, or `409 recompute_running` |
//! | `GET /api/v1/admin/recompute` | the last recompute started here: state, times, the epoch it made or its error |
//! | `POST /api/v1/admin/rollback` | makes the previous pair active again: the new active pair |
//!
//! Every admin request needs `Authorization: Bearer <serving.admin-token>`: without the header
//! or with another token the answer is `401 unauthorized`; when no token is configured the admin
//! API is off (`403 admin_disabled`). The token is compared in constant time.
//!
//! The recompute itself lives in the batch layer; the binary hands serving a
//! [`RecomputeFn`] through [`AdminActions`], so this crate does not depend on DataFusion. Only
//! one recompute runs at a time anywhere: the coordinator refuses a second
//! ([`ports::LambdaSwitch::begin_recompute`]).

use crate::AppState;
use crate::api::{ApiError, ApiResult, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use ports::{ActivePair, LambdaSwitch};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Runs one recompute to its flip and returns the new active pair (or why it failed). It must
/// stop promptly once its token is cancelled (the server is shutting down).
pub type RecomputeFn =
    Arc<dyn Fn(CancellationToken) -> BoxFuture<'static, Result<ActivePair, String>> + Send + Sync>;

/// What the admin endpoints can do beyond the coordinator, supplied by the binary.
#[derive(Clone, Default)]
pub struct AdminActions {
    /// The recompute, if this process may run one.
    pub recompute: Option<RecomputeFn>,
}

/// The state of the last recompute started through this server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RecomputeRun {
    /// `idle` (none started here), `running`, `succeeded` or `failed`.
    pub state: &'static str,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// The epoch of the pair it made active.
    pub epoch: Option<u64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// The admin part of the server's state.
pub struct AdminState {
    actions: AdminActions,
    run: Mutex<RecomputeRun>,
    shutdown: CancellationToken,
}

impl AdminState {
    /// Admin state for `actions`; background work stops with `shutdown`.
    pub fn new(actions: AdminActions, shutdown: CancellationToken) -> Self {
        AdminState {
            actions,
            run: Mutex::new(RecomputeRun {
                state: "idle",
                ..RecomputeRun::default()
            }),
            shutdown,
        }
    }
}

/// Checks the bearer token of an admin request.
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let expected = state.cfg.admin_token.expose();
    if expected.is_empty() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "admin_disabled",
            "the admin API is off: set serving.admin-token (LT__SERVING__ADMIN_TOKEN) to enable it",
        ));
    }
    let given = crate::access::presented_token(headers, None).unwrap_or("");
    if !crate::access::token_matches(given, expected) {
        metrics::counter!("lambda_serving_admin_denied_total").increment(1);
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "an admin request needs the header `Authorization: Bearer <admin token>`",
        ));
    }
    Ok(())
}

/// Starts a recompute (DataFusion over the master dataset, then the flip) in the background.
#[utoipa::path(post, path = "/api/v1/admin/recompute", tag = "admin", security(("admin_token" = [])),
    responses((status = 202, body = RecomputeRun), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`recompute_running`"), (status = 501, body = ErrorBody)))]
pub async fn start_recompute(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize(&state, &headers) {
        return e.into_response();
    }
    let Some(recompute) = state.admin.actions.recompute.clone() else {
        return ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "recompute_unavailable",
            "this server cannot run a recompute; run `lambda-trends recompute` instead",
        )
        .into_response();
    };
    {
        let mut run = state.admin.run.lock().expect("admin state poisoned");
        if run.state == "running" {
            return ApiError::new(
                StatusCode::CONFLICT,
                "recompute_running",
                "a recompute started here is still running",
            )
            .into_response();
        }
        *run = RecomputeRun {
            state: "running",
            started_at: Some(Utc::now()),
            ..RecomputeRun::default()
        };
    }
    tracing::info!("Recompute requested through the admin API.");
    let st = state.clone();
    let shutdown = state.admin.shutdown.child_token();
    tokio::spawn(async move {
        let result = recompute(shutdown).await;
        let mut run = st.admin.run.lock().expect("admin state poisoned");
        run.finished_at = Some(Utc::now());
        match result {
            Ok(pair) => {
                run.state = "succeeded";
                run.epoch = Some(pair.epoch.0);
            }
            Err(error) => {
                tracing::error!(%error, "The recompute requested through the admin API failed.");
                run.state = "failed";
                run.error = Some(error);
            }
        }
    });
    let run = state
        .admin
        .run
        .lock()
        .expect("admin state poisoned")
        .clone();
    (StatusCode::ACCEPTED, Json(run)).into_response()
}

/// The last recompute started through this server.
#[utoipa::path(get, path = "/api/v1/admin/recompute", tag = "admin", security(("admin_token" = [])),
    responses((status = 200, body = RecomputeRun), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn recompute_state(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<RecomputeRun> {
    authorize(&state, &headers)?;
    Ok(Json(
        state
            .admin
            .run
            .lock()
            .expect("admin state poisoned")
            .clone(),
    ))
}

/// Makes the previous batch/speed pair active again; answers with the new active pair.
#[utoipa::path(post, path = "/api/v1/admin/rollback", tag = "admin", security(("admin_token" = [])),
    responses((status = 200, body = Object, description = "The active pair"), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "`nothing_to_roll_back`, or a recompute is in progress")))]
pub async fn rollback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<ActivePair> {
    authorize(&state, &headers)?;
    let pair = LambdaSwitch::new(state.backends.coordinator.clone())
        .rollback()
        .await
        .map_err(|e| match e {
            ports::PortError::Invalid(m) => {
                ApiError::new(StatusCode::CONFLICT, "nothing_to_roll_back", m)
            }
            other => other.into(),
        })?;
    tracing::info!(epoch = pair.epoch.0, "Rolled back through the admin API.");
    Ok(Json(pair))
}
