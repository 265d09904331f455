//! The Avro codec for posts: [`PostCodec`].
//!
//! Posts are written with `schemas/avro/post.avsc` in Avro's single-object encoding
//! (`C3 01`, the schema's 8-byte CRC-64-AVRO fingerprint, the datum), or in the Confluent wire
//! format (`00`, a 4-byte schema id, the datum) when a schema-registry id is configured.
//!
//! Reading resolves the writer's schema by its fingerprint among the schemas we know: ours and
//! the thesis's original 5-field `Tweet` (`schemas/avro/tweet-thesis.avsc`), so records written
//! by the thesis's collector are read with our schema, the new optional fields empty.
//!
//! Records are built and read as `apache_avro::types::Value` by hand (no serde), which is
//! faster and avoids apache-avro's known trouble with serde and unions.

use crate::Post;
use apache_avro::Schema;
use apache_avro::headers::{HeaderBuilder, RabinFingerprintHeader};
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use std::sync::LazyLock;

/// Our schema: the thesis's `Tweet` extended with optional fields.
pub const POST_SCHEMA_JSON: &str = include_str!("../../../schemas/avro/post.avsc");
/// The thesis's original `Tweet` schema (5 fields), still readable.
pub const THESIS_TWEET_SCHEMA_JSON: &str = include_str!("../../../schemas/avro/tweet-thesis.avsc");

static POST_SCHEMA: LazyLock<Schema> =
    LazyLock::new(|| Schema::parse_str(POST_SCHEMA_JSON).expect("post.avsc is a valid schema"));
static THESIS_SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::parse_str(THESIS_TWEET_SCHEMA_JSON).expect("tweet-thesis.avsc is a valid schema")
});
static POST_HEADER: LazyLock<Vec<u8>> =
    LazyLock::new(|| RabinFingerprintHeader::from_schema(&POST_SCHEMA).build_header());
static THESIS_HEADER: LazyLock<Vec<u8>> =
    LazyLock::new(|| RabinFingerprintHeader::from_schema(&THESIS_SCHEMA).build_header());
static WRITER: LazyLock<GenericDatumWriter<'static>> = LazyLock::new(|| {
    GenericDatumWriter::builder(&POST_SCHEMA)
        .validate(false)
        .build()
        .expect("post.avsc resolves")
});
static POST_READER: LazyLock<GenericDatumReader<'static>> = LazyLock::new(|| {
    GenericDatumReader::builder(&POST_SCHEMA)
        .build()
        .expect("post.avsc resolves")
});
static THESIS_READER: LazyLock<GenericDatumReader<'static>> = LazyLock::new(|| {
    GenericDatumReader::builder(&THESIS_SCHEMA)
        .reader_schema(&POST_SCHEMA)
        .build()
        .expect("the thesis schema resolves to post.avsc")
});

/// Length of the single-object header: marker (2) + fingerprint (8).
const SINGLE_OBJECT_HEADER: usize = 10;
/// Length of the Confluent header: magic (1) + schema id (4).
const CONFLUENT_HEADER: usize = 5;

/// Why bytes could not be read as a post.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// No bytes at all.
    #[error("the record is empty")]
    Empty,
    /// Neither single-object (`C3 01`) nor Confluent (`00`) framing.
    #[error(
        "the record does not start with an Avro single-object or Confluent header (first byte {0:#04x})"
    )]
    BadHeader(u8),
    /// A single-object record written with a schema we do not know.
    #[error("the record was written with an unknown schema (fingerprint {0})")]
    UnknownFingerprint(String),
    /// A Confluent record with a schema id other than the configured one.
    #[error("the record names schema id {0}, which is not registered with this codec")]
    UnknownSchemaId(u32),
    /// The datum is not valid for its schema (truncated, corrupt).
    #[error("the Avro datum is invalid: {0}")]
    BadDatum(String),
    /// The datum decoded, but not to the fields of a post.
    #[error("the record is missing field `{0}` or has the wrong type for it")]
    BadField(&'static str),
}

impl DecodeError {
    /// A short, stable code for metrics labels and dead-letter headers.
    pub fn reason_code(&self) -> &'static str {
        match self {
            DecodeError::Empty => "empty",
            DecodeError::BadHeader(_) => "bad_header",
            DecodeError::UnknownFingerprint(_) => "unknown_fingerprint",
            DecodeError::UnknownSchemaId(_) => "unknown_schema_id",
            DecodeError::BadDatum(_) => "bad_datum",
            DecodeError::BadField(_) => "bad_field",
        }
    }
}

/// Encodes posts as Avro and decodes them back.
#[derive(Debug, Clone, Default)]
pub struct PostCodec {
    confluent_id: Option<u32>,
}

impl PostCodec {
    /// A codec writing single-object encoding.
    pub fn new() -> Self {
        PostCodec { confluent_id: None }
    }

    /// A codec writing the Confluent wire format, with `post.avsc` registered under `id`.
    pub fn with_confluent_schema_id(id: u32) -> Self {
        PostCodec {
            confluent_id: Some(id),
        }
    }

    /// Encodes a post.
    pub fn encode(&self, post: &Post) -> Vec<u8> {
        let mut buf = Vec::with_capacity(64 + post.tweet.len() + post.username.len());
        self.encode_into(post, &mut buf);
        buf
    }

    /// Appends the encoding of a post to `buf`.
    pub fn encode_into(&self, post: &Post, buf: &mut Vec<u8>) {
        match self.confluent_id {
            Some(id) => {
                buf.push(0);
                buf.extend_from_slice(&id.to_be_bytes());
            }
            None => buf.extend_from_slice(&POST_HEADER),
        }
        WRITER
            .write_value(buf, to_value(post))
            .expect("a post always matches post.avsc");
    }

    /// Decodes a post written by any codec of ours, or by the thesis's collector.
    pub fn decode(&self, bytes: &[u8]) -> Result<Post, DecodeError> {
        let first = *bytes.first().ok_or(DecodeError::Empty)?;
        let (reader, mut datum) = match first {
            0xC3 => {
                if bytes.len() < SINGLE_OBJECT_HEADER || bytes[1] != 0x01 {
                    return Err(DecodeError::BadHeader(first));
                }
                let header = &bytes[..SINGLE_OBJECT_HEADER];
                let reader: &GenericDatumReader<'static> = if header == POST_HEADER.as_slice() {
                    &POST_READER
                } else if header == THESIS_HEADER.as_slice() {
                    &THESIS_READER
                } else {
                    let hex: String = header[2..].iter().map(|b| format!("{b:02x}")).collect();
                    return Err(DecodeError::UnknownFingerprint(hex));
                };
                (reader, &bytes[SINGLE_OBJECT_HEADER..])
            }
            0x00 => {
                if bytes.len() < CONFLUENT_HEADER {
                    return Err(DecodeError::BadHeader(first));
                }
                let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
                if self.confluent_id != Some(id) {
                    return Err(DecodeError::UnknownSchemaId(id));
                }
                (&*POST_READER, &bytes[CONFLUENT_HEADER..])
            }
            other => return Err(DecodeError::BadHeader(other)),
        };
        let value = reader
            .read_value(&mut datum)
            .map_err(|e| DecodeError::BadDatum(e.to_string()))?;
        if !datum.is_empty() {
            return Err(DecodeError::BadDatum(format!(
                "{} bytes after the end of the datum",
                datum.len()
            )));
        }
        from_value(value)
    }
}

fn opt_string(v: &Option<String>) -> Value {
    match v {
        Some(s) => Value::Union(1, Box::new(Value::String(s.clone()))),
        None => Value::Union(0, Box::new(Value::Null)),
    }
}

fn to_value(p: &Post) -> Value {
    let hashtags = match &p.hashtags {
        Some(tags) => Value::Union(
            1,
            Box::new(Value::Array(
                tags.iter().map(|t| Value::String(t.clone())).collect(),
            )),
        ),
        None => Value::Union(0, Box::new(Value::Null)),
    };
    Value::Record(vec![
        ("userid".into(), Value::Long(p.userid)),
        ("username".into(), Value::String(p.username.clone())),
        ("timestamp".into(), Value::Long(p.timestamp)),
        ("tweetid".into(), Value::Long(p.tweetid)),
        ("tweet".into(), Value::String(p.tweet.clone())),
        ("source".into(), opt_string(&p.source)),
        ("lang".into(), opt_string(&p.lang)),
        ("hashtags".into(), hashtags),
    ])
}

fn unwrap_union(v: Value) -> Value {
    match v {
        Value::Union(_, inner) => *inner,
        other => other,
    }
}

fn from_value(v: Value) -> Result<Post, DecodeError> {
    let Value::Record(fields) = v else {
        return Err(DecodeError::BadField("(record)"));
    };
    let mut post = Post {
        userid: 0,
        username: String::new(),
        timestamp: 0,
        tweetid: 0,
        tweet: String::new(),
        source: None,
        lang: None,
        hashtags: None,
    };
    let mut seen = 0u8;
    for (name, value) in fields {
        let value = unwrap_union(value);
        match (name.as_str(), value) {
            ("userid", Value::Long(n)) => (post.userid, seen) = (n, seen | 1),
            ("username", Value::String(s)) => (post.username, seen) = (s, seen | 2),
            ("timestamp", Value::Long(n) | Value::TimestampMillis(n)) => {
                (post.timestamp, seen) = (n, seen | 4)
            }
            ("tweetid", Value::Long(n)) => (post.tweetid, seen) = (n, seen | 8),
            ("tweet", Value::String(s)) => (post.tweet, seen) = (s, seen | 16),
            ("source", Value::String(s)) => post.source = Some(s),
            ("lang", Value::String(s)) => post.lang = Some(s),
            ("hashtags", Value::Array(items)) => {
                let tags = items
                    .into_iter()
                    .map(|i| match i {
                        Value::String(s) => Ok(s),
                        _ => Err(DecodeError::BadField("hashtags")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                post.hashtags = Some(tags);
            }
            ("source" | "lang" | "hashtags", Value::Null) => {}
            ("userid", _) => return Err(DecodeError::BadField("userid")),
            ("username", _) => return Err(DecodeError::BadField("username")),
            ("timestamp", _) => return Err(DecodeError::BadField("timestamp")),
            ("tweetid", _) => return Err(DecodeError::BadField("tweetid")),
            ("tweet", _) => return Err(DecodeError::BadField("tweet")),
            _ => {}
        }
    }
    if seen != 31 {
        let missing = ["userid", "username", "timestamp", "tweetid", "tweet"]
            .into_iter()
            .enumerate()
            .find(|(i, _)| seen & (1 << i) == 0)
            .map_or("userid", |(_, n)| n);
        return Err(DecodeError::BadField(missing));
    }
    Ok(post)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Post {
        Post {
            userid: 4_602_771_083,
            username: "nick".into(),
            timestamp: 1_617_292_351_000,
            tweetid: 1_377_650_090_978_992_134,
            tweet: "Hello #kpop 東京 🦀".into(),
            source: Some("x".into()),
            lang: Some("en".into()),
            hashtags: Some(vec!["kpop".into()]),
        }
    }

    #[test]
    fn single_object_round_trip_and_header() {
        let codec = PostCodec::new();
        let bytes = codec.encode(&sample());
        assert_eq!(&bytes[..2], &[0xC3, 0x01]);
        assert_eq!(codec.decode(&bytes).unwrap(), sample());
    }

    #[test]
    fn confluent_round_trip_and_unknown_ids() {
        let codec = PostCodec::with_confluent_schema_id(42);
        let bytes = codec.encode(&sample());
        assert_eq!(&bytes[..5], &[0, 0, 0, 0, 42]);
        assert_eq!(codec.decode(&bytes).unwrap(), sample());
        let err = PostCodec::with_confluent_schema_id(7)
            .decode(&bytes)
            .unwrap_err();
        assert_eq!(err.reason_code(), "unknown_schema_id");
        // A Confluent-configured codec still reads single-object records.
        assert_eq!(
            codec.decode(&PostCodec::new().encode(&sample())).unwrap(),
            sample()
        );
    }

    #[test]
    fn bad_input_is_classified() {
        let codec = PostCodec::new();
        assert_eq!(codec.decode(&[]).unwrap_err().reason_code(), "empty");
        assert_eq!(
            codec.decode(b"{\"json\":1}").unwrap_err().reason_code(),
            "bad_header"
        );
        let mut other = vec![0xC3, 0x01];
        other.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(
            codec.decode(&other).unwrap_err().reason_code(),
            "unknown_fingerprint"
        );
        let good = codec.encode(&sample());
        assert_eq!(
            codec
                .decode(&good[..good.len() - 3])
                .unwrap_err()
                .reason_code(),
            "bad_datum"
        );
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            codec.decode(&trailing).unwrap_err().reason_code(),
            "bad_datum"
        );
    }

    fn post_strategy() -> impl Strategy<Value = Post> {
        (
            any::<i64>(),
            "\\PC{0,20}",
            any::<i64>(),
            any::<i64>(),
            "\\PC{0,80}",
            prop::option::of("[a-z]{0,8}"),
            prop::option::of("[a-z-]{0,5}"),
            prop::option::of(prop::collection::vec("\\PC{0,10}", 0..4)),
        )
            .prop_map(
                |(userid, username, timestamp, tweetid, tweet, source, lang, hashtags)| Post {
                    userid,
                    username,
                    timestamp,
                    tweetid,
                    tweet,
                    source,
                    lang,
                    hashtags,
                },
            )
    }

    proptest! {
        #[test]
        fn every_post_round_trips(post in post_strategy(), confluent in any::<bool>()) {
            let codec = if confluent { PostCodec::with_confluent_schema_id(9) } else { PostCodec::new() };
            prop_assert_eq!(codec.decode(&codec.encode(&post)).unwrap(), post);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64), header in 0usize..3) {
            let mut input = match header {
                0 => POST_HEADER.clone(),
                1 => vec![0, 0, 0, 0, 9],
                _ => Vec::new(),
            };
            input.extend(bytes);
            let _ = PostCodec::with_confluent_schema_id(9).decode(&input);
        }
    }
}
