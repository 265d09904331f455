//! Who may call the API, and how often: the optional read token and per-client rate limits.
//!
//! - **Read token** (`serving.read-token`, set it from a secret: `LT__SERVING__READ_TOKEN`):
//!   when set, the read API (`/api/v1/…` but the OpenAPI document and the admin endpoints, which
//!   check the admin token themselves) and the socket.io endpoint need it, as
//!   `Authorization: Bearer <token>` or, where a client cannot set headers (a browser's
//!   websocket, an `<img>`), as the query parameter `access_token`. The admin token is accepted
//!   too. Without it the answer is `401 unauthorized`. `/healthz`, `/readyz`, `/metrics` and the
//!   dashboard's files stay open (probes and scrapers do not carry tokens; the dashboard asks for
//!   the token itself). Tokens are compared in constant time.
//! - **Rate limit** (`serving.rate-limit-per-second`, `serving.rate-limit-burst`): each client
//!   address may make that many API requests per second, in bursts of up to `burst`; past it the
//!   answer is `429 rate_limited` with `Retry-After`. Counted in
//!   `lambda_serving_rate_limited_total`. Behind a proxy every request comes from the proxy's
//!   address, so limit at the proxy or raise the limit there.

use crate::AppState;
use crate::api::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The token of a request: `Authorization: Bearer …`, else the `access_token` query parameter.
pub fn presented_token<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Option<&'a str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    bearer.or_else(|| {
        query?
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == "access_token")
            .map(|(_, v)| v)
            .filter(|t| !t.is_empty())
    })
}

/// Whether `given` equals `expected` (a non-empty token), in time independent of where they
/// differ.
pub fn token_matches(given: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// Whether a path is guarded by the read token.
fn needs_read_token(path: &str) -> bool {
    (path.starts_with("/api/v1/")
        && path != "/api/v1/openapi.json"
        && !path.starts_with("/api/v1/admin/"))
        || path.starts_with("/socket.io")
}

/// Middleware: the read token, when one is configured.
pub async fn require_read_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let expected = state.cfg.read_token.expose();
    if expected.is_empty() || !needs_read_token(request.uri().path()) {
        return next.run(request).await;
    }
    let allowed = presented_token(request.headers(), request.uri().query()).is_some_and(|t| {
        token_matches(t, expected) || token_matches(t, state.cfg.admin_token.expose())
    });
    if !allowed {
        metrics::counter!("lambda_serving_read_denied_total").increment(1);
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this API needs its read token: the header `Authorization: Bearer <token>` or the \
             query parameter `access_token`",
        )
        .into_response();
    }
    next.run(request).await
}

/// Per-client request limits.
#[derive(Debug)]
pub struct RateLimits {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl RateLimits {
    /// `per_second` requests a second in bursts of `burst` (at least `per_second`) per client
    /// address; `None` when `per_second` is 0 (no limit).
    pub fn new(per_second: u32, burst: u32) -> Option<Arc<RateLimits>> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
        Some(Arc::new(RateLimits {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
        }))
    }

    /// `Ok` if `client` may make a request now, else how many whole seconds to wait.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        self.limiter.check_key(&client).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }

    /// Forgets clients that are back at full allowance (keeps memory bounded).
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// Middleware: the rate limit of the API and socket.io handshakes, per client address.
pub async fn limit_rate(
    State(limits): State<Arc<RateLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if !(path.starts_with("/api/") || path.starts_with("/socket.io")) {
        return next.run(request).await;
    }
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    match limits.check(client) {
        Ok(()) => next.run(request).await,
        Err(wait_secs) => {
            metrics::counter!("lambda_serving_rate_limited_total").increment(1);
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests from this address; try again in {wait_secs} s"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&wait_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_the_header_first_then_the_query() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_token(&h, Some("a=1&access_token=q")), Some("q"));
        assert_eq!(presented_token(&h, Some("access_token=")), None);
        assert_eq!(presented_token(&h, None), None);
        h.insert(header::AUTHORIZATION, "Bearer  h ".parse().unwrap());
        assert_eq!(presented_token(&h, Some("access_token=q")), Some("h"));
        h.insert(header::AUTHORIZATION, "Basic h".parse().unwrap());
        assert_eq!(presented_token(&h, None), None);
    }

    #[test]
    fn an_empty_expected_token_matches_nothing() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cre", "s3cret"));
        assert!(!token_matches("s3cretx", "s3cret"));
        assert!(!token_matches("", ""));
    }

    #[test]
    fn guarded_paths() {
        assert!(needs_read_token("/api/v1/trending"));
        assert!(needs_read_token("/api/v1/hashtags/rust/series"));
        assert!(needs_read_token("/socket.io/"));
        assert!(!needs_read_token("/api/v1/openapi.json"));
        assert!(!needs_read_token("/api/v1/admin/rollback"));
        assert!(!needs_read_token("/metrics"));
        assert!(!needs_read_token("/index.html"));
    }

    #[test]
    fn a_client_past_its_burst_waits_and_others_do_not() {
        let limits = RateLimits::new(2, 3).unwrap();
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(limits.check(a), Ok(()));
        }
        assert!(matches!(limits.check(a), Err(s) if s >= 1));
        assert_eq!(limits.check(b), Ok(()));
        assert!(RateLimits::new(0, 10).is_none(), "0 is no limit");
    }
}
