//! Properties the fuzz targets share: what every post a parser returns must satisfy.

use model::avro::PostCodec;
use model::{Post, normalize_hashtag};

/// Checks the counting keys of a post (from the source's list, else extracted from the text):
/// each is non-empty and normalised (normalising it again gives itself), they are sorted and
/// distinct, and computing them twice gives the same keys.
pub fn check_keys(post: &Post) {
    let keys = post.hashtag_keys();
    for key in &keys {
        assert!(!key.is_empty(), "an empty key from {post:?}");
        assert_eq!(&normalize_hashtag(key), key, "a key that is not normalised");
    }
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "keys not sorted and distinct: {keys:?}"
    );
    assert_eq!(keys, post.hashtag_keys(), "keys differ between two calls");
}

/// Checks a post a source parser returned: its ids are non-negative (X ids are 63-bit, Bluesky
/// ids are 63-bit hashes), it names `source`, its keys pass [`check_keys`], and it survives the
/// event log: Avro-encoded in both framings, it decodes to the same post.
pub fn check_post(post: &Post, source: &str) {
    assert!(post.tweetid >= 0, "negative tweetid {}", post.tweetid);
    assert!(post.userid >= 0, "negative userid {}", post.userid);
    assert_eq!(post.source.as_deref(), Some(source));
    check_keys(post);
    for codec in [PostCodec::new(), PostCodec::with_confluent_schema_id(7)] {
        let decoded = codec
            .decode(&codec.encode(post))
            .expect("an encoded post decodes");
        assert_eq!(&decoded, post, "the post changed through Avro");
    }
}
