//! The Avro codec for posts: [`PostCodec`].
//!
//! Posts are written with `schemas/avro/post.avsc` in Avro's single-object encoding
//! (`C3 01`, the schema's 8-byte little-endian CRC-64-AVRO fingerprint, the datum), or in the
//! Confluent wire format (`00`, a 4-byte big-endian schema id, the datum) when a schema-registry
//! id is configured.
//!
//! Reading tells the framing by its first bytes, whatever the codec was built for. Single-object
//! records are resolved by fingerprint among the schemas we know: ours and the thesis's original
//! 5-field `Tweet` (`schemas/avro/tweet-thesis.avsc`), so records written by the thesis's
//! collector are read with our schema, the new optional fields `None`. Confluent records are
//! accepted with the codec's own schema id only (the codec knows no registry). Anything else is
//! a [`DecodeError`] with a stable [`reason_code`](DecodeError::reason_code) for metrics and the
//! dead-letter topic; a datum cut short or followed by extra bytes is an error too.
//!
//! Datums are written and read straight to and from their bytes for the two writer schemas we
//! know ([`post_datum`]), which is several times faster than apache-avro's generic `Value` path;
//! the tests hold the two to the same bytes and the same errors. apache-avro parses the schemas
//! (for the fingerprints) and is the reference in the tests.
//!
//! Fingerprints are computed as the Avro specification says, not with apache-avro 0.22's
//! `Schema::fingerprint`, which is wrong for `post.avsc` (see [`fingerprint`]).

#[cfg(test)]
mod generic;
mod post_datum;

use crate::Post;
use apache_avro::Schema;
use apache_avro::rabin::Rabin;
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
/// The single-object header we write: `post.avsc`'s fingerprint as the Avro spec defines it.
static POST_HEADER: LazyLock<[u8; SINGLE_OBJECT_HEADER]> =
    LazyLock::new(|| single_object_header(&POST_SCHEMA));
/// `post.avsc`'s header as apache-avro 0.22's own fingerprint makes it (see [`fingerprint`]):
/// read too, in case another Rust writer used apache-avro's header builder.
static POST_HEADER_APACHE_AVRO: LazyLock<[u8; SINGLE_OBJECT_HEADER]> = LazyLock::new(|| {
    let mut header = [0; SINGLE_OBJECT_HEADER];
    header[..2].copy_from_slice(&SINGLE_OBJECT_MARKER);
    header[2..].copy_from_slice(&POST_SCHEMA.fingerprint::<Rabin>().bytes);
    header
});
static THESIS_HEADER: LazyLock<[u8; SINGLE_OBJECT_HEADER]> =
    LazyLock::new(|| single_object_header(&THESIS_SCHEMA));

/// The schema a record was written with.
#[derive(Debug, Clone, Copy)]
enum WriterSchema {
    /// `post.avsc`.
    Post,
    /// The thesis's `Tweet`.
    Thesis,
}

/// The single-object marker.
const SINGLE_OBJECT_MARKER: [u8; 2] = [0xC3, 0x01];

/// The single-object header of a schema: the marker, then its [`fingerprint`], 8 bytes
/// little-endian.
fn single_object_header(schema: &Schema) -> [u8; SINGLE_OBJECT_HEADER] {
    let mut header = [0; SINGLE_OBJECT_HEADER];
    header[..2].copy_from_slice(&SINGLE_OBJECT_MARKER);
    header[2..].copy_from_slice(&fingerprint(schema).to_le_bytes());
    header
}

/// The CRC-64-AVRO (Rabin) fingerprint of a schema's Parsing Canonical Form, as the Avro
/// specification and the Java and Python implementations compute it.
///
/// apache-avro 0.22 gets the canonical form of a primitive with a logical type wrong: it strips
/// `logicalType` from `{"type":"long","logicalType":"timestamp-millis"}` but leaves
/// `{"type":"long"}` instead of reducing it to `"long"` (the [PRIMITIVES] rule), so its
/// `Schema::fingerprint` of `post.avsc` differs from every other implementation's. This applies
/// the rule to its canonical form, then fingerprints that.
fn fingerprint(schema: &Schema) -> u64 {
    let mut form = schema.canonical_form();
    for primitive in [
        "null", "boolean", "int", "long", "float", "double", "bytes", "string",
    ] {
        // Names and symbols cannot contain `{` or `"`, and docs are stripped, so this only
        // matches a type.
        form = form.replace(
            &format!(r#"{{"type":"{primitive}"}}"#),
            &format!(r#""{primitive}""#),
        );
    }
    crc64_avro(form.as_bytes())
}

/// CRC-64-AVRO of `bytes`, the fingerprint algorithm of the Avro specification.
fn crc64_avro(bytes: &[u8]) -> u64 {
    const EMPTY: u64 = 0xc15d_213a_a4d7_a795;
    const TABLE: [u64; 256] = {
        let mut table = [0u64; 256];
        let mut i = 0;
        while i < 256 {
            let mut fp = i as u64;
            let mut j = 0;
            while j < 8 {
                fp = (fp >> 1) ^ (EMPTY & (fp & 1).wrapping_neg());
                j += 1;
            }
            table[i] = fp;
            i += 1;
        }
        table
    };
    bytes.iter().fold(EMPTY, |fp, &b| {
        (fp >> 8) ^ TABLE[((fp ^ u64::from(b)) & 0xff) as usize]
    })
}

/// Length of the single-object header: marker (2) + fingerprint (8).
const SINGLE_OBJECT_HEADER: usize = 10;
/// The Confluent wire format's magic byte.
const CONFLUENT_MAGIC: u8 = 0x00;
/// Length of the Confluent header: magic (1) + schema id (4).
const CONFLUENT_HEADER: usize = 5;

/// Why bytes could not be read as a post. [`DecodeError::reason_code`] names the reason for
/// metrics labels and dead-letter headers; `Display` gives a one-line human reason.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// No bytes at all.
    #[error("the record is empty")]
    Empty,
    /// Neither single-object (`C3 01`) nor Confluent (`00`) framing, or the header is cut short.
    #[error("unknown or cut header: {0}")]
    BadHeader(String),
    /// A single-object record written with a schema we do not know; the CRC-64-AVRO fingerprint
    /// (the header's 8 little-endian bytes, as a number).
    #[error("the record was written with an unknown schema (fingerprint {0:#018x})")]
    UnknownFingerprint(u64),
    /// A Confluent record naming a schema id this codec does not know (any id, for a codec
    /// built with [`PostCodec::new`]).
    #[error("the record names Confluent schema id {0}, which is not registered with this codec")]
    UnknownSchemaId(u32),
    /// The datum is not valid for its schema: truncated, corrupt, or followed by extra bytes.
    #[error("the Avro datum is invalid: {0}")]
    BadDatum(String),
    /// The datum decoded, but a field of a post is missing or has the wrong type.
    #[error("the record is missing field `{0}` or has the wrong type for it")]
    BadField(&'static str),
    /// A string field holds bytes that are not UTF-8.
    #[error("a string field is not valid UTF-8")]
    InvalidUtf8,
    /// The record is larger than [`MAX_RECORD_BYTES`]: no post is, so it is not read at all.
    #[error("the record is {0} bytes, more than the {MAX_RECORD_BYTES} a post may take")]
    Oversized(usize),
    /// The post lists more than [`MAX_HASHTAGS`] hashtags: no source gives that many, so the
    /// record is taken as garbage rather than fanned out into that many counters.
    #[error("the post lists {0} hashtags, more than the {MAX_HASHTAGS} a post may have")]
    TooManyHashtags(usize),
}

/// The largest record read as a post, bytes (256 KiB). A post is a few hundred bytes; X's
/// longest posts (25,000 characters) stay under 100 KiB.
pub const MAX_RECORD_BYTES: usize = 256 * 1024;

/// The most hashtags a post's `hashtags` list may hold. A post's text limits its hashtags to
/// well under this (X: 280 characters for most posts; Bluesky: 300 graphemes).
pub const MAX_HASHTAGS: usize = 1000;

impl DecodeError {
    /// A short, stable snake_case code for metrics labels and dead-letter headers: `empty`,
    /// `bad_header`, `unknown_fingerprint`, `unknown_schema_id`, `bad_datum`, `bad_field`,
    /// `invalid_utf8`, `oversized` or `too_many_hashtags`.
    pub fn reason_code(&self) -> &'static str {
        match self {
            DecodeError::Empty => "empty",
            DecodeError::BadHeader(_) => "bad_header",
            DecodeError::UnknownFingerprint(_) => "unknown_fingerprint",
            DecodeError::UnknownSchemaId(_) => "unknown_schema_id",
            DecodeError::BadDatum(_) => "bad_datum",
            DecodeError::BadField(_) => "bad_field",
            DecodeError::InvalidUtf8 => "invalid_utf8",
            DecodeError::Oversized(_) => "oversized",
            DecodeError::TooManyHashtags(_) => "too_many_hashtags",
        }
    }
}

/// Encodes posts as Avro and decodes them back.
///
/// Writes single-object encoding ([`PostCodec::new`]) or the Confluent wire format
/// ([`PostCodec::with_confluent_schema_id`]); reads both, whichever way it was built. The
/// schemas are parsed once per process and shared, so a codec is a few bytes and cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct PostCodec {
    /// The schema-registry id `post.avsc` is registered under, when writing Confluent framing.
    confluent_id: Option<u32>,
}

impl PostCodec {
    /// A codec writing Avro single-object encoding: `C3 01`, the 8-byte little-endian
    /// CRC-64-AVRO fingerprint of `post.avsc`, the datum.
    pub fn new() -> Self {
        PostCodec { confluent_id: None }
    }

    /// A codec writing the Confluent wire format: `00`, the 4-byte big-endian schema id, the
    /// datum, with `post.avsc` registered under `id`. It reads Confluent records with that id only.
    pub fn with_confluent_schema_id(id: u32) -> Self {
        PostCodec {
            confluent_id: Some(id),
        }
    }

    /// Encodes a post.
    pub fn encode(&self, post: &Post) -> Vec<u8> {
        let mut buf = Vec::with_capacity(
            32 + post.tweet.len()
                + post.username.len()
                + post
                    .hashtags
                    .as_ref()
                    .map_or(0, |t| t.iter().map(|t| t.len() + 2).sum()),
        );
        self.encode_into(post, &mut buf);
        buf
    }

    /// Appends the encoding of a post to `buf` (for reusing one buffer across records).
    pub fn encode_into(&self, post: &Post, buf: &mut Vec<u8>) {
        match self.confluent_id {
            Some(id) => {
                buf.push(CONFLUENT_MAGIC);
                buf.extend_from_slice(&id.to_be_bytes());
            }
            None => buf.extend_from_slice(POST_HEADER.as_slice()),
        }
        post_datum::write(post, buf);
    }

    /// Decodes a post in either framing: single-object records written with `post.avsc` or with
    /// the thesis's `Tweet` schema (read with ours, the optional fields `None`), and Confluent
    /// records with this codec's schema id.
    pub fn decode(&self, bytes: &[u8]) -> Result<Post, DecodeError> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(DecodeError::Oversized(bytes.len()));
        }
        match self.frame(bytes)? {
            (WriterSchema::Post, datum) => post_datum::read_post(datum),
            (WriterSchema::Thesis, datum) => post_datum::read_thesis(datum),
        }
    }

    /// The writer schema and the datum of a record, from its header.
    fn frame<'b>(&self, bytes: &'b [u8]) -> Result<(WriterSchema, &'b [u8]), DecodeError> {
        Ok(match bytes {
            [] => return Err(DecodeError::Empty),
            [0xC3, 0x01, ..] => {
                let Some(header) = bytes.get(..SINGLE_OBJECT_HEADER) else {
                    return Err(DecodeError::BadHeader(format!(
                        "single-object header cut short ({} of {SINGLE_OBJECT_HEADER} bytes)",
                        bytes.len()
                    )));
                };
                let schema = if header == POST_HEADER.as_slice()
                    || header == POST_HEADER_APACHE_AVRO.as_slice()
                {
                    WriterSchema::Post
                } else if header == THESIS_HEADER.as_slice() {
                    WriterSchema::Thesis
                } else {
                    let mut fingerprint = [0u8; 8];
                    fingerprint.copy_from_slice(&header[2..]);
                    return Err(DecodeError::UnknownFingerprint(u64::from_le_bytes(
                        fingerprint,
                    )));
                };
                (schema, &bytes[SINGLE_OBJECT_HEADER..])
            }
            [CONFLUENT_MAGIC, ..] => {
                let Some(&[_, a, b, c, d]) = bytes.get(..CONFLUENT_HEADER) else {
                    return Err(DecodeError::BadHeader(format!(
                        "Confluent header cut short ({} of {CONFLUENT_HEADER} bytes)",
                        bytes.len()
                    )));
                };
                let id = u32::from_be_bytes([a, b, c, d]);
                if self.confluent_id != Some(id) {
                    return Err(DecodeError::UnknownSchemaId(id));
                }
                (WriterSchema::Post, &bytes[CONFLUENT_HEADER..])
            }
            [first, ..] => {
                let what = if bytes.starts_with(&SINGLE_OBJECT_MARKER[..1]) {
                    "C3 not followed by 01".to_string()
                } else {
                    format!("first byte {first:#04x}")
                };
                return Err(DecodeError::BadHeader(format!(
                    "{what}; expected C3 01 (Avro single-object) or 00 (Confluent)"
                )));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::generic::{WRITER, from_value, to_value};
    use super::*;
    use apache_avro::headers::{HeaderBuilder, RabinFingerprintHeader};
    use apache_avro::reader::datum::GenericDatumReader;
    use apache_avro::types::Value;
    use apache_avro::writer::datum::GenericDatumWriter;
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
            hashtags: Some(vec!["kpop".into(), "Seoul".into()]),
        }
    }

    #[test]
    fn oversized_records_are_refused_unread() {
        let codec = PostCodec::new();
        let post = Post {
            tweet: "x".repeat(MAX_RECORD_BYTES),
            ..sample()
        };
        let e = codec.decode(&codec.encode(&post)).unwrap_err();
        assert_eq!(e.reason_code(), "oversized", "{e}");
        let fits = Post {
            tweet: "x".repeat(MAX_RECORD_BYTES - 200),
            ..sample()
        };
        assert_eq!(codec.decode(&codec.encode(&fits)).unwrap(), fits);
    }

    #[test]
    fn absurd_hashtag_lists_are_refused() {
        let codec = PostCodec::new();
        let many = Post {
            hashtags: Some((0..=MAX_HASHTAGS).map(|i| format!("t{i}")).collect()),
            ..sample()
        };
        let e = codec.decode(&codec.encode(&many)).unwrap_err();
        assert_eq!(e.reason_code(), "too_many_hashtags", "{e}");
        assert!(
            e.to_string().contains(&(MAX_HASHTAGS + 1).to_string()),
            "{e}"
        );
        let most = Post {
            hashtags: Some((0..MAX_HASHTAGS).map(|i| format!("t{i}")).collect()),
            ..sample()
        };
        assert_eq!(codec.decode(&codec.encode(&most)).unwrap(), most);
    }

    #[test]
    fn invalid_utf8_in_a_string_field_is_its_own_reason() {
        let codec = PostCodec::new();
        let post = Post {
            tweet: "ok #zzzz ok".into(),
            ..sample()
        };
        let mut bytes = codec.encode(&post);
        let at = bytes
            .windows(4)
            .position(|w| w == b"zzzz")
            .expect("the text is in the datum");
        bytes[at..at + 2].copy_from_slice(&[0xFF, 0xFE]);
        let e = codec.decode(&bytes).unwrap_err();
        assert_eq!(e.reason_code(), "invalid_utf8", "{e}");
    }

    fn bare() -> Post {
        Post {
            userid: -1,
            username: String::new(),
            timestamp: i64::MIN,
            tweetid: 0,
            tweet: String::new(),
            source: None,
            lang: None,
            hashtags: None,
        }
    }

    fn reason(codec: &PostCodec, bytes: &[u8]) -> &'static str {
        codec.decode(bytes).unwrap_err().reason_code()
    }

    #[test]
    fn single_object_round_trip_and_header() {
        let codec = PostCodec::new();
        for post in [sample(), bare()] {
            let bytes = codec.encode(&post);
            assert_eq!(&bytes[..2], &[0xC3, 0x01]);
            assert_eq!(codec.decode(&bytes).unwrap(), post);
        }
        let bytes = codec.encode(&sample());
        assert_eq!(&bytes[2..10], &fingerprint(&POST_SCHEMA).to_le_bytes());
    }

    #[test]
    fn fingerprints_follow_the_avro_spec() {
        assert_eq!(crc64_avro(b""), 0xc15d_213a_a4d7_a795);
        // The Avro test suite's fingerprint of `"null"` (share/test/data/schema-tests.txt).
        assert_eq!(crc64_avro(b"\"null\"") as i64, 7_195_948_357_588_979_594);
        // Where apache-avro's canonical form is right, the fingerprints agree.
        for json in [r#""long""#, r#""string""#, THESIS_TWEET_SCHEMA_JSON] {
            let schema = Schema::parse_str(json).unwrap();
            assert_eq!(
                fingerprint(&schema).to_le_bytes().as_slice(),
                schema.fingerprint::<Rabin>().bytes.as_slice(),
                "{json}"
            );
        }
        assert_eq!(
            THESIS_HEADER.as_slice(),
            RabinFingerprintHeader::from_schema(&THESIS_SCHEMA)
                .build_header()
                .as_slice()
        );
        // A logical type on a primitive does not change the canonical form.
        let ts = Schema::parse_str(r#"{"type":"long","logicalType":"timestamp-millis"}"#).unwrap();
        assert_eq!(ts, Schema::TimestampMillis);
        assert_eq!(fingerprint(&ts), crc64_avro(b"\"long\""));
    }

    #[test]
    fn the_logical_type_does_not_change_the_fingerprint() {
        // post.avsc as first written, with the thesis's field-level logicalType (which Avro
        // ignores): records written with it must still resolve, and do, as the fingerprint is
        // the same.
        let old = POST_SCHEMA_JSON.replace(
            r#""type": {"type": "long", "logicalType": "timestamp-millis"},"#,
            r#""type": "long", "logicalType": "timestamp-millis","#,
        );
        assert_ne!(old, POST_SCHEMA_JSON);
        let old = Schema::parse_str(&old).unwrap();
        assert_eq!(fingerprint(&old), fingerprint(&POST_SCHEMA));
        assert_eq!(
            single_object_header(&POST_SCHEMA).as_slice(),
            RabinFingerprintHeader::from_schema(&old)
                .build_header()
                .as_slice()
        );
        assert!(matches!(
            &*POST_SCHEMA,
            Schema::Record(r) if r.fields[2].schema == Schema::TimestampMillis
        ));
    }

    #[test]
    fn records_with_apache_avros_own_header_decode() {
        let mut bytes = RabinFingerprintHeader::from_schema(&POST_SCHEMA).build_header();
        assert_ne!(
            bytes.as_slice(),
            POST_HEADER.as_slice(),
            "apache-avro 0.22's fingerprint"
        );
        bytes.extend_from_slice(&PostCodec::new().encode(&sample())[SINGLE_OBJECT_HEADER..]);
        assert_eq!(PostCodec::new().decode(&bytes).unwrap(), sample());
    }

    #[test]
    fn the_datum_is_valid_avro_for_post_avsc() {
        // The writer skips validation for speed; a validating writer must produce the same bytes,
        // and apache-avro's own reader must read them back.
        let validating = GenericDatumWriter::builder(&POST_SCHEMA).build().unwrap();
        for post in [sample(), bare()] {
            let ours = PostCodec::new().encode(&post);
            let theirs = validating.write_value_to_vec(to_value(&post)).unwrap();
            assert_eq!(&ours[SINGLE_OBJECT_HEADER..], theirs.as_slice());
            let value = GenericDatumReader::builder(&POST_SCHEMA)
                .build()
                .unwrap()
                .read_value(&mut &theirs[..])
                .unwrap();
            assert_eq!(from_value(value).unwrap(), post);
        }
    }

    #[test]
    fn encode_into_appends() {
        let codec = PostCodec::new();
        let mut buf = b"prefix".to_vec();
        codec.encode_into(&sample(), &mut buf);
        assert_eq!(&buf[..6], b"prefix");
        assert_eq!(&buf[6..], codec.encode(&sample()).as_slice());
        assert_eq!(
            PostCodec::default().encode(&sample()),
            codec.encode(&sample())
        );
    }

    #[test]
    fn confluent_round_trip_and_unknown_ids() {
        let codec = PostCodec::with_confluent_schema_id(0x0102_0304);
        let bytes = codec.encode(&sample());
        assert_eq!(&bytes[..5], &[0, 1, 2, 3, 4]);
        assert_eq!(codec.decode(&bytes).unwrap(), sample());
        assert_eq!(
            &bytes[5..],
            &PostCodec::new().encode(&sample())[SINGLE_OBJECT_HEADER..],
            "the same datum"
        );
        let other = PostCodec::with_confluent_schema_id(7)
            .decode(&bytes)
            .unwrap_err();
        assert_eq!(other.reason_code(), "unknown_schema_id");
        assert!(other.to_string().contains("16909060"), "{other}");
        assert_eq!(reason(&PostCodec::new(), &bytes), "unknown_schema_id");
        // A Confluent codec still reads single-object records.
        assert_eq!(
            codec.decode(&PostCodec::new().encode(&sample())).unwrap(),
            sample()
        );
    }

    #[test]
    fn thesis_records_decode_with_the_optional_fields_empty() {
        let writer = GenericDatumWriter::builder(&THESIS_SCHEMA).build().unwrap();
        let mut bytes = single_object_header(&THESIS_SCHEMA).to_vec();
        assert_ne!(
            bytes,
            POST_HEADER.to_vec(),
            "the two schemas have different fingerprints"
        );
        let record = Value::Record(vec![
            ("userid".into(), Value::Long(1)),
            ("username".into(), Value::String("u".into())),
            ("timestamp".into(), Value::Long(2)),
            ("tweetid".into(), Value::Long(3)),
            ("tweet".into(), Value::String("#Lambda".into())),
        ]);
        writer.write_value(&mut bytes, record).unwrap();
        let post = PostCodec::with_confluent_schema_id(5)
            .decode(&bytes)
            .unwrap();
        assert_eq!(
            post,
            Post {
                userid: 1,
                username: "u".into(),
                timestamp: 2,
                tweetid: 3,
                tweet: "#Lambda".into(),
                ..bare()
            }
        );
    }

    #[test]
    fn bad_headers_are_classified() {
        let codec = PostCodec::with_confluent_schema_id(9);
        assert_eq!(reason(&codec, &[]), "empty");
        assert_eq!(reason(&codec, b"{\"json\":1}"), "bad_header");
        assert_eq!(reason(&codec, &[0xC3]), "bad_header");
        assert_eq!(
            reason(&codec, &[0xC3, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]),
            "bad_header"
        );
        assert_eq!(reason(&codec, &[0xC3, 0x01, 1, 2, 3]), "bad_header");
        assert_eq!(reason(&codec, &[0x00, 0, 0]), "bad_header");
        let err = codec.decode(&[0x7B, 1]).unwrap_err();
        assert!(err.to_string().contains("0x7b"), "{err}");
        let err = codec.decode(&[0xC3, 0x01, 1, 2]).unwrap_err();
        assert!(err.to_string().contains("cut short"), "{err}");
    }

    #[test]
    fn unknown_fingerprints_show_in_hex() {
        let mut bytes = vec![0xC3, 0x01, 0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01];
        bytes.extend_from_slice(&PostCodec::new().encode(&sample())[SINGLE_OBJECT_HEADER..]);
        let err = PostCodec::new().decode(&bytes).unwrap_err();
        assert_eq!(err.reason_code(), "unknown_fingerprint");
        assert!(matches!(
            err,
            DecodeError::UnknownFingerprint(0x0123_4567_89AB_CDEF)
        ));
        assert!(err.to_string().contains("0x0123456789abcdef"), "{err}");
    }

    #[test]
    fn truncated_and_padded_datums_are_bad_datums() {
        for codec in [PostCodec::new(), PostCodec::with_confluent_schema_id(1)] {
            let header = if codec.confluent_id.is_some() {
                CONFLUENT_HEADER
            } else {
                SINGLE_OBJECT_HEADER
            };
            let good = codec.encode(&sample());
            for len in header..good.len() {
                assert_eq!(reason(&codec, &good[..len]), "bad_datum", "cut at {len}");
            }
            let mut padded = good.clone();
            padded.push(0);
            let err = codec.decode(&padded).unwrap_err();
            assert_eq!(err.reason_code(), "bad_datum");
            assert!(err.to_string().contains("1 bytes after"), "{err}");
        }
    }

    #[test]
    fn corrupt_datums_are_bad_datums() {
        let codec = PostCodec::new();
        let mut bytes = POST_HEADER.to_vec();
        // userid, then a username of length 2 that is not UTF-8: a reason of its own.
        bytes.extend_from_slice(&[0x02, 0x04, 0xFF, 0xFE]);
        assert_eq!(reason(&codec, &bytes), "invalid_utf8");
        let mut bytes = POST_HEADER.to_vec();
        // A string length of -1.
        bytes.extend_from_slice(&[0x02, 0x01]);
        assert_eq!(reason(&codec, &bytes), "bad_datum");
        let mut bytes = codec.encode(&bare());
        // The `source` union index, 0, becomes 3: no such branch.
        let at = bytes.len() - 3;
        assert_eq!(bytes[at], 0);
        bytes[at] = 6;
        assert_eq!(reason(&codec, &bytes), "bad_datum");
    }

    #[test]
    fn records_that_are_not_posts_are_bad_fields() {
        let mut fields = match to_value(&sample()) {
            Value::Record(fields) => fields,
            _ => unreachable!(),
        };
        let err = from_value(Value::Record(fields[1..].to_vec())).unwrap_err();
        assert_eq!(err.reason_code(), "bad_field");
        assert!(err.to_string().contains("`userid`"), "{err}");
        fields[4].1 = Value::Long(1);
        let err = from_value(Value::Record(fields)).unwrap_err();
        assert!(matches!(err, DecodeError::BadField("tweet")));
        assert!(matches!(
            from_value(Value::Long(1)).unwrap_err(),
            DecodeError::BadField(_)
        ));
    }

    #[test]
    fn messages_are_one_line_and_codes_snake_case() {
        let errors = [
            DecodeError::Empty,
            DecodeError::BadHeader("first byte 0x7b".into()),
            DecodeError::UnknownFingerprint(1),
            DecodeError::UnknownSchemaId(2),
            DecodeError::BadDatum("x".into()),
            DecodeError::BadField("tweet"),
        ];
        for e in errors {
            assert!(!e.to_string().contains('\n'));
            let code = e.reason_code();
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
        }
    }

    fn post_strategy() -> impl Strategy<Value = Post> {
        (
            any::<i64>(),
            "\\PC{0,20}",
            any::<i64>(),
            any::<i64>(),
            prop_oneof!["\\PC{0,80}", any::<String>()],
            prop::option::of("[a-z]{0,8}"),
            prop::option::of("[a-zA-Z-]{0,8}"),
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

    /// The direct reader and apache-avro's read `bytes` as the same post, or fail with the same
    /// kind of error.
    fn readers_agree(codec: &PostCodec, bytes: &[u8]) -> Result<(), TestCaseError> {
        let (direct, generic) = (codec.decode(bytes), generic::decode_generic(codec, bytes));
        match (&direct, &generic) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(a), Err(b)) => prop_assert_eq!(a.reason_code(), b.reason_code(), "{} / {}", a, b),
            _ => prop_assert!(false, "direct {:?}, apache-avro {:?}", direct, generic),
        }
        Ok(())
    }

    /// The generic writer's bytes for a post.
    fn generic_encoding(post: &Post) -> Vec<u8> {
        let mut bytes = POST_HEADER.to_vec();
        WRITER
            .write_value(&mut bytes, to_value(post))
            .expect("a post matches post.avsc");
        bytes
    }

    #[test]
    fn thesis_records_read_directly_and_generically_alike() {
        let mut datum = Vec::new();
        post_datum::write(&sample(), &mut datum);
        let codec = PostCodec::new();
        // The thesis's five fields are the first five of ours: cut after `tweet`.
        let five = {
            let mut d = Vec::new();
            post_datum::write(
                &Post {
                    source: None,
                    lang: None,
                    hashtags: None,
                    ..sample()
                },
                &mut d,
            );
            d.truncate(d.len() - 3);
            d
        };
        let mut bytes = THESIS_HEADER.to_vec();
        bytes.extend_from_slice(&five);
        let direct = codec.decode(&bytes).unwrap();
        assert_eq!(direct, generic::decode_generic(&codec, &bytes).unwrap());
        assert_eq!(
            (direct.source, direct.lang, direct.hashtags),
            (None, None, None)
        );
        bytes.push(0);
        assert_eq!(reason(&codec, &bytes), "bad_datum");
    }

    proptest! {
        /// The direct writer writes apache-avro's bytes.
        #[test]
        fn the_direct_writer_writes_apache_avros_bytes(post in post_strategy()) {
            prop_assert_eq!(PostCodec::new().encode(&post), generic_encoding(&post));
        }

        /// Any bytes after a known header: the direct reader and apache-avro's agree on the
        /// post, or on the kind of error.
        #[test]
        fn the_direct_reader_agrees_with_apache_avro_on_any_bytes(
            thesis in any::<bool>(),
            datum in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let codec = PostCodec::new();
            let mut bytes = if thesis { THESIS_HEADER.to_vec() } else { POST_HEADER.to_vec() };
            bytes.extend_from_slice(&datum);
            readers_agree(&codec, &bytes)?;
        }

        /// Valid posts with one byte changed: the two readers agree too.
        #[test]
        fn the_direct_reader_agrees_with_apache_avro_on_mutated_posts(
            post in post_strategy(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let codec = PostCodec::new();
            let mut bytes = codec.encode(&post);
            let i = SINGLE_OBJECT_HEADER + at.index(bytes.len() - SINGLE_OBJECT_HEADER);
            bytes[i] = byte;
            readers_agree(&codec, &bytes)?;
        }

        #[test]
        fn every_post_round_trips(post in post_strategy(), id in prop::option::of(any::<u32>())) {
            let codec = id.map_or_else(PostCodec::new, PostCodec::with_confluent_schema_id);
            prop_assert_eq!(codec.decode(&codec.encode(&post)).unwrap(), post);
        }

        #[test]
        fn every_strict_prefix_fails(post in post_strategy(), cut in any::<prop::sample::Index>()) {
            let codec = PostCodec::new();
            let bytes = codec.encode(&post);
            let len = cut.index(bytes.len());
            let err = codec.decode(&bytes[..len]).unwrap_err();
            prop_assert_eq!(err.reason_code(), if len < SINGLE_OBJECT_HEADER { if len == 0 { "empty" } else { "bad_header" } } else { "bad_datum" });
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..96), header in 0usize..4) {
            let mut input = match header {
                0 => POST_HEADER.to_vec(),
                1 => THESIS_HEADER.to_vec(),
                2 => vec![0, 0, 0, 0, 9],
                _ => Vec::new(),
            };
            input.extend(bytes);
            let _ = PostCodec::with_confluent_schema_id(9).decode(&input);
        }
    }
}
