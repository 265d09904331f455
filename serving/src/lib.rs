//! The serving layer: merges the active batch and speed views and serves them to analysts, over
//! an axum JSON API and socket.io (client v4 protocol) live pushes, with the dashboard at `/`.
//!
//! Every number served is `batch[active] + speed[active]` for the pair the coordinator names
//! ([`merge`]); the pair comes from a watch, so a flip is seen at once, and each response is
//! computed from one pair, never a mix. Live pushes are computed once per tick and broadcast
//! to every client ([`live`]), so the cost does not grow with the audience.

pub mod access;
pub mod admin;
pub mod api;
pub mod live;
pub mod merge;
pub mod openapi;
pub mod telemetry;
pub mod trends;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use ports::{ActivePair, Backends, LambdaSwitch, Secret};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Serving settings (`[serving]` in the config file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ServingConfig {
    /// Address to listen on.
    pub listen: String,
    /// Milliseconds between `trending` pushes.
    pub push_interval_ms: u64,
    /// Default trending window, minutes.
    pub trending_minutes: u32,
    /// Default number of trending hashtags.
    pub trending_limit: usize,
    /// Directory of the built dashboard (`dashboard-web/dist`); empty: the copy beside the sources.
    pub assets_dir: String,
    /// Most points in one page of a series.
    pub max_series_points: usize,
    /// Batch-view points kept in memory for series answers (0: none). The active batch table
    /// never changes while its pair is active, so its half of a series is read once per epoch,
    /// hashtag and range; only the speed half is read live.
    pub series_cache_points: u64,
    /// How long a computed trending list is shared by every request and push for the same
    /// window, limit and epoch, milliseconds (0: computed for each).
    pub trends_ttl_ms: u64,
    /// The speed layer's consumer group, for the lag in the status endpoint. Not a setting of
    /// its own: the binary copies `speed.group` here.
    #[serde(skip)]
    pub speed_group: String,
    /// The bearer token of the admin endpoints ([`admin`]); empty: the admin API is off. Set
    /// it from a secret: `LT__SERVING__ADMIN_TOKEN`.
    pub admin_token: Secret,
    /// Origins whose pages may call the API from a browser (CORS), e.g.
    /// `["https://grafana.example.com"]`; `["*"]`: any origin. Empty (the default): none but
    /// the dashboard's own.
    pub cors_origins: Vec<String>,
    /// The token the read API and socket.io need ([`access`]); empty (the default): open. Set
    /// it from a secret: `LT__SERVING__READ_TOKEN`.
    pub read_token: Secret,
    /// API requests a second allowed per client address ([`access`]); 0 (the default): no
    /// limit.
    pub rate_limit_per_second: u32,
    /// Requests a client may make at once before the per-second rate applies (at least the
    /// rate).
    pub rate_limit_burst: u32,
}

impl Default for ServingConfig {
    fn default() -> Self {
        ServingConfig {
            listen: "127.0.0.1:8080".into(),
            push_interval_ms: 2000,
            trending_minutes: 15,
            trending_limit: 10,
            assets_dir: String::new(),
            max_series_points: 10_000,
            series_cache_points: 2_000_000,
            trends_ttl_ms: 1000,
            speed_group: "speed".into(),
            admin_token: Secret::default(),
            cors_origins: Vec::new(),
            read_token: Secret::default(),
            rate_limit_per_second: 0,
            rate_limit_burst: 0,
        }
    }
}

impl ServingConfig {
    /// The dashboard directory to serve.
    pub fn assets_path(&self) -> PathBuf {
        if self.assets_dir.is_empty() {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../dashboard-web/dist"
            ))
        } else {
            PathBuf::from(&self.assets_dir)
        }
    }
}

/// Samples the event log's end offsets to report posts per second.
#[derive(Debug, Default)]
pub struct RateSampler {
    last: Option<(Instant, u64)>,
    rate: f64,
}

impl RateSampler {
    /// Records the total number of records in the log now; returns the latest rate.
    pub fn sample(&mut self, total: u64) -> f64 {
        let now = Instant::now();
        match self.last {
            Some((t, n)) if now.duration_since(t).as_secs_f64() >= 1.0 => {
                self.rate = total.saturating_sub(n) as f64 / now.duration_since(t).as_secs_f64();
                self.last = Some((now, total));
            }
            Some(_) => {}
            None => self.last = Some((now, total)),
        }
        self.rate
    }
}

/// What every handler shares.
pub struct AppState {
    /// The backends.
    pub backends: Backends,
    /// The protocol over the coordinator.
    pub switch: LambdaSwitch,
    /// The active pair, kept current by a watch.
    pub active: watch::Receiver<ActivePair>,
    /// Settings.
    pub cfg: ServingConfig,
    /// Posts-per-second sampler.
    pub rate: Mutex<RateSampler>,
    /// Prometheus exposition, when a recorder is installed.
    pub metrics: Option<PrometheusHandle>,
    /// The admin endpoints' actions and state.
    pub admin: admin::AdminState,
    /// Trending lists, shared per (epoch, window, limit) for `trends_ttl_ms`.
    pub trends: trends::TrendsCache<(u64, u32, usize, String), api::TrendingResponse>,
    /// Every hashtag's merged count over the last hour, by hashtag, shared per (epoch, slot)
    /// for `trends_ttl_ms`: how the hashtag search ranks its matches.
    pub recent: trends::TrendsCache<(u64, i64), std::collections::BTreeMap<String, i64>>,
    /// The batch halves of recent series answers (`series_cache_points`).
    pub batch_series: merge::BatchSeriesCache,
}

/// Builds the application: API, socket.io, dashboard. Also starts the live push task, which
/// stops with `shutdown`.
pub async fn app(
    backends: Backends,
    cfg: ServingConfig,
    metrics: Option<PrometheusHandle>,
    actions: admin::AdminActions,
    shutdown: CancellationToken,
) -> Result<Router, ports::PortError> {
    backends.views.migrate().await?;
    let switch = LambdaSwitch::new(backends.coordinator.clone());
    let active = switch.watch_active().await?;
    let cfg_ttl = cfg.trends_ttl_ms;
    let batch_series = merge::BatchSeriesCache::new(cfg.series_cache_points);
    let state = Arc::new(AppState {
        backends,
        switch,
        active,
        cfg,
        rate: Mutex::new(RateSampler::default()),
        metrics,
        admin: admin::AdminState::new(actions, shutdown.clone()),
        trends: trends::TrendsCache::new(std::time::Duration::from_millis(cfg_ttl)),
        recent: trends::TrendsCache::new(std::time::Duration::from_millis(cfg_ttl)),
        batch_series,
    });
    let cors = cors_layer(&state.cfg.cors_origins)?;
    let (layer, io) = live::socket_layer(state.clone());
    tokio::spawn(live::push_loop(state.clone(), io, shutdown.clone()));
    let limits =
        access::RateLimits::new(state.cfg.rate_limit_per_second, state.cfg.rate_limit_burst);
    let router =
        api::router(state.clone())
            .layer(layer)
            .layer(axum::middleware::from_fn_with_state(
                state,
                access::require_read_token,
            ));
    let router = match limits {
        Some(limits) => {
            let sweeper = limits.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
                loop {
                    tokio::select! {
                        _ = tick.tick() => sweeper.forget_idle(),
                        _ = shutdown.cancelled() => return,
                    }
                }
            });
            router.layer(axum::middleware::from_fn_with_state(
                limits,
                access::limit_rate,
            ))
        }
        None => router,
    };
    Ok(match cors {
        Some(cors) => router.layer(cors),
        None => router,
    })
}

/// The CORS layer for `origins` (none when empty): GET from those origins, and the admin
/// endpoints' POST with an `Authorization` header.
fn cors_layer(origins: &[String]) -> Result<Option<tower_http::cors::CorsLayer>, ports::PortError> {
    use axum::http::{HeaderValue, Method, header};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let values = origins
            .iter()
            .map(|o| {
                HeaderValue::from_str(o.trim_end_matches('/')).map_err(|_| {
                    ports::PortError::Invalid(format!(
                        "serving.cors-origins: `{o}` is not a valid origin"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(values)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
    ))
}

/// Serves until `shutdown`.
pub async fn run(
    backends: Backends,
    cfg: ServingConfig,
    metrics: Option<PrometheusHandle>,
    actions: admin::AdminActions,
    shutdown: CancellationToken,
) -> Result<(), std::io::Error> {
    let listener = TcpListener::bind(&cfg.listen).await.map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot listen on {}: {e}", cfg.listen))
    })?;
    serve(listener, backends, cfg, metrics, actions, shutdown).await
}

/// Serves on an already bound listener until `shutdown` (tests bind port 0).
pub async fn serve(
    listener: TcpListener,
    backends: Backends,
    cfg: ServingConfig,
    metrics: Option<PrometheusHandle>,
    actions: admin::AdminActions,
    shutdown: CancellationToken,
) -> Result<(), std::io::Error> {
    let app = app(backends, cfg, metrics, actions, shutdown.clone())
        .await
        .map_err(std::io::Error::other)?;
    tracing::info!(addr = %listener.local_addr()?, "Serving the API and the dashboard.");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await
}
