//! The domain model of lambda-trends: what a [`Post`] is, how hashtags are found in it and
//! normalised for counting ([`hashtag`]), which 5-minute UTC slot it falls in ([`slot`]), and how it
//! is written to and read from the event log as Avro ([`avro`]), what a view counts ([`view`]), and
//! how the serving API's query parameters are parsed and checked ([`params`]).
//!
//! Everything here is pure and synchronous, so every layer (collector, speed, batch, serving) shares
//! exactly one definition. One decision worth knowing: a hashtag is counted under its *key* (NFKC +
//! lowercase), while the *display* form the author typed is kept beside it, so `#Rust` and `#rust`
//! are one trend, shown as written.

pub mod avro;
pub mod hashtag;
pub mod params;
pub mod post;
pub mod slot;
pub mod view;

pub use hashtag::{Hashtag, extract_hashtags, normalize_hashtag};
pub use post::{Post, hashtag_keys};
pub use slot::{SLOT_MILLIS, SlotKey, SlotStart};
pub use view::{ViewDef, ViewSet};

/// Name of the topic that carries posts.
pub const POSTS_TOPIC: &str = "posts";
/// Name of the dead-letter topic: records that could not be decoded, with the reason in headers.
pub const POSTS_DLQ_TOPIC: &str = "posts-dlq";
