//! The [`Post`]: one social-media post as the collector writes it to the event log.

use serde::{Deserialize, Serialize};

/// One post, in the shape of `schemas/avro/post.avsc`: the thesis's `Tweet` record (`userid`,
/// `username`, `timestamp`, `tweetid`, `tweet`) extended with optional fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// Id of the author's account (`userid`); also the event-log key.
    pub userid: i64,
    /// Author's user name (`username`).
    pub username: String,
    /// When the post was created, Unix epoch milliseconds, UTC (`timestamp`).
    pub timestamp: i64,
    /// Id of the post (`tweetid`).
    pub tweetid: i64,
    /// Text of the post (`tweet`).
    pub tweet: String,
    /// Where the post came from: `synthetic`, `x`, `bluesky`, `replay`.
    pub source: Option<String>,
    /// Language code as given by the source (BCP 47), if any.
    pub lang: Option<String>,
    /// Hashtags as the source gave them (without `#`, original case), if the source gives them.
    /// When absent, hashtags are extracted from [`Post::tweet`].
    pub hashtags: Option<Vec<String>>,
}

impl Post {
    /// The hashtag keys this post counts for: see [`hashtag_keys`].
    pub fn hashtag_keys(&self) -> Vec<String> {
        hashtag_keys(&self.tweet, self.hashtags.as_deref())
    }
}

/// The hashtag keys a post counts for: the distinct normalised hashtags, from the source-given
/// list when present, else extracted from the text. A post that mentions `#Rust` twice counts
/// once for `rust`. This is the one definition the speed and batch layers share.
pub fn hashtag_keys(text: &str, given: Option<&[String]>) -> Vec<String> {
    let mut keys: Vec<String> = match given {
        Some(given) => given
            .iter()
            .map(|t| crate::normalize_hashtag(t.trim_start_matches(['#', '\u{FF03}'])))
            .filter(|k| !k.is_empty())
            .collect(),
        None => crate::extract_hashtags(text)
            .into_iter()
            .map(|h| h.key)
            .collect(),
    };
    keys.sort_unstable();
    keys.dedup();
    keys
}
