//! The collector: sources of posts for the event log.
//!
//! - [`synthetic`]: a deterministic generator of realistic-looking posts with a Zipf-distributed
//!   hashtag vocabulary and periodic trending bursts, plus an exact [`synthetic::GroundTruth`]
//!   to check the speed and batch layers against.
//! - [`jetstream`]: the Bluesky Jetstream live source (WebSocket, cursor resume, failover).
//! - [`publisher`]: the run loop that encodes posts as Avro and appends them to the event log,
//!   retrying through outages and dead-lettering input that is not a post.
//! - [`source`]: the `LiveSource` trait of the live sources (the X sampled stream, Bluesky
//!   Jetstream), and [`publisher::run_live`], which batches any of them into the event log.
//! - [`replay`]: the file replay source (X API v2 and v1.1 JSON lines, plain or gzip, at the
//!   recorded pace times a speed factor, at a rate, or as fast as possible).
//! - [`x_v2`]: a parser for X API v2 JSON: sampled-stream lines (the live wire format) and
//!   search/timeline pages.
//! - [`x_v1`]: a parser for X API v1.1 status objects and control messages, for old archives.
//! - [`x_stream`]: the X API v2 sampled stream live source (HTTP streaming, X's reconnect rules).

pub mod jetstream;
pub mod publisher;
pub mod replay;
pub mod source;
pub mod synthetic;
pub mod x_stream;
pub mod x_v1;
pub mod x_v2;
