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
//! - [`x_replay`]: a parser for X API v2 sampled-stream JSON lines (the live wire format and the
//!   file-replay format are the same: one JSON object per line).
//! - [`x_stream`]: the X API v2 sampled stream live source (HTTP streaming, X's reconnect rules).

pub mod jetstream;
pub mod publisher;
pub mod source;
pub mod synthetic;
pub mod x_replay;
pub mod x_stream;
