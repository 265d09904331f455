//! Schema evolution: records written with the thesis's original `Tweet` schema
//! (`schemas/avro/tweet-thesis.avsc`, 5 fields, as its collector wrote them) are read with ours
//! (`schemas/avro/post.avsc`), the new optional fields `None`.
//!
//! The thesis records are written here with apache-avro directly, framed by hand as the Avro
//! specification's single-object encoding, so the test does not lean on our encoder.

use apache_avro::Schema;
use apache_avro::rabin::Rabin;
use apache_avro::schema_compatibility::SchemaCompatibility;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use model::Post;
use model::avro::{POST_SCHEMA_JSON, PostCodec, THESIS_TWEET_SCHEMA_JSON};

struct ThesisTweet<'a> {
    userid: i64,
    username: &'a str,
    timestamp: i64,
    tweetid: i64,
    tweet: &'a str,
}

/// A thesis record in single-object encoding: `C3 01`, the schema's CRC-64-AVRO fingerprint
/// (8 bytes, little-endian), the datum written with `tweet-thesis.avsc`.
fn thesis_record(t: &ThesisTweet<'_>) -> Vec<u8> {
    let schema = Schema::parse_str(THESIS_TWEET_SCHEMA_JSON).unwrap();
    let mut bytes = vec![0xC3, 0x01];
    bytes.extend_from_slice(&schema.fingerprint::<Rabin>().bytes);
    let value = Value::Record(vec![
        ("userid".into(), Value::Long(t.userid)),
        ("username".into(), Value::String(t.username.into())),
        ("timestamp".into(), Value::Long(t.timestamp)),
        ("tweetid".into(), Value::Long(t.tweetid)),
        ("tweet".into(), Value::String(t.tweet.into())),
    ]);
    GenericDatumWriter::builder(&schema)
        .build()
        .unwrap()
        .write_value(&mut bytes, value)
        .unwrap();
    bytes
}

#[test]
fn thesis_records_are_read_with_our_schema() {
    let tweets = [
        ThesisTweet {
            userid: 17,
            username: "kozlovit",
            timestamp: 1_617_292_351_000,
            tweetid: 1_377_650_090_978_992_134,
            tweet: "Lambda #architecture",
        },
        ThesisTweet {
            userid: i64::MAX,
            username: "",
            timestamp: 0,
            tweetid: -1,
            tweet: "",
        },
        ThesisTweet {
            userid: 4_602_771_083,
            username: "東京🦀",
            timestamp: -86_400_000,
            tweetid: 1,
            tweet: "RT @a: #Кириллица и ＃日本語 #عربي…",
        },
    ];
    // Whichever framing a codec writes, it reads single-object thesis records.
    for codec in [PostCodec::new(), PostCodec::with_confluent_schema_id(3)] {
        for t in &tweets {
            let post = codec
                .decode(&thesis_record(t))
                .expect("a thesis record decodes");
            assert_eq!(
                post,
                Post {
                    userid: t.userid,
                    username: t.username.into(),
                    timestamp: t.timestamp,
                    tweetid: t.tweetid,
                    tweet: t.tweet.into(),
                    source: None,
                    lang: None,
                    hashtags: None,
                }
            );
        }
    }
}

#[test]
fn hashtags_of_thesis_records_come_from_the_text() {
    let post = PostCodec::new()
        .decode(&thesis_record(&ThesisTweet {
            userid: 1,
            username: "u",
            timestamp: 1,
            tweetid: 1,
            tweet: "Lambda #Architecture and #kappa #lambda…",
        }))
        .unwrap();
    assert_eq!(post.hashtags, None);
    assert_eq!(post.hashtag_keys(), ["architecture", "kappa"]);
}

#[test]
fn a_thesis_record_cut_short_is_rejected() {
    let bytes = thesis_record(&ThesisTweet {
        userid: 1,
        username: "u",
        timestamp: 1,
        tweetid: 1,
        tweet: "text",
    });
    let err = PostCodec::new()
        .decode(&bytes[..bytes.len() - 1])
        .unwrap_err();
    assert_eq!(err.reason_code(), "bad_datum", "{err}");
}

#[test]
fn our_schema_is_a_compatible_extension_of_the_thesis_schema() {
    let ours = Schema::parse_str(POST_SCHEMA_JSON).unwrap();
    let thesis = Schema::parse_str(THESIS_TWEET_SCHEMA_JSON).unwrap();
    // Readers with our schema can read the thesis's writers (backward compatibility).
    SchemaCompatibility::can_read(&thesis, &ours)
        .expect("post.avsc reads data written with tweet-thesis.avsc");
    // And the thesis's readers can read ours (forward compatibility): new fields are ignored.
    SchemaCompatibility::can_read(&ours, &thesis)
        .expect("tweet-thesis.avsc reads data written with post.avsc");
}

#[test]
fn our_datum_is_the_thesis_datum_followed_by_the_new_fields() {
    // On the wire, our record is the thesis's record with the three unions appended, so any
    // reader with the thesis schema reads the first five fields and skips the rest. (This is
    // checked on the bytes because apache-avro 0.22 cannot resolve a timestamp-millis value to
    // the thesis's plain long, although the Avro specification allows it.)
    let t = ThesisTweet {
        userid: 5,
        username: "nick",
        timestamp: 1_617_292_351_000,
        tweetid: 6,
        tweet: "#rust 東京",
    };
    let thesis = thesis_record(&t);
    let post = Post {
        userid: t.userid,
        username: t.username.into(),
        timestamp: t.timestamp,
        tweetid: t.tweetid,
        tweet: t.tweet.into(),
        source: None,
        lang: None,
        hashtags: None,
    };
    let ours = PostCodec::new().encode(&post);
    let mut expected = thesis[10..].to_vec();
    expected.extend_from_slice(&[0, 0, 0]);
    assert_eq!(&ours[10..], expected.as_slice());
    let with_options = PostCodec::new().encode(&Post {
        source: Some("x".into()),
        ..post
    });
    assert!(with_options[10..].starts_with(&thesis[10..]));
}

#[test]
fn the_schemas_keep_the_thesis_names() {
    for json in [POST_SCHEMA_JSON, THESIS_TWEET_SCHEMA_JSON] {
        let Schema::Record(record) = Schema::parse_str(json).unwrap() else {
            panic!("a record schema")
        };
        assert_eq!(
            record.name.fullname(None),
            "cz.cvut.fit.kozlovit.twitterstream.Tweet"
        );
        let names: Vec<&str> = record.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names[..5],
            ["userid", "username", "timestamp", "tweetid", "tweet"]
        );
    }
}
