//! File replay: recorded posts read back into the event log, for tests, benchmarks, demos and
//! backfills.
//!
//! A replay file holds one JSON document per line, plain or gzip (recognised by its magic
//! bytes, whatever the file is called; concatenated gzip members are read through). Each line
//! may be any of:
//!
//! | line | posts |
//! |---|---|
//! | an X API v2 stream line `{"data": {...}, "includes": ...}` | one ([`crate::x_v2::parse_line`]) |
//! | an X API v2 search or timeline page `{"data": [...], "includes": ..., "meta": ...}` | one per tweet ([`crate::x_v2::parse_page`]) |
//! | an X API v1.1 status `{"id_str": ..., "user": ..., "text": ...}` | one ([`crate::x_v1::parse_status`]) |
//! | a v1.1 search page `{"statuses": [...]}` or timeline `[status, ...]` | one per status |
//! | blank, a v2 stream error, a v1.1 control message (`delete`, `limit`, ...), an empty page | none (skipped, counted) |
//!
//! Anything else, a line that is not UTF-8, or one longer than [`MAX_LINE_BYTES`] is malformed:
//! it goes to the dead-letter topic with its reason (one entry per bad tweet of a page).
//!
//! Pace ([`ReplayConfig::speed`]): the recorded pace N times faster (the gaps between the posts'
//! `created_at`), or `collector.rate` posts per second, or as fast as the log takes them. Posts
//! keep their recorded timestamps, so they land in the slots they were posted in. On a terminal,
//! a progress bar shows the bytes read, the rate and the time left.

use crate::publisher::CollectorError;
use crate::source::{LiveSource, SourceEvent};
use crate::x_v1::{control_kind, parse_status};
use crate::x_v2::{ReplayItem, parse_line, parse_page};
use async_trait::async_trait;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use model::Post;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The longest line read; longer ones are sent to the dead-letter topic, cut to this length.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// Lines the reader thread hands over at a time.
const CHUNK_LINES: usize = 256;

/// Replay settings (`[collector.replay]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ReplayConfig {
    /// The file to replay (`--file`).
    pub path: PathBuf,
    /// 0 (the default): `collector.rate` posts per second (0 there: as fast as possible).
    /// N > 0: the recorded pace, N times faster (1: as recorded; 60: an hour a minute).
    pub speed: f64,
    /// Show a progress bar when stderr is a terminal.
    pub progress: bool,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig {
            path: PathBuf::new(),
            speed: 0.0,
            progress: true,
        }
    }
}

/// What one line of a replay file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplayRecord {
    /// A post.
    Post(Post),
    /// Input that is not a post, for the dead-letter topic.
    Malformed {
        /// The input (a line, or one tweet of a page).
        raw: String,
        /// Why, for humans.
        reason: String,
        /// A short stable code.
        code: &'static str,
    },
    /// Something that is rightly not a post: `keep_alive`, `stream_error`, `empty_page`, or a
    /// v1.1 control message (`delete`, `limit`, ...).
    Skipped(&'static str),
}

impl ReplayRecord {
    fn malformed(raw: &str, e: &crate::x_v2::ReplayError) -> Self {
        ReplayRecord::Malformed {
            raw: raw.to_owned(),
            reason: e.to_string(),
            code: e.reason_code(),
        }
    }
}

/// Parses one line of a replay file in any of the formats of the [module docs](self).
pub fn parse_replay_line(line: &str) -> Vec<ReplayRecord> {
    let trimmed = line.trim_start_matches('\u{FEFF}').trim();
    if trimmed.is_empty() {
        return vec![ReplayRecord::Skipped("keep_alive")];
    }
    if trimmed.starts_with('[') {
        return v1_page_records(trimmed, line);
    }
    let keys = match serde_json::from_str::<HashMap<String, &RawValue>>(trimmed) {
        Ok(k) => k,
        Err(e) => {
            return vec![ReplayRecord::malformed(
                line,
                &crate::x_v2::ReplayError::InvalidJson(e),
            )];
        }
    };
    if let Some(data) = keys.get("data") {
        if data.get().starts_with('[') {
            return page_records(trimmed);
        }
        return v2_line_record(trimmed);
    }
    if let Some(statuses) = keys.get("statuses") {
        return v1_page_records(statuses.get(), line);
    }
    if keys.contains_key("meta") && !keys.contains_key("errors") {
        return page_records(trimmed);
    }
    if let Some(kind) = control_kind(keys.keys().map(String::as_str)) {
        return vec![ReplayRecord::Skipped(kind)];
    }
    if keys.contains_key("id_str") || keys.contains_key("user") {
        return vec![v1_record(trimmed)];
    }
    v2_line_record(trimmed)
}

/// A JSON array of v1.1 statuses (a timeline, or a search page's `statuses`) of `line`.
fn v1_page_records(array: &str, line: &str) -> Vec<ReplayRecord> {
    match serde_json::from_str::<Vec<&RawValue>>(array) {
        Ok(statuses) if statuses.is_empty() => vec![ReplayRecord::Skipped("empty_page")],
        Ok(statuses) => statuses.iter().map(|s| v1_record(s.get())).collect(),
        Err(e) => vec![ReplayRecord::malformed(
            line,
            &crate::x_v2::ReplayError::InvalidJson(e),
        )],
    }
}

fn v1_record(json: &str) -> ReplayRecord {
    match parse_status(json) {
        Ok(p) => ReplayRecord::Post(p),
        Err(e) => ReplayRecord::malformed(json, &e),
    }
}

fn v2_line_record(line: &str) -> Vec<ReplayRecord> {
    vec![match parse_line(line) {
        Ok(ReplayItem::Post(p)) => ReplayRecord::Post(p),
        Ok(ReplayItem::KeepAlive) => ReplayRecord::Skipped("keep_alive"),
        Ok(ReplayItem::StreamError { .. }) => ReplayRecord::Skipped("stream_error"),
        Err(e) => ReplayRecord::malformed(line, &e),
    }]
}

fn page_records(json: &str) -> Vec<ReplayRecord> {
    match parse_page(json) {
        Ok(entries) if entries.is_empty() => vec![ReplayRecord::Skipped("empty_page")],
        Ok(entries) => entries
            .into_iter()
            .map(|e| match e {
                Ok(p) => ReplayRecord::Post(p),
                Err((raw, e)) => ReplayRecord::malformed(&raw, &e),
            })
            .collect(),
        Err(e) => vec![ReplayRecord::malformed(json, &e)],
    }
}

/// A line as the reader thread read it.
enum RawLine {
    Line(Vec<u8>),
    TooLong(Vec<u8>),
}

/// Replays a file; see the [module docs](self).
pub struct ReplaySource {
    lines: mpsc::Receiver<std::io::Result<Vec<RawLine>>>,
    pending: VecDeque<SourceEvent>,
    pace: Pace,
    /// Posts handed out so far.
    emitted: u64,
    progress: ProgressBar,
    path: PathBuf,
}

/// When the next post is due.
enum Pace {
    AsFastAsPossible,
    Rate {
        per_sec: f64,
        start: Option<Instant>,
    },
    Recorded {
        speed: f64,
        origin: Option<(Instant, i64)>,
    },
}

impl ReplaySource {
    /// Opens the file and starts reading it on a thread of its own. `rate` is
    /// `collector.rate`, used when `cfg.speed` is 0.
    pub fn open(cfg: &ReplayConfig, rate: f64) -> Result<Self, CollectorError> {
        if cfg.path.as_os_str().is_empty() {
            return Err(CollectorError::Config(
                "the replay source needs a file: --file PATH or collector.replay.path".into(),
            ));
        }
        if !(cfg.speed >= 0.0 && cfg.speed.is_finite()) {
            return Err(CollectorError::Config(format!(
                "collector.replay.speed must be 0 or more, got {}",
                cfg.speed
            )));
        }
        let io_error = |source| CollectorError::Io {
            path: cfg.path.clone(),
            source,
        };
        let file = std::fs::File::open(&cfg.path).map_err(io_error)?;
        let len = file.metadata().map_err(io_error)?.len();
        let progress = if cfg.progress {
            ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        progress.set_style(
            ProgressStyle::with_template(
                "{spinner} replay [{bar:30}] {percent:>3}% {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
            )
            .expect("a valid progress template")
            .progress_chars("=> "),
        );
        let (tx, rx) = mpsc::channel(8);
        let bar = progress.clone();
        std::thread::Builder::new()
            .name("replay-reader".into())
            .spawn(move || read_lines(file, bar, tx))
            .map_err(io_error)?;
        let pace = if cfg.speed > 0.0 {
            Pace::Recorded {
                speed: cfg.speed,
                origin: None,
            }
        } else if rate > 0.0 && rate.is_finite() {
            Pace::Rate {
                per_sec: rate,
                start: None,
            }
        } else {
            Pace::AsFastAsPossible
        };
        tracing::info!(path = %cfg.path.display(), bytes = len, speed = cfg.speed, rate, "Replaying a file.");
        Ok(ReplaySource {
            lines: rx,
            pending: VecDeque::new(),
            pace,
            emitted: 0,
            progress,
            path: cfg.path.clone(),
        })
    }

    /// When `post` is due, if it must wait.
    fn due(&mut self, post: &Post) -> Option<Instant> {
        match &mut self.pace {
            Pace::AsFastAsPossible => None,
            Pace::Rate { per_sec, start } => {
                let start = *start.get_or_insert_with(Instant::now);
                Some(start + Duration::from_secs_f64(self.emitted as f64 / *per_sec))
            }
            Pace::Recorded { speed, origin } => {
                let (wall, recorded) =
                    *origin.get_or_insert_with(|| (Instant::now(), post.timestamp));
                let ahead_ms = post.timestamp.saturating_sub(recorded).max(0) as f64 / *speed;
                Some(wall + Duration::from_secs_f64(ahead_ms / 1000.0))
            }
        }
    }

    fn push_line(&mut self, raw: RawLine) {
        metrics::counter!("lambda_collector_received_total", "source" => "replay").increment(1);
        let bytes = match raw {
            RawLine::Line(b) => b,
            RawLine::TooLong(b) => {
                self.pending.push_back(SourceEvent::Malformed {
                    raw: String::from_utf8_lossy(&b).into_owned(),
                    reason: format!("line longer than {MAX_LINE_BYTES} bytes (cut here)"),
                    code: "oversized",
                });
                return;
            }
        };
        let line = match std::str::from_utf8(&bytes) {
            Ok(l) => l,
            Err(e) => {
                self.pending.push_back(SourceEvent::Malformed {
                    raw: String::from_utf8_lossy(&bytes).into_owned(),
                    reason: format!("not UTF-8: {e}"),
                    code: "invalid_utf8",
                });
                return;
            }
        };
        for record in parse_replay_line(line) {
            match record {
                ReplayRecord::Post(p) => self.pending.push_back(SourceEvent::Post(p)),
                ReplayRecord::Malformed { raw, reason, code } => {
                    self.pending
                        .push_back(SourceEvent::Malformed { raw, reason, code })
                }
                ReplayRecord::Skipped(kind) => {
                    metrics::counter!("lambda_collector_skipped_total", "source" => "replay", "kind" => kind)
                        .increment(1)
                }
            }
        }
    }
}

#[async_trait]
impl LiveSource for ReplaySource {
    async fn next(
        &mut self,
        shutdown: &CancellationToken,
    ) -> Result<Option<SourceEvent>, CollectorError> {
        loop {
            if shutdown.is_cancelled() {
                return Ok(None);
            }
            // Cancel-safe: the event stays at the front of `pending` until it is returned.
            if let Some(front) = self.pending.front() {
                if let SourceEvent::Post(p) = front {
                    let p = p.clone();
                    if let Some(due) = self.due(&p)
                        && due > Instant::now()
                    {
                        tokio::select! {
                            _ = tokio::time::sleep_until(due) => {}
                            _ = shutdown.cancelled() => return Ok(None),
                        }
                    }
                    self.emitted += 1;
                    if self.emitted.is_multiple_of(4096) {
                        self.progress.set_message(format!("{} posts", self.emitted));
                    }
                }
                return Ok(self.pending.pop_front());
            }
            let chunk = tokio::select! {
                chunk = self.lines.recv() => chunk,
                _ = shutdown.cancelled() => return Ok(None),
            };
            match chunk {
                Some(Ok(lines)) => lines.into_iter().for_each(|l| self.push_line(l)),
                Some(Err(source)) => {
                    self.progress.abandon();
                    return Err(CollectorError::Io {
                        path: self.path.clone(),
                        source,
                    });
                }
                None => {
                    self.progress
                        .finish_with_message(format!("{} posts, done", self.emitted));
                    return Ok(None);
                }
            }
        }
    }

    fn name(&self) -> &'static str {
        "replay"
    }
}

/// Counts the bytes read from the file into the progress bar.
struct Counting<R> {
    inner: R,
    progress: ProgressBar,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

/// The reader thread: decompresses if needed, splits lines, hands them over in chunks until the
/// file ends or the source is dropped.
fn read_lines(
    file: std::fs::File,
    progress: ProgressBar,
    tx: mpsc::Sender<std::io::Result<Vec<RawLine>>>,
) {
    let mut raw = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: file,
            progress,
        },
    );
    let gzip = match raw.fill_buf() {
        Ok(head) => head.starts_with(&[0x1f, 0x8b]),
        Err(e) => {
            let _ = tx.blocking_send(Err(e));
            return;
        }
    };
    let mut reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    };
    let mut chunk = Vec::with_capacity(CHUNK_LINES);
    loop {
        match read_line(&mut reader) {
            Ok(Some(line)) => {
                chunk.push(line);
                if chunk.len() == CHUNK_LINES
                    && tx.blocking_send(Ok(std::mem::take(&mut chunk))).is_err()
                {
                    return;
                }
            }
            Ok(None) => {
                if !chunk.is_empty() {
                    let _ = tx.blocking_send(Ok(chunk));
                }
                return;
            }
            Err(e) => {
                if !chunk.is_empty() && tx.blocking_send(Ok(std::mem::take(&mut chunk))).is_err() {
                    return;
                }
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
    }
}

/// Reads one line (without its `\n`), at most [`MAX_LINE_BYTES`]; the rest of a longer line is
/// skipped. `None` at the end of the input.
fn read_line(reader: &mut dyn BufRead) -> std::io::Result<Option<RawLine>> {
    let mut line = Vec::new();
    let n = reader
        .take(MAX_LINE_BYTES as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        return Ok(Some(RawLine::Line(line)));
    }
    if line.len() <= MAX_LINE_BYTES {
        return Ok(Some(RawLine::Line(line))); // the last line, without a newline
    }
    line.truncate(MAX_LINE_BYTES);
    let mut skip = Vec::new();
    loop {
        skip.clear();
        let n = reader.take(1 << 20).read_until(b'\n', &mut skip)?;
        if n == 0 || skip.last() == Some(&b'\n') {
            break;
        }
    }
    Ok(Some(RawLine::TooLong(line)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const V2_LINE: &str = r#"{"data":{"id":"1","text":"hello #Rust","created_at":"2021-04-01T15:52:31.000Z","author_id":"7","entities":{"hashtags":[{"start":6,"end":11,"tag":"Rust"}]}},"includes":{"users":[{"id":"7","username":"seven"}]}}"#;
    const V1_STATUS: &str = r#"{"created_at":"Thu Apr 01 15:53:31 +0000 2021","id":2,"id_str":"2","text":"v1 #kpop","user":{"id":8,"id_str":"8","screen_name":"eight"},"entities":{"hashtags":[{"text":"kpop","indices":[3,8]}]}}"#;

    fn posts(records: &[ReplayRecord]) -> Vec<i64> {
        records
            .iter()
            .filter_map(|r| match r {
                ReplayRecord::Post(p) => Some(p.tweetid),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_format_of_the_module_docs() {
        assert_eq!(posts(&parse_replay_line(V2_LINE)), vec![1]);
        assert_eq!(posts(&parse_replay_line(V1_STATUS)), vec![2]);
        let page = format!(
            r#"{{"data":[{},{}],"includes":{{"users":[{{"id":"7","username":"seven"}}]}},"meta":{{"result_count":2}}}}"#,
            &V2_LINE[8..V2_LINE.find(r#","includes""#).unwrap()],
            r#"{"id":"3","text":"x","created_at":"2021-04-01T15:52:31.000Z"}"#
        );
        assert_eq!(posts(&parse_replay_line(&page)), vec![1, 3]);
        assert_eq!(
            posts(&parse_replay_line(&format!(
                r#"{{"statuses":[{V1_STATUS},{V1_STATUS}],"search_metadata":{{}}}}"#
            ))),
            vec![2, 2]
        );
        assert_eq!(
            posts(&parse_replay_line(&format!("[{V1_STATUS}]"))),
            vec![2]
        );
        for (line, kind) in [
            ("", "keep_alive"),
            ("\r", "keep_alive"),
            (r#"{"delete":{"status":{"id":1}}}"#, "delete"),
            (r#"{"limit":{"track":12}}"#, "limit"),
            (r#"{"meta":{"result_count":0}}"#, "empty_page"),
            ("[]", "empty_page"),
            (r#"{"statuses":[]}"#, "empty_page"),
            (
                r#"{"errors":[{"title":"operational-disconnect","type":"https://api.twitter.com/2/problems/operational-disconnect"}]}"#,
                "stream_error",
            ),
        ] {
            assert_eq!(
                parse_replay_line(line),
                vec![ReplayRecord::Skipped(kind)],
                "{line}"
            );
        }
    }

    #[test]
    fn malformed_lines_and_tweets_have_reasons() {
        let code = |line: &str| match parse_replay_line(line).as_slice() {
            [ReplayRecord::Malformed { code, .. }] => *code,
            other => panic!("{line}: {other:?}"),
        };
        assert_eq!(code("{not json"), "invalid_json");
        assert_eq!(code(r#"{"data":{"id":"1""#), "truncated_json");
        assert_eq!(code(r#"{"hello":1}"#), "unknown_message");
        assert_eq!(code(r#"{"id_str":"1","user":{}}"#), "missing_created_at");
        let mixed = format!(r#"{{"statuses":[{V1_STATUS},{{"id_str":"z","user":{{}}}}]}}"#);
        let records = parse_replay_line(&mixed);
        assert_eq!(posts(&records), vec![2]);
        assert!(
            matches!(&records[1], ReplayRecord::Malformed { code: "bad_id", raw, .. } if raw.contains(r#""z""#)),
            "{records:?}"
        );
    }

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    async fn drain(cfg: ReplayConfig, rate: f64) -> Vec<SourceEvent> {
        let mut source = ReplaySource::open(&cfg, rate).unwrap();
        let shutdown = CancellationToken::new();
        let mut out = Vec::new();
        while let Some(e) = source.next(&shutdown).await.unwrap() {
            out.push(e);
        }
        out
    }

    fn config(path: PathBuf) -> ReplayConfig {
        ReplayConfig {
            path,
            speed: 0.0,
            progress: false,
        }
    }

    #[tokio::test]
    async fn gzip_plain_invalid_utf8_and_oversized_lines() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = format!("{V2_LINE}\r\n\n{V1_STATUS}\n").into_bytes();
        text.extend_from_slice(b"\xff\xfe not utf-8\n");
        text.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 10));
        text.extend_from_slice(format!("\n{V1_STATUS}").as_bytes()); // no final newline
        let plain = write(&dir, "posts.jsonl", &text);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text).unwrap();
        let gzipped = write(&dir, "posts.data", &gz.finish().unwrap());
        for path in [plain, gzipped] {
            let events = drain(config(path.clone()), 0.0).await;
            let summary: Vec<String> = events
                .iter()
                .map(|e| match e {
                    SourceEvent::Post(p) => format!("post {}", p.tweetid),
                    SourceEvent::Malformed { code, raw, .. } => format!("{code} {}", raw.len()),
                })
                .collect();
            assert_eq!(
                summary,
                vec![
                    "post 1".to_owned(),
                    "post 2".to_owned(),
                    format!("invalid_utf8 {}", "\u{FFFD}\u{FFFD} not utf-8".len()),
                    format!("oversized {MAX_LINE_BYTES}"),
                    "post 2".to_owned(),
                ],
                "{}",
                path.display()
            );
        }
    }

    #[tokio::test]
    async fn a_missing_file_or_no_file_is_a_clear_error() {
        let err = ReplaySource::open(&config("/nonexistent/replay.jsonl".into()), 0.0)
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("/nonexistent/replay.jsonl"),
            "{err}"
        );
        let err = ReplaySource::open(&config(PathBuf::new()), 0.0)
            .err()
            .unwrap();
        assert!(err.to_string().contains("--file"), "{err}");
    }

    /// Ten posts one minute apart, replayed at 600×: one every 100 ms of (paused) time.
    #[tokio::test(start_paused = true)]
    async fn recorded_pace_times_the_speed_factor() {
        let dir = tempfile::tempdir().unwrap();
        let lines: String = (0..10)
            .map(|i| {
                format!(
                    "{{\"data\":{{\"id\":\"{}\",\"text\":\"t\",\"created_at\":\"2021-04-01T15:{:02}:00.000Z\"}}}}\n",
                    i + 1,
                    10 + i
                )
            })
            .collect();
        let path = write(&dir, "paced.jsonl", lines.as_bytes());
        let mut source = ReplaySource::open(
            &ReplayConfig {
                speed: 600.0,
                ..config(path.clone())
            },
            0.0,
        )
        .unwrap();
        let shutdown = CancellationToken::new();
        let start = Instant::now();
        let mut at = Vec::new();
        while let Some(SourceEvent::Post(_)) = source.next(&shutdown).await.unwrap() {
            at.push((Instant::now() - start).as_millis());
        }
        let expected: Vec<u128> = (0..10).map(|i| i * 100).collect();
        assert_eq!(at, expected);
        // At a fixed rate instead: 20 posts/s, one every 50 ms.
        let mut source = ReplaySource::open(&config(path), 20.0).unwrap();
        let start = Instant::now();
        let mut at = Vec::new();
        while let Some(SourceEvent::Post(_)) = source.next(&shutdown).await.unwrap() {
            at.push((Instant::now() - start).as_millis());
        }
        assert_eq!(at, (0..10).map(|i| i * 50).collect::<Vec<u128>>());
    }
}
