//! The X API v2 sampled stream (`GET /2/tweets/sample/stream`, about 1 % of public posts), live.
//!
//! [`XStreamSource`] opens one long-lived HTTP GET with an app-only bearer token, asks for the
//! fields a trend pipeline needs (`created_at`, `lang`, `entities`, `author_id`, `note_tweet`, and
//! the author's `username` through `expansions=author_id`), and reads the never-ending chunked
//! body. The body is a sequence of lines, each a JSON object terminated by `\r\n`; a bare `\r\n`
//! is a keep-alive, sent at least every 20 s. Chunks do not follow line boundaries, so the bytes
//! after the last line break are kept in the source until the rest arrives; every complete line
//! goes through [`crate::x_v2::parse_line`]: posts become [`SourceEvent::Post`], keep-alives
//! are skipped, in-stream errors (`{"errors":[…]}` without `data`) are logged and counted, and
//! anything else becomes a [`SourceEvent::Malformed`] with the parser's reason code. (Lines are
//! split at `\n` with a trailing `\r` removed, which accepts `\r\n` and is tolerant of a bare
//! `\n`; JSON never holds a raw line break.)
//!
//! Reconnection follows X's "handling disconnections" rules:
//!
//! | what happened | what the source does | `cause` label |
//! |---|---|---|
//! | an established connection (one that delivered bytes) ends or fails | reconnect at once | `closed`, `read_error` |
//! | nothing, not even a keep-alive, for `stall-timeout-ms` | drop it, reconnect at once | `stall` |
//! | an `operational-disconnect` message | drop it, reconnect at once | `operational_disconnect` |
//! | a TCP/TLS-level failure, a connect timeout, or a connection that ended before any byte | linear backoff, +250 ms per attempt, at most 16 s | `connect_error` |
//! | HTTP 5xx, 408, 409 | exponential backoff from 5 s, doubling, at most 320 s | `http_error` |
//! | HTTP 429 (or the old 420) | until `x-rate-limit-reset` if it is in the future (at most 15 min), else exponential from 60 s, doubling, at most 15 min | `rate_limited` |
//! | HTTP 401, 403 | [`LiveSource::next`] returns an error: bad credentials, retrying does not help | – |
//! | any other HTTP status (400, 404, …) | an error too: the request or configuration is wrong | – |
//!
//! The backoff state resets once a new connection delivers its first bytes. All waits end at
//! once when the shutdown token fires.
//!
//! Decision: *a line cut by a disconnect is discarded, not published*. X resends nothing after a
//! reconnect (the 1 % sample has no recovery; `backfill-minutes` is an Enterprise feature that
//! re-delivers up to 5 minutes, with duplicates), so the cut post is lost either way; its partial
//! bytes are not a post, and sending them to the dead-letter topic would only add noise. The loss
//! is counted in `lambda_collector_truncated_lines_total{source}` and logged.
//!
//! Cancel safety: the connection attempt runs as a task whose handle is kept in the source, the
//! body stream, the partial line, the retry deadline and the parsed-but-not-returned events all
//! live in the source, so dropping a [`LiveSource::next`] future loses nothing.
//!
//! Metrics (label `source="x-sample"`): `lambda_collector_received_total` (non-blank
//! lines), `lambda_collector_malformed_total{reason}` (counted by the publisher),
//! `lambda_collector_reconnects_total{cause}`,
//! `lambda_collector_stream_errors_total{kind}`,
//! `lambda_collector_truncated_lines_total`, and the gauge
//! `lambda_collector_lag_seconds` (now − `created_at` of the last post).

use crate::publisher::CollectorError;
use crate::source::{LiveSource, SourceEvent};
use crate::x_v2::{ReplayItem, parse_line};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The name of this source in logs and metric labels.
const SOURCE: &str = "x-sample";
/// The path of the sampled stream.
const STREAM_PATH: &str = "/2/tweets/sample/stream";
/// The fields requested: what [`parse_line`] maps to a post.
const STREAM_QUERY: &str = "tweet.fields=created_at,lang,entities,author_id,note_tweet&expansions=author_id&user.fields=username";
/// A line longer than this without a line break is dropped as malformed (X posts are a few KB).
const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;
/// How long reading the body of an HTTP error response may take (it is only for the logs).
const ERROR_BODY_TIMEOUT: Duration = Duration::from_secs(2);

/// Settings of the X sampled-stream source.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct XStreamConfig {
    /// The API server. Default: `https://api.x.com` (`https://api.twitter.com` is the older name
    /// of the same server; an `http://` URL is for local fakes).
    pub base_url: String,
    /// The environment variable holding the app-only bearer token, read when
    /// `bearer-token-file` is not set. Default: `X_BEARER_TOKEN`.
    pub bearer_token_env: String,
    /// A file holding the bearer token (surrounding whitespace is ignored); takes precedence
    /// over `bearer-token-env`. Default: none.
    pub bearer_token_file: Option<PathBuf>,
    /// Reconnect when nothing, not even a keep-alive, has arrived for this long, in
    /// milliseconds; also the timeout of a connection attempt. X sends a keep-alive at least
    /// every 20 s, often a little late. Default: 21000.
    pub stall_timeout_ms: u64,
    /// Ask the server to re-deliver up to this many minutes (0 to 5) missed during a disconnect
    /// (`backfill_minutes`; Enterprise access only; re-delivered posts are duplicates).
    /// Default: 0.
    pub backfill_minutes: u8,
    /// The `User-Agent` header (X asks for a versioned one). Default: `lambda-trends/<version>`.
    pub user_agent: String,
}

impl Default for XStreamConfig {
    fn default() -> Self {
        XStreamConfig {
            base_url: "https://api.x.com".into(),
            bearer_token_env: "X_BEARER_TOKEN".into(),
            bearer_token_file: None,
            stall_timeout_ms: 21_000,
            backfill_minutes: 0,
            user_agent: concat!("lambda-trends/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

impl std::fmt::Debug for XStreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XStreamConfig")
            .field("base_url", &self.base_url)
            .field("bearer_token_env", &self.bearer_token_env)
            .field("bearer_token_file", &self.bearer_token_file)
            .field("stall_timeout_ms", &self.stall_timeout_ms)
            .field("backfill_minutes", &self.backfill_minutes)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

/// The reconnection delays. [`Backoff::default`] holds X's documented values; tests and
/// tuning may shorten them with [`XStreamSource::with_backoff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Added per consecutive TCP/IP-level failure (linear backoff). X: 250 ms.
    pub tcp_step: Duration,
    /// The longest TCP/IP-level delay. X: 16 s.
    pub tcp_max: Duration,
    /// The first delay after a retryable HTTP error; it doubles. X: 5 s.
    pub http_start: Duration,
    /// The longest HTTP-error delay. X: 320 s.
    pub http_max: Duration,
    /// The first delay after HTTP 429 without a usable `x-rate-limit-reset`; it doubles. X: 60 s.
    pub rate_limit_start: Duration,
    /// The longest delay after HTTP 429, also the bound on waiting for `x-rate-limit-reset`:
    /// 15 minutes, the rate-limit window.
    pub rate_limit_max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            tcp_step: Duration::from_millis(250),
            tcp_max: Duration::from_secs(16),
            http_start: Duration::from_secs(5),
            http_max: Duration::from_secs(320),
            rate_limit_start: Duration::from_secs(60),
            rate_limit_max: Duration::from_secs(15 * 60),
        }
    }
}

/// Where the backoff stands: consecutive failures of each kind.
#[derive(Debug, Default, Clone, Copy)]
struct BackoffState {
    tcp_attempts: u32,
    next_http: Option<Duration>,
    next_rate_limit: Option<Duration>,
}

/// The outcome of one connection attempt (run as a task, for cancel safety).
enum Connect {
    /// HTTP 200: the body stream.
    Streaming(BoxStream<'static, reqwest::Result<Bytes>>),
    /// Another status, with `x-rate-limit-reset` (epoch seconds) and the start of the body.
    Http {
        status: reqwest::StatusCode,
        reset: Option<i64>,
        body: String,
    },
    /// No HTTP response: DNS, TCP, TLS, a timeout.
    Transport(String),
}

/// A task handle that aborts its task when dropped.
struct Task<T>(JoinHandle<T>);

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

enum State {
    /// Not connected; connect at `retry_at` (or now).
    Idle,
    /// A connection attempt in flight.
    Connecting(Task<Connect>),
    /// Reading the body.
    Streaming(BoxStream<'static, reqwest::Result<Bytes>>),
}

/// A live source of posts from the X API v2 sampled stream; see the [module docs](self).
pub struct XStreamSource {
    cfg: XStreamConfig,
    client: reqwest::Client,
    token: String,
    url: String,
    backoff: Backoff,
    state: State,
    backoff_state: BackoffState,
    /// No connection attempt before this instant.
    retry_at: Option<Instant>,
    /// Whether the current connection has delivered bytes.
    healthy: bool,
    /// When the current connection last delivered bytes (keep-alives included).
    last_data: Instant,
    /// The bytes after the last line break: the start of a line still arriving.
    partial: Vec<u8>,
    /// Events parsed but not yet returned: what makes `next` cancel-safe.
    pending: VecDeque<SourceEvent>,
}

impl std::fmt::Debug for XStreamSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Idle => "idle",
            State::Connecting(_) => "connecting",
            State::Streaming(_) => "streaming",
        };
        f.debug_struct("XStreamSource")
            .field("url", &self.url)
            .field("state", &state)
            .field("partial", &self.partial.len())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl XStreamSource {
    /// A source that connects on the first [`LiveSource::next`]. Fails when there is no bearer
    /// token (neither `bearer-token-file` nor the `bearer-token-env` variable), `base-url` is not
    /// an `http(s)://` URL, or `backfill-minutes` is above 5.
    pub fn new(cfg: XStreamConfig) -> Result<Self, CollectorError> {
        if !(cfg.base_url.starts_with("https://") || cfg.base_url.starts_with("http://")) {
            return Err(CollectorError::Config(format!(
                "x-sample base-url {:?} is not an http:// or https:// URL",
                cfg.base_url
            )));
        }
        if cfg.backfill_minutes > 5 {
            return Err(CollectorError::Config(format!(
                "x-sample backfill-minutes is {}, but X accepts 0 to 5",
                cfg.backfill_minutes
            )));
        }
        let token = read_token(&cfg)?;
        // `https://` needs a rustls crypto provider; one installed elsewhere is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .connect_timeout(Duration::from_millis(cfg.stall_timeout_ms.max(1)))
            .tcp_keepalive(Duration::from_secs(30))
            .build()
            .map_err(|e| CollectorError::Config(format!("x-sample HTTP client: {e}")))?;
        let mut url = format!(
            "{}{STREAM_PATH}?{STREAM_QUERY}",
            cfg.base_url.trim_end_matches('/')
        );
        if cfg.backfill_minutes > 0 {
            url.push_str(&format!("&backfill_minutes={}", cfg.backfill_minutes));
        }
        Ok(XStreamSource {
            cfg,
            client,
            token,
            url,
            backoff: Backoff::default(),
            state: State::Idle,
            backoff_state: BackoffState::default(),
            retry_at: None,
            healthy: false,
            last_data: Instant::now(),
            partial: Vec::new(),
            pending: VecDeque::new(),
        })
    }

    /// Replaces the reconnection delays (X's documented values by default).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The URL the source connects to, with its query.
    pub fn stream_url(&self) -> &str {
        &self.url
    }

    fn stall_timeout(&self) -> Duration {
        Duration::from_millis(self.cfg.stall_timeout_ms.max(1))
    }

    /// Starts a connection attempt as a task.
    fn start_connect(&mut self) {
        let request = self
            .client
            .get(&self.url)
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "application/json");
        let timeout = self.stall_timeout();
        tracing::debug!(url = %self.url, "Connecting to the X sampled stream.");
        self.state = State::Connecting(Task(tokio::spawn(async move {
            let response = match tokio::time::timeout(timeout, request.send()).await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => return Connect::Transport(error_chain(&e)),
                Err(_) => {
                    return Connect::Transport(format!(
                        "no response within {} ms",
                        timeout.as_millis()
                    ));
                }
            };
            let status = response.status();
            if status == reqwest::StatusCode::OK {
                return Connect::Streaming(response.bytes_stream().boxed());
            }
            let reset = response
                .headers()
                .get("x-rate-limit-reset")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok());
            let body = match tokio::time::timeout(ERROR_BODY_TIMEOUT, response.text()).await {
                Ok(Ok(text)) => text.chars().take(500).collect(),
                _ => String::new(),
            };
            Connect::Http {
                status,
                reset,
                body,
            }
        })));
    }

    /// Handles the outcome of a connection attempt.
    fn on_connect(&mut self, outcome: Connect) -> Result<(), CollectorError> {
        match outcome {
            Connect::Streaming(stream) => {
                tracing::info!(url = %self.url, "Connected to the X sampled stream.");
                self.state = State::Streaming(stream);
                self.healthy = false;
                self.last_data = Instant::now();
            }
            Connect::Transport(detail) => self.schedule_tcp("connect_error", &detail),
            Connect::Http {
                status,
                reset,
                body,
            } => {
                self.state = State::Idle;
                let code = status.as_u16();
                match code {
                    401 | 403 => {
                        return Err(CollectorError::Config(format!(
                            "X rejected the bearer token with HTTP {status} ({}): provide a valid \
                             app-only bearer token with access to the sampled stream (Enterprise) \
                             in the environment variable {} or in the file named by \
                             collector.x.bearer-token-file",
                            body.trim(),
                            self.cfg.bearer_token_env
                        )));
                    }
                    429 | 420 => {
                        let exponential = self
                            .backoff_state
                            .next_rate_limit
                            .unwrap_or(self.backoff.rate_limit_start);
                        self.backoff_state.next_rate_limit =
                            Some((exponential * 2).min(self.backoff.rate_limit_max));
                        let until_reset = reset.and_then(|r| {
                            let ms = r
                                .saturating_mul(1000)
                                .saturating_sub(chrono::Utc::now().timestamp_millis());
                            (ms > 0).then(|| Duration::from_millis(ms as u64))
                        });
                        let wait = until_reset
                            .unwrap_or(exponential)
                            .min(self.backoff.rate_limit_max);
                        self.schedule("rate_limited", &format!("HTTP {status}: {body}"), wait);
                    }
                    408 | 409 | 500..=599 => {
                        let wait = self
                            .backoff_state
                            .next_http
                            .unwrap_or(self.backoff.http_start);
                        self.backoff_state.next_http = Some((wait * 2).min(self.backoff.http_max));
                        self.schedule("http_error", &format!("HTTP {status}: {body}"), wait);
                    }
                    _ => {
                        return Err(CollectorError::Config(format!(
                            "the X sampled stream answered HTTP {status} ({}) to {}: the request \
                             or the configuration (base-url, access level) is wrong",
                            body.trim(),
                            self.url
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// Schedules a reconnection after a TCP/IP-level failure: linear backoff.
    fn schedule_tcp(&mut self, cause: &'static str, detail: &str) {
        self.backoff_state.tcp_attempts = self.backoff_state.tcp_attempts.saturating_add(1);
        let wait = self
            .backoff
            .tcp_step
            .saturating_mul(self.backoff_state.tcp_attempts)
            .min(self.backoff.tcp_max);
        self.schedule(cause, detail, wait);
    }

    /// Drops the connection (if any) and schedules the next attempt after `wait`.
    fn schedule(&mut self, cause: &'static str, detail: &str, wait: Duration) {
        self.state = State::Idle;
        self.discard_partial();
        metrics::counter!(
            "lambda_collector_reconnects_total",
            "source" => SOURCE,
            "cause" => cause
        )
        .increment(1);
        tracing::warn!(
            cause,
            error = detail,
            retry_in_ms = wait.as_millis() as u64,
            "X sampled stream connection lost or refused; reconnecting."
        );
        self.retry_at = (!wait.is_zero()).then(|| Instant::now() + wait);
    }

    /// The connection ended or failed after it was established: reconnect at once if it had
    /// delivered bytes, else treat it as a TCP/IP-level failure.
    fn dropped(&mut self, cause: &'static str, detail: &str) {
        if self.healthy {
            self.schedule(cause, detail, Duration::ZERO);
        } else {
            self.schedule_tcp(cause, detail);
        }
    }

    /// Discards a line cut by a disconnect (see the module docs), counting it.
    fn discard_partial(&mut self) {
        if self.partial.is_empty() {
            return;
        }
        metrics::counter!("lambda_collector_truncated_lines_total", "source" => SOURCE)
            .increment(1);
        tracing::warn!(
            bytes = self.partial.len(),
            "Discarded a line cut by a disconnect; X does not resend it."
        );
        self.partial.clear();
    }

    /// Appends a chunk of the body and handles every line it completes. Returns true when an
    /// in-stream error asks for a reconnection.
    fn on_chunk(&mut self, chunk: &[u8]) -> bool {
        self.last_data = Instant::now();
        if !self.healthy {
            self.healthy = true;
            self.backoff_state = BackoffState::default();
        }
        let mut reconnect = false;
        let mut rest = chunk;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = rest.split_at(i);
            rest = &tail[1..];
            if self.partial.is_empty() {
                reconnect |= self.on_line(head);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(head);
                reconnect |= self.on_line(&line);
            }
        }
        self.partial.extend_from_slice(rest);
        if self.partial.len() > MAX_LINE_BYTES {
            let raw: String = String::from_utf8_lossy(&self.partial[..1024]).into_owned();
            self.reject(
                raw,
                "line_too_long",
                format!("no line break within {MAX_LINE_BYTES} bytes (first 1024 kept)"),
            );
            self.partial.clear();
        }
        reconnect
    }

    /// Handles one complete line (without its `\n`). Returns true to reconnect.
    fn on_line(&mut self, line: &[u8]) -> bool {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return false; // keep-alive
        }
        metrics::counter!("lambda_collector_received_total", "source" => SOURCE).increment(1);
        let text = match std::str::from_utf8(line) {
            Ok(t) => t,
            Err(e) => {
                self.reject(
                    String::from_utf8_lossy(line).into_owned(),
                    "invalid_utf8",
                    format!("not UTF-8: {e}"),
                );
                return false;
            }
        };
        match parse_line(text) {
            Ok(ReplayItem::Post(post)) => {
                let lag_ms = chrono::Utc::now().timestamp_millis() - post.timestamp;
                metrics::gauge!("lambda_collector_lag_seconds", "source" => SOURCE)
                    .set(lag_ms as f64 / 1000.0);
                self.pending.push_back(SourceEvent::Post(post));
                false
            }
            Ok(ReplayItem::KeepAlive) => false,
            Ok(ReplayItem::StreamError {
                title,
                detail,
                kind,
            }) => {
                tracing::warn!(
                    kind,
                    title,
                    detail,
                    "The X sampled stream reported an error."
                );
                metrics::counter!(
                    "lambda_collector_stream_errors_total",
                    "source" => SOURCE,
                    "kind" => kind.clone()
                )
                .increment(1);
                kind == "operational-disconnect"
            }
            Err(e) => {
                self.reject(text.to_owned(), e.reason_code(), e.to_string());
                false
            }
        }
    }

    /// Queues malformed input for the dead-letter topic (the publisher counts it in
    /// `lambda_collector_malformed_total`).
    fn reject(&mut self, raw: String, code: &'static str, reason: String) {
        self.pending
            .push_back(SourceEvent::Malformed { raw, reason, code });
    }
}

#[async_trait]
impl LiveSource for XStreamSource {
    async fn next(
        &mut self,
        shutdown: &CancellationToken,
    ) -> Result<Option<SourceEvent>, CollectorError> {
        // Cancel safety: every await below is on something owned by `self` (the connect task's
        // handle, the body stream) or on a deadline stored in `self`; state changes happen
        // only after an await completes.
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(Some(event));
            }
            if shutdown.is_cancelled() {
                return Ok(None);
            }
            let stall_at = self.last_data + self.stall_timeout();
            match &mut self.state {
                State::Idle => {
                    if let Some(at) = self.retry_at {
                        tokio::select! {
                            _ = tokio::time::sleep_until(at) => {}
                            _ = shutdown.cancelled() => continue,
                        }
                        self.retry_at = None;
                    }
                    self.start_connect();
                }
                State::Connecting(task) => {
                    let joined = tokio::select! {
                        j = &mut task.0 => j,
                        _ = shutdown.cancelled() => continue,
                    };
                    let outcome = joined.unwrap_or_else(|e| {
                        Connect::Transport(format!("the connection task failed: {e}"))
                    });
                    self.on_connect(outcome)?;
                }
                State::Streaming(stream) => {
                    let item = tokio::select! {
                        biased;
                        _ = shutdown.cancelled() => continue,
                        _ = tokio::time::sleep_until(stall_at) => {
                            let detail = format!(
                                "nothing received for {} ms (stall-timeout-ms)",
                                self.cfg.stall_timeout_ms
                            );
                            self.schedule("stall", &detail, Duration::ZERO);
                            continue;
                        }
                        item = stream.next() => item,
                    };
                    match item {
                        Some(Ok(chunk)) => {
                            if self.on_chunk(&chunk) {
                                self.schedule(
                                    "operational_disconnect",
                                    "the server announced an operational disconnect",
                                    Duration::ZERO,
                                );
                            }
                        }
                        Some(Err(e)) => self.dropped("read_error", &error_chain(&e)),
                        None => self.dropped("closed", "the server ended the stream"),
                    }
                }
            }
        }
    }

    fn name(&self) -> &'static str {
        SOURCE
    }
}

/// Reads the bearer token: from `bearer-token-file` if set, else from `bearer-token-env`.
fn read_token(cfg: &XStreamConfig) -> Result<String, CollectorError> {
    let token = match &cfg.bearer_token_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|source| CollectorError::Io {
                path: path.clone(),
                source,
            })?
            .trim()
            .to_owned(),
        None => std::env::var(&cfg.bearer_token_env)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    };
    if token.is_empty() {
        let from = match &cfg.bearer_token_file {
            Some(path) => format!("the file {} is empty", path.display()),
            None => format!(
                "the environment variable {} is not set or empty",
                cfg.bearer_token_env
            ),
        };
        return Err(CollectorError::Config(format!(
            "no X bearer token ({from}): set {} to an app-only bearer token from the X developer \
             portal, or set collector.x.bearer-token-file to a file holding it",
            cfg.bearer_token_env
        )));
    }
    Ok(token)
}

/// An error with its sources, for logs (`reqwest` hides the cause behind "error sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> XStreamSource {
        let cfg = XStreamConfig {
            base_url: "http://127.0.0.1:9/".into(),
            bearer_token_env: "CARGO_PKG_NAME".into(),
            ..XStreamConfig::default()
        };
        XStreamSource::new(cfg).unwrap()
    }

    #[tokio::test]
    async fn backoff_follows_x_rules() {
        let mut s = source();
        let waits = |s: &XStreamSource| s.retry_at.map(|at| at - Instant::now());
        let close = |a: Option<Duration>, b: Duration| {
            let a = a.unwrap();
            assert!(
                a <= b && a + Duration::from_millis(100) > b,
                "{a:?} vs {b:?}"
            );
        };
        for n in 1..=70u32 {
            s.schedule_tcp("connect_error", "x");
            close(
                waits(&s),
                (Duration::from_millis(250) * n).min(Duration::from_secs(16)),
            );
        }
        for secs in [5, 10, 20, 40, 80, 160, 320, 320] {
            s.on_connect(Connect::Http {
                status: reqwest::StatusCode::SERVICE_UNAVAILABLE,
                reset: None,
                body: String::new(),
            })
            .unwrap();
            close(waits(&s), Duration::from_secs(secs));
        }
        for secs in [60, 120, 240, 480, 900, 900] {
            s.on_connect(Connect::Http {
                status: reqwest::StatusCode::TOO_MANY_REQUESTS,
                reset: None,
                body: String::new(),
            })
            .unwrap();
            close(waits(&s), Duration::from_secs(secs));
        }
        // A first byte on a new connection resets everything.
        s.on_chunk(b"\r\n");
        s.schedule_tcp("connect_error", "x");
        close(waits(&s), Duration::from_millis(250));
        assert!(
            s.on_connect(Connect::Http {
                status: reqwest::StatusCode::UNAUTHORIZED,
                reset: None,
                body: String::new(),
            })
            .is_err()
        );
    }

    #[test]
    fn url_has_fields_and_backfill() {
        let s = source();
        assert_eq!(
            s.stream_url(),
            "http://127.0.0.1:9/2/tweets/sample/stream?tweet.fields=created_at,lang,entities,author_id,note_tweet&expansions=author_id&user.fields=username"
        );
        let cfg = XStreamConfig {
            bearer_token_env: "CARGO_PKG_NAME".into(),
            backfill_minutes: 3,
            ..XStreamConfig::default()
        };
        let s = XStreamSource::new(cfg.clone()).unwrap();
        assert!(
            s.stream_url()
                .starts_with("https://api.x.com/2/tweets/sample/stream?")
        );
        assert!(s.stream_url().ends_with("&backfill_minutes=3"));
        let bad = XStreamSource::new(XStreamConfig {
            backfill_minutes: 6,
            ..cfg
        });
        assert!(bad.unwrap_err().to_string().contains("backfill-minutes"));
        assert!(!format!("{s:?}").contains("lambda-trends-collector"));
    }
}
