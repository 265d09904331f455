//! Bluesky Jetstream: the public firehose of Bluesky posts as JSON over a WebSocket, free and
//! without authentication.
//!
//! [`JetstreamSource`] connects to `{instance}?wantedCollections=app.bsky.feed.post`, turns every
//! `create` commit of an `app.bsky.feed.post` record into a [`Post`] and skips everything else
//! (deletes, updates, `identity` and `account` events). Frames that are not JSON events go out
//! as [`SourceEvent::Malformed`].
//!
//! Decision: *resume by cursor, not by luck*. Jetstream stamps every event with `time_us` (Unix
//! microseconds) and replays from `?cursor=<time_us>` (about 36 hours back). The source remembers
//! the last `time_us` it read, reconnects with it after any disconnect or stall (with
//! exponential backoff, failing over to the next configured instance), and optionally persists
//! it to `cursor-file` at most once a second (temp file + rename), so a restart resumes with no
//! gap either. Because resuming at the cursor may replay the boundary event (and `rewind-us`
//! deliberately replays more), the source drops posts it has already emitted, remembered by
//! `did`, collection, `rkey` and `rev` in a bounded window of recent posts.
//!
//! The cursor saved is that of the last event the event log acknowledged
//! ([`LiveSource::acknowledged`]), never one only read: after a crash, a restart resumes at or
//! before the first post not in the log, so nothing is missing; the batch that was in flight
//! may come again (duplicates that the dedupe window, being in memory, no longer catches after
//! a restart). Reconnects within a run resume from the last event read, with no gap and no
//! duplicate.
//!
//! Ids: Bluesky ids are strings, the [`Post`] schema wants `i64`s, so `tweetid` is a 63-bit hash
//! of the post's AT URI `at://{did}/app.bsky.feed.post/{rkey}` and `userid` a 63-bit hash of the
//! `did` (see [`stable_id`]); the `did` itself is kept as `username`.

use crate::publisher::CollectorError;
use crate::source::{LiveSource, SourceEvent};
use async_trait::async_trait;
use futures::StreamExt;
use model::Post;
use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// The collection of Bluesky posts.
const POST_COLLECTION: &str = "app.bsky.feed.post";
/// The facet feature type of a hashtag.
const TAG_FEATURE: &str = "app.bsky.richtext.facet#tag";
/// The name of this source in logs and metric labels.
const SOURCE: &str = "jetstream";
/// The first reconnection delay; it doubles on every failure up to [`MAX_BACKOFF`], and comes
/// back here once a connection delivers a frame.
const INITIAL_BACKOFF: Duration = Duration::from_millis(250);
/// The longest reconnection delay.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often, at most, the cursor is written to `cursor-file`.
const CURSOR_SAVE_INTERVAL: Duration = Duration::from_secs(1);
/// How many recently emitted posts are remembered to drop replays after a reconnect.
const DEDUPE_WINDOW: usize = 65_536;

/// Settings of the Jetstream source (`[collector.jetstream]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct JetstreamConfig {
    /// Jetstream subscribe endpoints, tried in order; on a failed connection or a stall the
    /// source fails over to the next (cursors are time-based, so they work on every instance).
    /// Default: the four public instances run by Bluesky.
    pub instances: Vec<String>,
    /// Where the last `time_us` read is persisted (written at most once a second, atomically),
    /// so that a restart resumes where the previous run stopped. Default: none (start at the
    /// live tip).
    pub cursor_file: Option<PathBuf>,
    /// Reconnect when nothing (not even a ping) has arrived for this long, in milliseconds; also
    /// the timeout of a connection attempt. Default: 30000.
    pub stall_timeout_ms: u64,
    /// Resume this many microseconds before the cursor, to cover the clock skew between
    /// instances when failing over (the saved cursor already never runs ahead of the event
    /// log). Duplicates are possible when this is above 0 (those within the recent-post window
    /// are dropped). Default: 0.
    pub rewind_us: u64,
}

impl Default for JetstreamConfig {
    fn default() -> Self {
        JetstreamConfig {
            instances: [
                "wss://jetstream1.us-east.bsky.network/subscribe",
                "wss://jetstream2.us-east.bsky.network/subscribe",
                "wss://jetstream1.us-west.bsky.network/subscribe",
                "wss://jetstream2.us-west.bsky.network/subscribe",
            ]
            .map(String::from)
            .to_vec(),
            cursor_file: None,
            stall_timeout_ms: 30_000,
            rewind_us: 0,
        }
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A live source of Bluesky posts from a Jetstream instance; see the [module docs](self).
pub struct JetstreamSource {
    cfg: JetstreamConfig,
    /// The index in `cfg.instances` of the instance in use or tried next.
    instance: usize,
    socket: Option<Socket>,
    /// Whether the current connection has delivered a frame (resets the backoff; decides
    /// between retrying the same instance and failing over).
    healthy: bool,
    /// When the last frame arrived, for stall detection.
    last_frame: Instant,
    /// Events parsed but not yet returned: what makes `next` cancel-safe.
    pending: VecDeque<SourceEvent>,
    /// The `time_us` of the last event read (or loaded from `cursor-file`).
    cursor: Option<i64>,
    /// The cursor last written to `cursor-file`, and when.
    /// The cursor of the last event the event log acknowledged: what `cursor-file` gets.
    acked: Option<i64>,
    saved: Option<(i64, Instant)>,
    /// The delay before the next connection attempt.
    backoff: Duration,
    /// No connection attempt before this instant.
    retry_at: Option<Instant>,
    /// Keys of recently emitted posts, oldest first, and the same as a set.
    recent: VecDeque<u64>,
    recent_set: HashSet<u64>,
}

impl std::fmt::Debug for JetstreamSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetstreamSource")
            .field("instance", &self.cfg.instances.get(self.instance))
            .field("connected", &self.socket.is_some())
            .field("cursor", &self.cursor)
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl JetstreamSource {
    /// A source that connects on the first [`LiveSource::next`]. Fails when no instance is
    /// configured, an instance is not a `ws://` or `wss://` URL, or `cursor-file` exists but
    /// cannot be read or does not hold a cursor.
    pub fn new(cfg: JetstreamConfig) -> Result<Self, CollectorError> {
        if cfg.instances.is_empty() {
            return Err(invalid_config("collector.jetstream.instances is empty"));
        }
        if let Some(bad) = cfg
            .instances
            .iter()
            .find(|u| !(u.starts_with("ws://") || u.starts_with("wss://")))
        {
            return Err(invalid_config(&format!(
                "collector.jetstream.instances: {bad:?} is not a ws:// or wss:// URL"
            )));
        }
        // `wss://` needs a rustls crypto provider; another part of the process may have
        // installed one already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cursor = match &cfg.cursor_file {
            Some(path) => load_cursor(path)?,
            None => None,
        };
        if let Some(c) = cursor {
            tracing::info!(cursor = c, "Jetstream resumes from the saved cursor.");
        }
        Ok(JetstreamSource {
            cfg,
            instance: 0,
            socket: None,
            healthy: false,
            last_frame: Instant::now(),
            pending: VecDeque::new(),
            cursor,
            acked: cursor,
            saved: None,
            backoff: INITIAL_BACKOFF,
            retry_at: None,
            recent: VecDeque::new(),
            recent_set: HashSet::new(),
        })
    }

    /// The `time_us` of the last event read, or the one loaded from `cursor-file`: where a
    /// reconnection resumes.
    pub fn cursor(&self) -> Option<i64> {
        self.cursor
    }

    /// The URL the next connection uses: the current instance, the post collection, and the
    /// cursor (minus `rewind-us`) when there is one.
    pub fn subscribe_url(&self) -> String {
        let base = &self.cfg.instances[self.instance];
        let sep = if base.contains('?') { '&' } else { '?' };
        let mut url = format!("{base}{sep}wantedCollections={POST_COLLECTION}");
        if let Some(c) = self.cursor {
            let c = c.saturating_sub(i64::try_from(self.cfg.rewind_us).unwrap_or(i64::MAX));
            url.push_str(&format!("&cursor={}", c.max(0)));
        }
        url
    }

    fn stall_timeout(&self) -> Duration {
        Duration::from_millis(self.cfg.stall_timeout_ms.max(1))
    }

    /// Drops the connection and schedules the next attempt; `cause` is the metric label.
    fn disconnect(&mut self, cause: &'static str, detail: &str) {
        self.socket = None;
        metrics::counter!(
            "lambda_collector_reconnects_total",
            "source" => SOURCE,
            "cause" => cause
        )
        .increment(1);
        let from = self.cfg.instances[self.instance].clone();
        // A connection that worked is retried once on the same instance; a failed or stalled
        // one fails over to the next.
        if !self.healthy || cause == "stall" {
            self.instance = (self.instance + 1) % self.cfg.instances.len();
        }
        self.healthy = false;
        tracing::warn!(
            instance = %from,
            cause,
            error = detail,
            retry_in_ms = self.backoff.as_millis() as u64,
            next_instance = %self.cfg.instances[self.instance],
            "Jetstream connection lost; reconnecting."
        );
        self.retry_at = Some(Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    /// Writes the cursor to `cursor-file` if it changed and (unless `force`) a second has
    /// passed since the last write. A failed write is logged, not fatal: the stream goes on.
    fn save_cursor(&mut self, force: bool) {
        let (Some(path), Some(cursor)) = (&self.cfg.cursor_file, self.acked) else {
            return;
        };
        match self.saved {
            Some((c, _)) if c == cursor => return,
            Some((_, at)) if !force && at.elapsed() < CURSOR_SAVE_INTERVAL => return,
            _ => {}
        }
        match store_cursor(path, cursor) {
            Ok(()) => self.saved = Some((cursor, Instant::now())),
            Err(e) => {
                // Try again in a second rather than on every frame.
                self.saved = Some((self.saved.map_or(-1, |(c, _)| c), Instant::now()));
                tracing::warn!(path = %path.display(), error = %e, "Cannot save the Jetstream cursor.");
            }
        }
    }

    /// Handles one text frame: updates the cursor and queues the post or rejection, if any.
    fn on_text(&mut self, text: &str) {
        metrics::counter!("lambda_collector_received_total", "source" => SOURCE).increment(1);
        match parse_event(text) {
            Ok(parsed) => {
                if let Some(t) = parsed.time_us {
                    self.cursor = Some(self.cursor.map_or(t, |c| c.max(t)));
                    let lag = chrono::Utc::now().timestamp_micros() - t;
                    metrics::gauge!("lambda_collector_lag_seconds", "source" => SOURCE)
                        .set(lag as f64 / 1e6);
                }
                if let Some((key, post)) = parsed.post {
                    if self.remember(key) {
                        self.pending.push_back(SourceEvent::Post(post));
                    } else {
                        tracing::debug!(tweetid = post.tweetid, "Dropped a replayed post.");
                    }
                }
            }
            Err((code, reason)) => self.reject(text.to_string(), code, reason),
        }
    }

    /// Queues malformed input for the dead-letter topic (the publisher counts it in
    /// `lambda_collector_malformed_total`).
    fn reject(&mut self, raw: String, code: &'static str, reason: String) {
        self.pending
            .push_back(SourceEvent::Malformed { raw, reason, code });
    }

    /// Remembers a post's key; false if it was already emitted recently.
    fn remember(&mut self, key: u64) -> bool {
        if !self.recent_set.insert(key) {
            return false;
        }
        self.recent.push_back(key);
        if self.recent.len() > DEDUPE_WINDOW
            && let Some(old) = self.recent.pop_front()
        {
            self.recent_set.remove(&old);
        }
        true
    }
}

#[async_trait]
impl LiveSource for JetstreamSource {
    async fn next(
        &mut self,
        shutdown: &CancellationToken,
    ) -> Result<Option<SourceEvent>, CollectorError> {
        // Cancel safety: everything that must survive a dropped future (parsed events, the
        // cursor, the retry deadline, the socket with its partial frames) lives in `self`, and
        // nothing is taken out of it across an await.
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(Some(event));
            }
            if shutdown.is_cancelled() {
                return Ok(None);
            }
            if self.socket.is_none() {
                if let Some(at) = self.retry_at {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = shutdown.cancelled() => continue,
                    }
                }
                let url = self.subscribe_url();
                let connect = tokio::time::timeout(
                    self.stall_timeout(),
                    tokio_tungstenite::connect_async(url.clone()),
                );
                let result = tokio::select! {
                    r = connect => r,
                    _ = shutdown.cancelled() => continue,
                };
                self.retry_at = None;
                match result {
                    Ok(Ok((socket, _response))) => {
                        tracing::info!(url = %url, "Connected to Jetstream.");
                        self.socket = Some(socket);
                        self.healthy = false;
                        self.last_frame = Instant::now();
                    }
                    Ok(Err(e)) => self.disconnect("connect_error", &e.to_string()),
                    Err(_) => self.disconnect("connect_error", "connection attempt timed out"),
                }
                continue;
            }
            let stall_at = self.last_frame + self.stall_timeout();
            let socket = self.socket.as_mut().expect("connected above");
            let frame = tokio::select! {
                biased;
                _ = shutdown.cancelled() => continue,
                _ = tokio::time::sleep_until(stall_at) => {
                    self.disconnect("stall", "no frame within stall-timeout-ms");
                    continue;
                }
                frame = socket.next() => frame,
            };
            match frame {
                Some(Ok(message)) => {
                    self.last_frame = Instant::now();
                    if !self.healthy {
                        self.healthy = true;
                        self.backoff = INITIAL_BACKOFF;
                    }
                    match message {
                        Message::Text(text) => self.on_text(text.as_str()),
                        Message::Binary(bytes) => {
                            metrics::counter!("lambda_collector_received_total", "source" => SOURCE)
                                .increment(1);
                            self.reject(
                                String::from_utf8_lossy(&bytes).into_owned(),
                                "binary_frame",
                                "a binary frame (compression is not requested)".into(),
                            );
                        }
                        Message::Close(reason) => {
                            let detail = reason.map(|r| r.to_string()).unwrap_or_default();
                            self.disconnect("closed", &detail);
                        }
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                    }
                }
                Some(Err(e)) => self.disconnect("read_error", &e.to_string()),
                None => self.disconnect("closed", "the stream ended"),
            }
        }
    }

    fn name(&self) -> &'static str {
        SOURCE
    }

    /// Every event returned so far is in the log: its cursor may be saved.
    fn acknowledged(&mut self, last: bool) {
        self.acked = self.cursor;
        self.save_cursor(last);
    }
}

/// A stable 63-bit id (non-negative `i64`) for a string: FNV-1a 64 followed by the SplitMix64
/// finaliser (for well-spread bits), with the top bit cleared. Unlike `std`'s hasher it never
/// changes between builds, so the ids in the event log stay the same across versions.
pub fn stable_id(s: &str) -> i64 {
    (stable_hash(s.as_bytes()) & (i64::MAX as u64)) as i64
}

fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// What one frame is, once parsed.
struct Parsed {
    time_us: Option<i64>,
    /// The post with its dedupe key, for a post create; none for events that are skipped.
    post: Option<(u64, Post)>,
}

#[derive(Deserialize)]
struct Event {
    did: Option<String>,
    time_us: Option<i64>,
    kind: Option<String>,
    commit: Option<Commit>,
}

#[derive(Deserialize)]
struct Commit {
    operation: Option<String>,
    collection: Option<String>,
    rkey: Option<String>,
    rev: Option<String>,
    record: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Record {
    text: Option<String>,
    #[serde(rename = "createdAt")]
    created_at: Option<String>,
    langs: Option<Vec<String>>,
    facets: Option<Vec<Facet>>,
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Facet {
    #[serde(default)]
    features: Vec<serde_json::Value>,
}

/// Parses one Jetstream frame as the source does: `Ok(Some(post))` for the create of a post,
/// `Ok(None)` for an event the source skips (deletes, updates, other collections, `identity` and
/// `account` events), `Err((code, reason))` for a frame that is not a usable event (the source
/// sends it out as [`SourceEvent::Malformed`] with that code). Public for the fuzz targets
/// (`fuzz/`); the source itself also reads the cursor (`time_us`) from the frame.
pub fn parse_frame(text: &str) -> Result<Option<Post>, (&'static str, String)> {
    parse_event(text).map(|parsed| parsed.post.map(|(_, post)| post))
}

/// Parses one Jetstream frame; `Err((code, reason))` when it is not a usable event.
fn parse_event(text: &str) -> Result<Parsed, (&'static str, String)> {
    let event: Event = serde_json::from_str(text)
        .map_err(|e| ("invalid_json", format!("not a Jetstream event: {e}")))?;
    let Some(kind) = event.kind.as_deref() else {
        return Err(("missing_field", "the event has no `kind`".into()));
    };
    let skip = Parsed {
        time_us: event.time_us,
        post: None,
    };
    let commit = match (kind, event.commit) {
        ("commit", Some(c)) => c,
        ("commit", None) => return Err(("missing_field", "a commit without `commit`".into())),
        _ => return Ok(skip),
    };
    if commit.operation.as_deref() != Some("create")
        || commit.collection.as_deref() != Some(POST_COLLECTION)
    {
        return Ok(skip);
    }
    let (Some(did), Some(rkey), Some(record)) = (event.did, commit.rkey, commit.record) else {
        return Err((
            "missing_field",
            "a post create without `did`, `commit.rkey` or `commit.record`".into(),
        ));
    };
    let record: Record = serde_json::from_value(record).map_err(|e| {
        (
            "invalid_record",
            format!("not an app.bsky.feed.post record: {e}"),
        )
    })?;
    let Some(text) = record.text else {
        return Err(("missing_field", "a post record without `text`".into()));
    };
    let timestamp = record
        .created_at
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp_millis())
        .or(event.time_us.map(|t| t / 1000))
        .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    let hashtags = record.facets.map(|facets| {
        let mut tags: Vec<String> = facets
            .iter()
            .flat_map(|f| &f.features)
            .filter(|f| f.get("$type").and_then(|t| t.as_str()) == Some(TAG_FEATURE))
            .filter_map(|f| f.get("tag").and_then(|t| t.as_str()))
            .map(String::from)
            .collect();
        tags.extend(record.tags.into_iter().flatten());
        tags
    });
    let uri = format!("at://{did}/{POST_COLLECTION}/{rkey}");
    let key =
        stable_hash(format!("{uri}\u{0}{}", commit.rev.as_deref().unwrap_or_default()).as_bytes());
    let post = Post {
        userid: stable_id(&did),
        tweetid: stable_id(&uri),
        username: did,
        timestamp,
        tweet: text,
        source: Some("bluesky".into()),
        lang: record.langs.and_then(|l| l.into_iter().next()),
        hashtags,
    };
    Ok(Parsed {
        time_us: event.time_us,
        post: Some((key, post)),
    })
}

fn invalid_config(msg: &str) -> CollectorError {
    CollectorError::Config(msg.to_string())
}

/// Reads a cursor file: `None` if it does not exist.
fn load_cursor(path: &Path) -> Result<Option<i64>, CollectorError> {
    let io = |source| CollectorError::Io {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(s) => s.trim().parse::<i64>().map(Some).map_err(|e| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not a Jetstream cursor (unix microseconds): {e}"),
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(e)),
    }
}

/// Writes a cursor file atomically: a temp file beside it, then a rename.
fn store_cursor(path: &Path, cursor: i64) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, format!("{cursor}\n"))?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_ids_are_non_negative_and_fixed() {
        assert!(stable_id("did:plc:abc") >= 0);
        assert_eq!(stable_id("did:plc:abc"), stable_id("did:plc:abc"));
        assert_ne!(stable_id("did:plc:abc"), stable_id("did:plc:abd"));
    }

    #[test]
    fn a_post_with_tag_facets_and_record_tags() {
        let frame = r##"{"did":"did:plc:x","time_us":1783175888172335,"kind":"commit","commit":{"rev":"r1","operation":"create","collection":"app.bsky.feed.post","rkey":"k1","record":{"$type":"app.bsky.feed.post","createdAt":"2026-07-04T14:38:07.323Z","langs":["de","en"],"text":"#Rust ok","tags":["Extra"],"facets":[{"features":[{"$type":"app.bsky.richtext.facet#tag","tag":"Rust"}],"index":{"byteStart":0,"byteEnd":5}},{"features":[{"$type":"app.bsky.richtext.facet#link","uri":"https://x"}]}]},"cid":"bafy"}}"##;
        let parsed = parse_event(frame).unwrap();
        assert_eq!(parsed.time_us, Some(1783175888172335));
        let (_, post) = parsed.post.unwrap();
        assert_eq!(post.hashtags, Some(vec!["Rust".into(), "Extra".into()]));
        assert_eq!(post.lang.as_deref(), Some("de"));
        assert_eq!(post.timestamp, 1783175887323);
        assert_eq!(post.username, "did:plc:x");
    }

    #[test]
    fn created_at_falls_back_to_time_us() {
        let frame = r#"{"did":"did:plc:x","time_us":1783175888172335,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"k1","record":{"createdAt":"yesterday","text":"hi"}}}"#;
        let (_, post) = parse_event(frame).unwrap().post.unwrap();
        assert_eq!(post.timestamp, 1783175888172);
        assert_eq!(post.hashtags, None);
        assert_eq!(post.lang, None);
    }

    #[test]
    fn skipped_and_rejected_frames() {
        let delete = r#"{"did":"did:plc:x","time_us":5,"kind":"commit","commit":{"operation":"delete","collection":"app.bsky.feed.post","rkey":"k1"}}"#;
        let p = parse_event(delete).unwrap();
        assert!(p.post.is_none());
        assert_eq!(p.time_us, Some(5));
        assert!(
            parse_event(r#"{"kind":"account","time_us":6}"#)
                .unwrap()
                .post
                .is_none()
        );
        assert_eq!(parse_event("nope").err().unwrap().0, "invalid_json");
        assert_eq!(parse_event("{}").err().unwrap().0, "missing_field");
        let no_text = r#"{"did":"d","time_us":5,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"k","record":{}}}"#;
        assert_eq!(parse_event(no_text).err().unwrap().0, "missing_field");
    }

    #[test]
    fn subscribe_url_carries_the_rewound_cursor() {
        let mut s = JetstreamSource::new(JetstreamConfig {
            instances: vec!["ws://h/subscribe".into()],
            rewind_us: 10,
            ..JetstreamConfig::default()
        })
        .unwrap();
        assert_eq!(
            s.subscribe_url(),
            "ws://h/subscribe?wantedCollections=app.bsky.feed.post"
        );
        s.cursor = Some(100);
        assert_eq!(
            s.subscribe_url(),
            "ws://h/subscribe?wantedCollections=app.bsky.feed.post&cursor=90"
        );
    }

    #[test]
    fn config_is_kebab_case_and_strict() {
        let cfg: JetstreamConfig =
            serde_json::from_str(r#"{"cursor-file":"/tmp/c","stall-timeout-ms":5,"rewind-us":7}"#)
                .unwrap();
        assert_eq!(cfg.stall_timeout_ms, 5);
        assert_eq!(cfg.instances.len(), 4);
        assert!(serde_json::from_str::<JetstreamConfig>(r#"{"nope":1}"#).is_err());
    }
}
