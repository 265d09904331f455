//! apache-avro's generic `Value` path for posts: the reference the direct writer and reader
//! ([`super::post_datum`]) are tested against. Test-only.

use super::{
    DecodeError, MAX_HASHTAGS, MAX_RECORD_BYTES, POST_SCHEMA, PostCodec, THESIS_SCHEMA,
    WriterSchema,
};
use crate::Post;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use std::io::Read;
use std::sync::LazyLock;

pub(super) static WRITER: LazyLock<GenericDatumWriter<'static>> = LazyLock::new(|| {
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

/// A reader over the datum that notes whether decoding ever ran into its end. apache-avro 0.22
/// turns some ends of input into values (a union index into the null branch, a string into
/// `null`), so a datum cut right before `source` would otherwise read as a post without it.
struct EofGuard<'a> {
    rest: &'a [u8],
    hit_end: bool,
}

impl Read for EofGuard<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.rest.is_empty() && !buf.is_empty() {
            self.hit_end = true;
        }
        self.rest.read(buf)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        if self.rest.len() < buf.len() {
            self.hit_end = true;
        }
        self.rest.read_exact(buf)
    }
}

/// [`PostCodec::decode`] through apache-avro's generic reader: the reference the direct
/// reader is tested against.
#[cfg(test)]
pub(super) fn decode_generic(codec: &PostCodec, bytes: &[u8]) -> Result<Post, DecodeError> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(DecodeError::Oversized(bytes.len()));
    }
    let (schema, datum) = codec.frame(bytes)?;
    let reader: &GenericDatumReader<'static> = match schema {
        WriterSchema::Post => &POST_READER,
        WriterSchema::Thesis => &THESIS_READER,
    };
    let mut input = EofGuard {
        rest: datum,
        hit_end: false,
    };
    let value = reader.read_value(&mut input);
    if input.hit_end {
        return Err(DecodeError::BadDatum(
            "the datum is cut short (it ends inside a field)".into(),
        ));
    }
    let value = value.map_err(|e| match e.details() {
        apache_avro::error::Details::ConvertToUtf8(_)
        | apache_avro::error::Details::ConvertToUtf8Error(_) => DecodeError::InvalidUtf8,
        _ => DecodeError::BadDatum(e.to_string()),
    })?;
    if !input.rest.is_empty() {
        return Err(DecodeError::BadDatum(format!(
            "{} bytes after the end of the datum",
            input.rest.len()
        )));
    }
    from_value(value)
}

fn opt_string(v: &Option<String>) -> Value {
    match v {
        Some(s) => Value::Union(1, Box::new(Value::String(s.clone()))),
        None => Value::Union(0, Box::new(Value::Null)),
    }
}

/// The post as an Avro record of `post.avsc`, field by field (unions as `["null", T]`).
pub(super) fn to_value(p: &Post) -> Value {
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
        ("timestamp".into(), Value::TimestampMillis(p.timestamp)),
        ("tweetid".into(), Value::Long(p.tweetid)),
        ("tweet".into(), Value::String(p.tweet.clone())),
        ("source".into(), opt_string(&p.source)),
        ("lang".into(), opt_string(&p.lang)),
        ("hashtags".into(), hashtags),
    ])
}

fn long(field: &'static str, v: Value) -> Result<i64, DecodeError> {
    match v {
        Value::Long(n) | Value::TimestampMillis(n) => Ok(n),
        _ => Err(DecodeError::BadField(field)),
    }
}

fn string(field: &'static str, v: Value) -> Result<String, DecodeError> {
    match v {
        Value::String(s) => Ok(s),
        _ => Err(DecodeError::BadField(field)),
    }
}

/// The value of a `["null", T]` field: `None` for null.
fn optional(field: &'static str, v: Value) -> Result<Option<Value>, DecodeError> {
    match v {
        Value::Null => Ok(None),
        Value::Union(_, inner) => match *inner {
            Value::Null => Ok(None),
            inner => Ok(Some(inner)),
        },
        _ => Err(DecodeError::BadField(field)),
    }
}

/// The post in a decoded record, reading the fields by name.
pub(super) fn from_value(v: Value) -> Result<Post, DecodeError> {
    let Value::Record(fields) = v else {
        return Err(DecodeError::BadField("(record)"));
    };
    let (mut userid, mut username, mut timestamp, mut tweetid, mut tweet) =
        (None, None, None, None, None);
    let (mut source, mut lang, mut hashtags) = (None, None, None);
    for (name, value) in fields {
        match name.as_str() {
            "userid" => userid = Some(long("userid", value)?),
            "username" => username = Some(string("username", value)?),
            "timestamp" => timestamp = Some(long("timestamp", value)?),
            "tweetid" => tweetid = Some(long("tweetid", value)?),
            "tweet" => tweet = Some(string("tweet", value)?),
            "source" => {
                source = optional("source", value)?
                    .map(|v| string("source", v))
                    .transpose()?
            }
            "lang" => {
                lang = optional("lang", value)?
                    .map(|v| string("lang", v))
                    .transpose()?
            }
            "hashtags" => {
                hashtags = match optional("hashtags", value)? {
                    None => None,
                    Some(Value::Array(items)) if items.len() > MAX_HASHTAGS => {
                        return Err(DecodeError::TooManyHashtags(items.len()));
                    }
                    Some(Value::Array(items)) => Some(
                        items
                            .into_iter()
                            .map(|i| string("hashtags", i))
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                    Some(_) => return Err(DecodeError::BadField("hashtags")),
                }
            }
            _ => {}
        }
    }
    Ok(Post {
        userid: userid.ok_or(DecodeError::BadField("userid"))?,
        username: username.ok_or(DecodeError::BadField("username"))?,
        timestamp: timestamp.ok_or(DecodeError::BadField("timestamp"))?,
        tweetid: tweetid.ok_or(DecodeError::BadField("tweetid"))?,
        tweet: tweet.ok_or(DecodeError::BadField("tweet"))?,
        source,
        lang,
        hashtags,
    })
}
