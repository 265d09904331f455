//! Posts written and read straight from and to Avro's binary encoding, for the two writer
//! schemas we know (`post.avsc` and the thesis's `Tweet`), without the generic
//! `apache_avro::types::Value` tree: the collector encodes and every speed worker decodes every
//! post, and the generic path (a `Value` per field, a `String` per field name) took most of the
//! time of both.
//!
//! The bytes are exactly apache-avro's (the tests compare them, and compare decoding arbitrary
//! bytes both ways), including its errors' kinds: a datum cut short, a bad length or union
//! index, extra bytes after the datum, a string that is not UTF-8, too many hashtags.

use super::{DecodeError, MAX_HASHTAGS};
use crate::Post;

/// Appends `n` as an Avro `long` (zig-zag, then a little-endian base-128 varint).
fn put_long(buf: &mut Vec<u8>, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        buf.push((z as u8) | 0x80);
        z >>= 7;
    }
    buf.push(z as u8);
}

/// Appends a `string` (its byte length as a `long`, then the bytes).
fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_long(buf, s.len() as i64);
    buf.extend_from_slice(s.as_bytes());
}

/// Appends a `["null", "string"]` union.
fn put_opt_str(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => buf.push(0),
        Some(s) => {
            buf.push(2); // branch 1, zig-zag encoded
            put_str(buf, s);
        }
    }
}

/// Appends the datum of `post` for `post.avsc`: the fields in order, unions as their branch
/// index then the value, the hashtag array as one block and the closing empty block.
pub(super) fn write(post: &Post, buf: &mut Vec<u8>) {
    put_long(buf, post.userid);
    put_str(buf, &post.username);
    put_long(buf, post.timestamp);
    put_long(buf, post.tweetid);
    put_str(buf, &post.tweet);
    put_opt_str(buf, post.source.as_deref());
    put_opt_str(buf, post.lang.as_deref());
    match &post.hashtags {
        None => buf.push(0),
        Some(tags) => {
            buf.push(2);
            if !tags.is_empty() {
                put_long(buf, tags.len() as i64);
                for t in tags {
                    put_str(buf, t);
                }
            }
            buf.push(0);
        }
    }
}

/// The datum being read.
struct Datum<'a> {
    rest: &'a [u8],
}

fn cut_short() -> DecodeError {
    DecodeError::BadDatum("the datum is cut short (it ends inside a field)".into())
}

impl<'a> Datum<'a> {
    /// An Avro `long`: at most 10 varint bytes (bits past the 64th are dropped, as
    /// apache-avro does).
    fn long(&mut self) -> Result<i64, DecodeError> {
        let mut z: u64 = 0;
        for i in 0..10 {
            let (&b, rest) = self.rest.split_first().ok_or_else(cut_short)?;
            self.rest = rest;
            z |= u64::from(b & 0x7F).wrapping_shl(7 * i);
            if b & 0x80 == 0 {
                return Ok((z >> 1) as i64 ^ -((z & 1) as i64));
            }
        }
        Err(DecodeError::BadDatum(
            "a number is longer than 10 bytes".into(),
        ))
    }

    /// The bytes of a `string`, not yet checked to be UTF-8.
    fn raw_str(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.long()?;
        let len = usize::try_from(len)
            .map_err(|_| DecodeError::BadDatum(format!("a string of length {len}")))?;
        if len > self.rest.len() {
            return Err(cut_short());
        }
        let (s, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(s)
    }

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.raw_str()?).map_err(|_| DecodeError::InvalidUtf8)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        self.str().map(str::to_owned)
    }

    /// The branch of a `["null", T]` union: false for null.
    fn present(&mut self) -> Result<bool, DecodeError> {
        match self.long()? {
            0 => Ok(false),
            1 => Ok(true),
            i => Err(DecodeError::BadDatum(format!(
                "union index {i} (the union has 2 branches)"
            ))),
        }
    }

    fn opt_string(&mut self) -> Result<Option<String>, DecodeError> {
        Ok(if self.present()? {
            Some(self.string()?)
        } else {
            None
        })
    }

    /// An array of strings, block by block. Past [`MAX_HASHTAGS`] items it keeps reading (so a
    /// datum broken further on reports that first, as apache-avro would) without keeping them,
    /// and returns the total in `Err`.
    fn hashtags(&mut self) -> Result<Result<Vec<String>, usize>, DecodeError> {
        let mut tags = Vec::new();
        let mut total = 0usize;
        loop {
            let mut count = self.long()?;
            if count == 0 {
                break;
            }
            if count < 0 {
                // A negative count is followed by the block's size in bytes.
                count = count.checked_neg().ok_or_else(|| {
                    DecodeError::BadDatum(format!("an array block of {count} items"))
                })?;
                self.long()?;
            }
            // Every item takes a byte at least: a count above what is left is cut short.
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            if count > self.rest.len() {
                return Err(cut_short());
            }
            for _ in 0..count {
                let s = self.str()?;
                total += 1;
                if total <= MAX_HASHTAGS {
                    tags.push(s.to_owned());
                }
            }
        }
        Ok(if total > MAX_HASHTAGS {
            Err(total)
        } else {
            Ok(tags)
        })
    }

    /// Ends the datum: no bytes may follow.
    fn end(&self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::BadDatum(format!(
                "{} bytes after the end of the datum",
                self.rest.len()
            )))
        }
    }
}

/// Reads a datum written with `post.avsc`.
pub(super) fn read_post(datum: &[u8]) -> Result<Post, DecodeError> {
    let mut d = Datum { rest: datum };
    let userid = d.long()?;
    let username = d.string()?;
    let timestamp = d.long()?;
    let tweetid = d.long()?;
    let tweet = d.string()?;
    let source = d.opt_string()?;
    let lang = d.opt_string()?;
    let hashtags = if d.present()? {
        Some(d.hashtags()?)
    } else {
        None
    };
    d.end()?;
    let hashtags = hashtags.transpose().map_err(DecodeError::TooManyHashtags)?;
    Ok(Post {
        userid,
        username,
        timestamp,
        tweetid,
        tweet,
        source,
        lang,
        hashtags,
    })
}

/// Reads a datum written with the thesis's `Tweet` schema (its five fields; the optional ones
/// of `post.avsc` are `None`).
pub(super) fn read_thesis(datum: &[u8]) -> Result<Post, DecodeError> {
    let mut d = Datum { rest: datum };
    let post = Post {
        userid: d.long()?,
        username: d.string()?,
        timestamp: d.long()?,
        tweetid: d.long()?,
        tweet: d.string()?,
        source: None,
        lang: None,
        hashtags: None,
    };
    d.end()?;
    Ok(post)
}
