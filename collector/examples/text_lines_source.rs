//! A new source in well under 200 lines: every line on standard input is a post.
//!
//! ```sh
//! printf 'hello #Rust\nlambda #rust #kafka\n' | \
//!   cargo run -p lambda-trends-collector --example text_lines_source -- ./data
//! lambda-trends --data-dir ./data up   # the posts are in the embedded event log
//! ```
//!
//! What a source must do (see `collector::source::LiveSource`):
//! - `next` waits for the next post, or for input that is not one (`SourceEvent::Malformed`,
//!   which the publisher sends to the dead-letter topic with its reason and counts);
//! - it returns `Ok(None)` at the end of its input or once `shutdown` fires;
//! - it is cancel-safe: the publisher drops the `next` future when the source is quiet for a
//!   moment (to send a partial batch), so anything read but not yet returned lives in `self`;
//! - it reconnects by itself when its input is a network service, and fails with
//!   `CollectorError` only when going on is pointless.
//!
//! `collector::publisher::run_live` does the rest: batching, Avro encoding, appending with
//! retries through outages, dead-lettering, per-source metrics and `max-posts`.

use async_trait::async_trait;
use collector::publisher::{CollectorConfig, CollectorError, run_live};
use collector::source::{LiveSource, SourceEvent};
use model::Post;
use ports::{BackendUrls, Backends};
use std::collections::VecDeque;
use tokio::io::{AsyncBufReadExt, BufReader, Lines, Stdin};
use tokio_util::sync::CancellationToken;

/// The longest line taken as a post; longer ones are malformed.
const MAX_CHARS: usize = 10_000;

/// Posts from the lines of standard input.
struct TextLines {
    lines: Lines<BufReader<Stdin>>,
    /// Events parsed but not returned yet (none here, but a source whose one input holds
    /// several posts keeps them here, which is what makes `next` cancel-safe).
    pending: VecDeque<SourceEvent>,
    next_id: i64,
}

impl TextLines {
    fn new() -> Self {
        TextLines {
            lines: BufReader::new(tokio::io::stdin()).lines(),
            pending: VecDeque::new(),
            next_id: chrono::Utc::now().timestamp_micros(),
        }
    }

    /// One line to one event: the only part that is really this source's own.
    fn parse(&mut self, line: String) -> SourceEvent {
        if line.chars().count() > MAX_CHARS {
            return SourceEvent::Malformed {
                raw: line,
                reason: format!("longer than {MAX_CHARS} characters"),
                code: "too_long",
            };
        }
        self.next_id += 1;
        SourceEvent::Post(Post {
            userid: 0,
            username: "stdin".into(),
            timestamp: chrono::Utc::now().timestamp_millis(),
            tweetid: self.next_id,
            tweet: line,
            source: Some("stdin".into()),
            lang: None,
            // None: the speed and batch layers extract the hashtags from the text.
            hashtags: None,
        })
    }
}

#[async_trait]
impl LiveSource for TextLines {
    async fn next(
        &mut self,
        shutdown: &CancellationToken,
    ) -> Result<Option<SourceEvent>, CollectorError> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(Some(event));
            }
            // `next_line` is cancel-safe, so dropping this future loses nothing.
            let line = tokio::select! {
                line = self.lines.next_line() => line,
                _ = shutdown.cancelled() => return Ok(None),
            };
            match line {
                Ok(Some(line)) if line.trim().is_empty() => continue,
                Ok(Some(line)) => {
                    let event = self.parse(line);
                    self.pending.push_back(event);
                }
                Ok(None) => return Ok(None),
                Err(source) => {
                    return Err(CollectorError::Io {
                        path: "<stdin>".into(),
                        source,
                    });
                }
            }
        }
    }

    fn name(&self) -> &'static str {
        "stdin"
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let data_dir = std::env::args().nth(1).unwrap_or_else(|| "./data".into());
    // The embedded backends; `Backends::open` takes kafka:// (and the rest) URLs as well.
    let backends = Backends::open(&BackendUrls::default(), data_dir.as_ref())?;
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    let stats = run_live(
        backends.log.clone(),
        backends.codec.clone(),
        &CollectorConfig::default(),
        &mut TextLines::new(),
        shutdown,
    )
    .await?;
    eprintln!("{} posts written, {} rejected", stats.posts, stats.rejected);
    Ok(())
}
