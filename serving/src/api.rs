//! The HTTP API (JSON) and the static dashboard.

use crate::{AppState, merge, trends};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use model::{SLOT_MILLIS, SlotStart, params};
use ports::{PortError, ViewTable};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use tower_http::services::{ServeDir, ServeFile};

/// An error as the API returns it: a status and a JSON body
/// `{"error": "what went wrong, for people", "code": "a_stable_code"}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// An error with its status, stable code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// `400 bad_parameter`: a query or path parameter is wrong; the message says which and why.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_parameter", message)
    }
}

impl From<params::ParamError> for ApiError {
    fn from(e: params::ParamError) -> Self {
        ApiError::bad_request(e.0)
    }
}

/// The body of every error (for the OpenAPI document; [`ApiError`] writes it).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
    /// A stable code: `bad_parameter`, `backend_unavailable`, `conflict`, `unauthorized`,
    /// `admin_disabled`, `recompute_running`, `nothing_to_roll_back`, `internal`, ...
    pub code: String,
}

impl From<PortError> for ApiError {
    fn from(e: PortError) -> Self {
        tracing::warn!(error = %e, "A request failed in a backend.");
        match e {
            PortError::Unavailable(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "backend_unavailable",
                "a backend is unavailable; try again shortly",
            ),
            PortError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            PortError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "bad_parameter", m),
            PortError::Internal(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "error": self.message, "code": self.code })),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// What a JSON handler returns.
pub type ApiResult<T> = Result<Json<T>, ApiError>;

/// A JSON body already written (see [`SeriesResponse::to_json`]).
pub struct JsonBytes(pub Vec<u8>);

impl IntoResponse for JsonBytes {
    fn into_response(self) -> Response {
        (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            self.0,
        )
            .into_response()
    }
}

/// The router: API, health, metrics and the dashboard.
pub fn router(state: Arc<AppState>) -> Router {
    let assets = state.cfg.assets_path();
    let api = Router::new()
        .route("/api/v1/trending", get(trending))
        .route("/api/v1/hashtags", get(search))
        .route("/api/v1/hashtags/{tag}/series", get(series))
        .route("/api/v1/status", get(status))
        .route(
            "/api/v1/admin/recompute",
            get(crate::admin::recompute_state).post(crate::admin::start_recompute),
        )
        .route("/api/v1/admin/rollback", post(crate::admin::rollback))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(crate::openapi::document))
        .with_state(state);
    if assets.join("index.html").is_file() {
        let index = ServeFile::new(assets.join("index.html"));
        api.fallback_service(ServeDir::new(assets).fallback(index))
    } else {
        let hint = format!(
            "<!doctype html><title>lambda-trends</title><h1>lambda-trends</h1><p>The dashboard is not built \
             (no {}/index.html). Run <code>scripts/build-dashboard.sh</code>. The API is at \
             <a href=\"/api/v1/trending\">/api/v1/trending</a>.</p>",
            assets.display()
        );
        api.fallback(move || async move { Html(hint) })
    }
}

/// Query of `GET /api/v1/trending`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendingQuery {
    /// Window in minutes (1 to 1440; default from the config).
    pub minutes: Option<u32>,
    /// How many hashtags (1 to 1000; default from the config).
    pub limit: Option<usize>,
    /// Only posts in this language (needs a view grouping by `lang` in the active pair).
    pub lang: Option<String>,
    /// Only posts from this source (needs a view grouping by `source` in the active pair).
    pub source: Option<String>,
}

/// The cell-key prefix of trending restricted to `lang` and/or `source`: the prefix of a
/// 5-minute posts view of the active pair grouping by exactly those dimensions, with the
/// values. `None` when neither is asked for; an error naming what to define when no such view
/// exists.
pub fn trending_scope(
    views: &model::ViewSet,
    lang: Option<&str>,
    source: Option<&str>,
) -> Result<Option<String>, ApiError> {
    use model::view::{Bucket, Dimension, Measure};
    let mut wanted: Vec<(Dimension, &str)> = Vec::new();
    if let Some(l) = lang {
        wanted.push((Dimension::Lang, l));
    }
    if let Some(s) = source {
        wanted.push((Dimension::Source, s));
    }
    if wanted.is_empty() {
        return Ok(None);
    }
    let view = views.views.iter().find(|v| {
        v.bucket == Bucket::FiveMinutes
            && v.measure == Measure::Posts
            && v.group_by.len() == wanted.len()
            && wanted.iter().all(|(d, _)| v.group_by.contains(d))
    });
    let Some(view) = view else {
        let dims: Vec<&str> = wanted.iter().map(|(d, _)| d.column()).collect();
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "no_view",
            format!(
                "no view of the active pair counts posts by {} per 5 minutes: add one to the views file \
                 (group-by = [{}]) and recompute",
                dims.join(" and "),
                dims.iter()
                    .map(|d| format!("\"{d}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    let mut prefix = view.key_prefix();
    for d in &view.group_by {
        let value = wanted
            .iter()
            .find(|(w, _)| w == d)
            .map(|(_, v)| *v)
            .unwrap_or_default();
        let (lang, source) = match d {
            Dimension::Lang => (Some(value), None),
            Dimension::Source => (None, Some(value)),
        };
        prefix.push_str(&d.value(lang, source));
        prefix.push(model::view::KEY_SEPARATOR);
    }
    Ok(Some(prefix))
}

/// Body of `GET /api/v1/trending` and of the `trending` push.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TrendingResponse {
    /// The window, minutes.
    pub window_minutes: u32,
    /// When it was computed.
    pub as_of: DateTime<Utc>,
    /// Epoch of the pair that made it.
    pub epoch: u64,
    /// The language asked for (`null`: all).
    pub lang: Option<String>,
    /// The source asked for (`null`: all).
    pub source: Option<String>,
    /// Hashtags by merged count, highest first.
    pub hashtags: Vec<TrendingItem>,
}

/// One trending hashtag.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TrendingItem {
    /// Normalised hashtag.
    pub hashtag: String,
    /// Merged count in the window.
    pub count: i64,
    /// Burst score: the last five minutes against the hour before, as a z-score
    /// ([`crate::trends::burst_score`]); 3 or more is a burst. `null` while the system has no
    /// hour of history yet (no trending hashtag has any count in the baseline).
    pub burst: Option<f64>,
}

/// Computes the trending list (shared by the endpoint and the push loop): at most once per
/// `serving.trends-ttl-ms` for each window, limit and epoch, whoever asks.
pub async fn compute_trending(
    state: &AppState,
    minutes: u32,
    limit: usize,
) -> Result<Arc<TrendingResponse>, PortError> {
    compute_trending_in(state, minutes, limit, None, None)
        .await
        .map_err(|e| match e {
            TrendingError::Port(p) => p,
            TrendingError::Api(a) => PortError::Invalid(a.message),
        })
}

/// Why a filtered trending list cannot be computed.
#[derive(Debug)]
pub enum TrendingError {
    /// A backend failed.
    Port(PortError),
    /// The filter asks for a view the active pair does not hold.
    Api(ApiError),
}

impl From<PortError> for TrendingError {
    fn from(e: PortError) -> Self {
        TrendingError::Port(e)
    }
}

impl From<TrendingError> for ApiError {
    fn from(e: TrendingError) -> Self {
        match e {
            TrendingError::Port(p) => p.into(),
            TrendingError::Api(a) => a,
        }
    }
}

/// [`compute_trending`] restricted to a language and/or a source.
pub async fn compute_trending_in(
    state: &AppState,
    minutes: u32,
    limit: usize,
    lang: Option<&str>,
    source: Option<&str>,
) -> Result<Arc<TrendingResponse>, TrendingError> {
    let pair = state.active.borrow().clone();
    let scope = trending_scope(&pair.views, lang, source)
        .map_err(TrendingError::Api)?
        .unwrap_or_default();
    let key = (pair.epoch.0, minutes, limit, scope.clone());
    if let Some(hit) = state.trends.get(&key) {
        return Ok(hit);
    }
    let now = Utc::now();
    let now_ms = now.timestamp_millis();
    let top = merge::trending(
        state.backends.views.as_ref(),
        &pair,
        now_ms,
        minutes,
        limit,
        &scope,
    )
    .await?;
    let current = SlotStart::containing(now_ms);
    let elapsed = (now_ms - current.0) as f64 / SLOT_MILLIS as f64;
    let from = SlotStart(current.0 - (trends::BASELINE_SLOTS as i64 + 1) * SLOT_MILLIS);
    let pair_ref = &pair;
    let histories =
        futures::future::try_join_all(
            top.iter().map(|h| {
                let cell = format!("{scope}{}", h.hashtag);
                let pair = pair_ref;
                async move {
                    merge::series(state.backends.views.as_ref(), pair, &cell, from, current).await
                }
            }),
        )
        .await?;
    let slots: Vec<_> = histories
        .iter()
        .map(|history| {
            let points: Vec<(i64, i64)> = history.iter().map(|p| (p.t, p.count)).collect();
            trends::slots_for_score(&points, current.0)
        })
        .collect();
    // A system younger than the baseline has nothing to compare with: no score, rather than a
    // burst badge on every hashtag.
    let has_history = slots
        .iter()
        .any(|(baseline, _, _)| baseline.iter().any(|&c| c != 0));
    let hashtags = top
        .into_iter()
        .zip(slots)
        .map(|(h, (baseline, previous, now_count))| TrendingItem {
            burst: has_history
                .then(|| trends::burst_score(&baseline, previous, now_count, elapsed)),
            hashtag: h.hashtag,
            count: h.count,
        })
        .collect();
    Ok(state.trends.put(
        key,
        TrendingResponse {
            window_minutes: minutes,
            as_of: now,
            epoch: pair.epoch.0,
            lang: lang.map(str::to_string),
            source: source.map(str::to_string),
            hashtags,
        },
    ))
}

/// The hashtags with the highest merged counts over the last `minutes`, with burst scores.
#[utoipa::path(get, path = "/api/v1/trending", tag = "analytics", params(TrendingQuery),
    responses((status = 200, body = TrendingResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn trending(
    State(state): State<Arc<AppState>>,
    Query(q): Query<TrendingQuery>,
) -> ApiResult<TrendingResponse> {
    let (minutes, limit) = params::trending_window(
        q.minutes.unwrap_or(state.cfg.trending_minutes),
        q.limit.unwrap_or(state.cfg.trending_limit),
    )?;
    Ok(Json(
        compute_trending_in(
            &state,
            minutes,
            limit,
            q.lang.as_deref(),
            q.source.as_deref(),
        )
        .await?
        .as_ref()
        .clone(),
    ))
}

/// Query of the series endpoint.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// Start: RFC 3339 or epoch milliseconds (default: 24 hours before `to`).
    pub from: Option<String>,
    /// End, inclusive: RFC 3339 or epoch milliseconds (default: now).
    pub to: Option<String>,
    /// Bucket size in minutes (a multiple of 5), or `auto` for the finest of 5 min, 15 min, 1 h,
    /// 6 h, 1 d, 7 d that fits the range in [`AUTO_STEP_POINTS`] points. Default: 5 (the slots
    /// themselves, paged).
    pub step: Option<String>,
}

pub use model::params::AUTO_STEP_POINTS;

/// Body of the series endpoint.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeriesResponse {
    /// The normalised hashtag.
    pub hashtag: String,
    /// First slot of this page.
    pub from: String,
    /// Last slot of this page.
    pub to: String,
    /// Length of one point's bucket, minutes (5: the slots themselves).
    pub slot_minutes: u32,
    /// Epoch of the pair that made it.
    pub epoch: u64,
    /// The batch and speed tables that made it.
    pub tables: [String; 2],
    /// Non-zero slots, in time order.
    pub points: Vec<merge::SeriesPoint>,
    /// When the range was longer than one page: the `from` of the next page.
    pub next_from: Option<String>,
}

impl SeriesResponse {
    /// The answer's JSON, byte for byte what `serde_json` writes for it, with the points
    /// written directly: serde's path (each key escaped, each field through the serializer)
    /// took a fifth of the endpoint's time for a one-day series. Written into a buffer of about
    /// its size, so a long series is not copied a dozen times as it grows.
    pub fn to_json(&self) -> Vec<u8> {
        // A point is at most about 90 bytes (`{"t":…,"count":…,"batch":…,"speed":…},`); one
        // of a day's series about 55.
        let mut buf = Vec::with_capacity(512 + self.hashtag.len() + self.points.len() * 64);
        let mut n = itoa::Buffer::new();
        // Strings (escaped as serde_json escapes them) through serde_json itself.
        fn put(buf: &mut Vec<u8>, value: &impl Serialize) {
            serde_json::to_writer(buf, value).expect("strings serialize into a Vec");
        }
        buf.extend_from_slice(b"{\"hashtag\":");
        put(&mut buf, &self.hashtag);
        buf.extend_from_slice(b",\"from\":");
        put(&mut buf, &self.from);
        buf.extend_from_slice(b",\"to\":");
        put(&mut buf, &self.to);
        buf.extend_from_slice(b",\"slot_minutes\":");
        buf.extend_from_slice(n.format(self.slot_minutes).as_bytes());
        buf.extend_from_slice(b",\"epoch\":");
        buf.extend_from_slice(n.format(self.epoch).as_bytes());
        buf.extend_from_slice(b",\"tables\":");
        put(&mut buf, &self.tables);
        buf.extend_from_slice(b",\"points\":[");
        for (i, p) in self.points.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"{\"t\":");
            buf.extend_from_slice(n.format(p.t).as_bytes());
            buf.extend_from_slice(b",\"count\":");
            buf.extend_from_slice(n.format(p.count).as_bytes());
            buf.extend_from_slice(b",\"batch\":");
            buf.extend_from_slice(n.format(p.batch).as_bytes());
            buf.extend_from_slice(b",\"speed\":");
            buf.extend_from_slice(n.format(p.speed).as_bytes());
            buf.push(b'}');
        }
        buf.extend_from_slice(b"],\"next_from\":");
        put(&mut buf, &self.next_from);
        buf.push(b'}');
        buf
    }
}

/// A hashtag's merged series (batch + speed of one pair) over a range, in pages of at most
/// `serving.max-series-points` points.
#[utoipa::path(get, path = "/api/v1/hashtags/{tag}/series", tag = "analytics",
    params(("tag" = String, Path, description = "The hashtag, with or without `#`, any case"), SeriesQuery),
    responses((status = 200, body = SeriesResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn series(
    State(state): State<Arc<AppState>>,
    Path(tag): Path<String>,
    Query(q): Query<SeriesQuery>,
) -> Result<JsonBytes, ApiError> {
    let hashtag = params::series_hashtag(&tag)?;
    let window = params::series_window(
        q.from.as_deref(),
        q.to.as_deref(),
        q.step.as_deref(),
        Utc::now().timestamp_millis(),
        state.cfg.max_series_points,
    )?;
    let (from, to, step_ms) = (window.from, window.to, window.step_ms());
    let pair = state.active.borrow().clone();
    let slots = merge::series_cached(
        state.backends.views.as_ref(),
        &pair,
        &hashtag,
        from,
        to,
        &state.batch_series,
    )
    .await?;
    let points = merge::bucket(slots, step_ms);
    let body = SeriesResponse {
        hashtag,
        from: from.to_rfc3339(),
        to: to.to_rfc3339(),
        slot_minutes: window.step_minutes as u32,
        epoch: pair.epoch.0,
        tables: [pair.batch.name().to_string(), pair.speed.name().to_string()],
        points,
        next_from: window.next_from.map(SlotStart::to_rfc3339),
    };
    Ok(JsonBytes(body.to_json()))
}

/// Body of the hashtag search.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchResponse {
    /// The prefix, normalised.
    pub prefix: String,
    /// Matching hashtags: the busiest of the last hour first (by merged count, then by name),
    /// then those without posts in the last hour, sorted by name.
    pub hashtags: Vec<String>,
    /// Posts of each of `hashtags` in the last hour (merged batch + speed), in the same order.
    pub counts: Vec<i64>,
}

/// Query of the hashtag search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Prefix of the hashtag (normalised before the search).
    pub prefix: String,
    /// At most this many (default 20, at most 100).
    pub limit: Option<usize>,
}

/// Minutes of recent counts the search ranks by.
const SEARCH_RANK_MINUTES: u32 = 60;

/// Hashtags that start with a prefix, for autocompletion: the busiest of the last hour first.
#[utoipa::path(get, path = "/api/v1/hashtags", tag = "analytics", params(SearchQuery),
    responses((status = 200, body = SearchResponse), (status = 503, body = ErrorBody)))]
pub async fn search(
    State(state): State<Arc<AppState>>,
    Query(q): Query<SearchQuery>,
) -> ApiResult<SearchResponse> {
    let prefix = params::search_prefix(&q.prefix);
    let limit = params::search_limit(q.limit);
    let pair = state.active.borrow().clone();
    let recent = recent_counts(&state, &pair).await?;
    // The matches with posts in the last hour, busiest first.
    let mut ranked: Vec<(&String, i64)> = recent
        .range::<str, _>((
            std::ops::Bound::Included(prefix.as_str()),
            std::ops::Bound::Unbounded,
        ))
        .take_while(|(tag, _)| tag.starts_with(prefix.as_str()))
        .map(|(tag, count)| (tag, *count))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    ranked.truncate(limit);
    let mut hashtags: Vec<String> = ranked.iter().map(|(t, _)| (*t).clone()).collect();
    let mut counts: Vec<i64> = ranked.iter().map(|(_, c)| *c).collect();
    if hashtags.len() < limit {
        // Then older ones, by name. Other views' cells (`view␟…`) share the tables: ask for
        // more, keep bare hashtags.
        let views = &state.backends.views;
        let asked = limit.saturating_mul(4).min(400);
        let (mut a, b) = tokio::try_join!(
            views.search_hashtags(ViewTable::Batch(pair.batch), &prefix, asked),
            views.search_hashtags(ViewTable::Speed(pair.speed), &prefix, asked),
        )?;
        a.extend(b);
        a.retain(|k| model::view::is_thesis_key(k) && !recent.contains_key(k));
        a.sort();
        a.dedup();
        a.truncate(limit - hashtags.len());
        counts.extend(std::iter::repeat_n(0, a.len()));
        hashtags.extend(a);
    }
    Ok(Json(SearchResponse {
        prefix,
        hashtags,
        counts,
    }))
}

/// Every hashtag's merged count over the last hour (bare hashtags, counts above zero), computed
/// once per (epoch, slot) and time to live for every search.
async fn recent_counts(
    state: &AppState,
    pair: &ports::ActivePair,
) -> Result<Arc<std::collections::BTreeMap<String, i64>>, ApiError> {
    let now_ms = Utc::now().timestamp_millis();
    let key = (pair.epoch.0, SlotStart::containing(now_ms).0);
    if let Some(hit) = state.recent.get(&key) {
        return Ok(hit);
    }
    let all = merge::trending(
        state.backends.views.as_ref(),
        pair,
        now_ms,
        SEARCH_RANK_MINUTES,
        usize::MAX,
        "",
    )
    .await?;
    Ok(state
        .recent
        .put(key, all.into_iter().map(|h| (h.hashtag, h.count)).collect()))
}

/// The active pair, the recompute in progress, posts per second, how far the log, the speed
/// tables and the master dataset have got (`lag`: records per partition not yet counted by the
/// speed layer, not yet in the master dataset), and which backends serve.
#[utoipa::path(get, path = "/api/v1/status", tag = "operations",
    responses((status = 200, description = "The system's state (see the fields)", body = Object), (status = 503, body = ErrorBody)))]
pub async fn status(State(state): State<Arc<AppState>>) -> ApiResult<serde_json::Value> {
    let b = &state.backends;
    let pair = state.active.borrow().clone();
    let (speed_state, ends, manifest, speed_done) = tokio::try_join!(
        state.switch.speed_state(),
        b.log.end_offsets(model::POSTS_TOPIC),
        b.master.manifest(),
        b.log
            .committed_offsets(model::POSTS_TOPIC, &state.cfg.speed_group),
    )?;
    // Records of each partition not yet counted by the speed layer / not yet in the master
    // dataset.
    let behind = |done: &std::collections::BTreeMap<u32, u64>| {
        ends.iter()
            .map(|(p, end)| (*p, end.saturating_sub(done.get(p).copied().unwrap_or(0))))
            .collect::<std::collections::BTreeMap<u32, u64>>()
    };
    let (speed_lag, master_lag) = (behind(&speed_done), behind(&manifest.offsets));
    let total: u64 = ends.values().sum();
    let rate = state
        .rate
        .lock()
        .expect("rate sampler poisoned")
        .sample(total);
    Ok(Json(json!({
        "active": {
            "epoch": pair.epoch.0,
            "batch": pair.batch,
            "speed": pair.speed,
            "cut": pair.cut,
            "view_version": pair.view_version,
            "flipped_at": pair.flipped_at,
            "rollback_to": pair.previous.as_ref().map(|p| json!({"epoch": p.epoch.0, "batch": p.batch, "speed": p.speed})),
        },
        "recompute": speed_state.recompute,
        "speed_tables": { "speed_view_0": speed_state.speed_view_0, "speed_view_1": speed_state.speed_view_1 },
        "posts_per_second": (rate * 10.0).round() / 10.0,
        "log": { "records": total, "end_offsets": ends },
        "lag": {
            "speed": { "total": speed_lag.values().sum::<u64>(), "partitions": speed_lag },
            "master": { "total": master_lag.values().sum::<u64>(), "partitions": master_lag },
        },
        "master": { "manifest_version": manifest.version, "rows": manifest.rows(), "files": manifest.files.len(), "ingested": manifest.offsets, "earliest": manifest.earliest_hour() },
        "views": pair.views,
        "backends": {
            "event_log": b.log.describe(),
            "views": b.views.describe(),
            "coordinator": b.coordinator.describe(),
            "master": b.master.describe(),
        },
    })))
}

/// Ready when the coordinator answers and no backend operation is failing
/// ([`ports::health`]).
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Object, description = "Ready: `{\"ready\": true, \"problems\": []}`"),
               (status = 503, body = Object, description = "Not ready, with the failing backend operations")))]
pub async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let mut readiness = ports::health::global().readiness();
    // A coordinator that is down may not answer at all: waiting for it would hang the probe.
    let active = tokio::time::timeout(ports::health::PROBE_EVERY, state.switch.active()).await;
    let error = match active {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!(
            "the coordinator did not answer within {:?}",
            ports::health::PROBE_EVERY
        )),
    };
    if let Some(error) = error {
        readiness.ready = false;
        readiness.problems.push(ports::health::Problem {
            operation: "serving.active_pair".into(),
            error,
            since: Utc::now(),
            attempts: 1,
        });
    }
    crate::telemetry::readiness_response(readiness)
}

/// Prometheus metrics, text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    crate::telemetry::metrics_response(state.metrics.as_ref())
}

#[cfg(test)]
mod series_json_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The hand-written JSON is serde_json's, byte for byte: any hashtag (quotes, control
        /// characters, any Unicode), any counts, with and without a next page.
        #[test]
        fn series_json_is_serde_jsons(
            hashtag in any::<String>(),
            from in "[0-9T:Z-]{0,25}",
            slot_minutes in any::<u32>(),
            epoch in any::<u64>(),
            tables in any::<[String; 2]>(),
            points in prop::collection::vec(any::<(i64, i64, i64, i64)>(), 0..20),
            next_from in prop::option::of(any::<String>()),
        ) {
            let response = SeriesResponse {
                hashtag,
                to: from.clone(),
                from,
                slot_minutes,
                epoch,
                tables,
                points: points
                    .into_iter()
                    .map(|(t, count, batch, speed)| merge::SeriesPoint { t, count, batch, speed })
                    .collect(),
                next_from,
            };
            prop_assert_eq!(
                String::from_utf8(response.to_json()).unwrap(),
                serde_json::to_string(&response).unwrap()
            );
        }
    }
}
