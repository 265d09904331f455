//! The Bluesky Jetstream frame parser (`collector::jetstream::parse_frame`) on arbitrary text:
//! it never panics, a rejection has a reason code, and a post passes `fuzz_checks::check_post`
//! (source `bluesky`, normalised keys, Avro round trip), with the ids the module docs promise:
//! `userid` the stable id of the `did` (kept as `username`), both non-negative.
#![no_main]

use collector::jetstream::{parse_frame, stable_id};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_frame(&text) {
        Ok(Some(post)) => {
            fuzz_checks::check_post(&post, "bluesky");
            assert_eq!(
                post.userid,
                stable_id(&post.username),
                "userid is not the did's id"
            );
            let again = parse_frame(&text)
                .ok()
                .flatten()
                .expect("parsed once, not twice");
            // The timestamp falls back to the clock when the frame has no usable time.
            assert_eq!(again.tweetid, post.tweetid);
            assert_eq!(again.tweet, post.tweet);
            assert_eq!(again.hashtags, post.hashtags);
        }
        Ok(None) => {}
        Err((code, reason)) => {
            assert!(!code.is_empty() && !reason.is_empty());
        }
    }
});
