//! Parser for X (Twitter) API v1.1 status objects, as found in archives recorded from the v1.1
//! streaming, search and timeline endpoints (one status per line, or a search page / timeline
//! array per line, see [`crate::replay`]).
//!
//! Mapping to [`Post`]: `tweetid` = `id_str` (else `id`); `userid` = `user.id_str` (else
//! `user.id`, 0 when there is no user); `username` = `user.screen_name`; `timestamp` =
//! `created_at` (`Wed Oct 10 20:19:24 +0000 2018`, required); `tweet` =
//! `extended_tweet.full_text` when present (long statuses in the stream), else `full_text`
//! (`tweet_mode=extended`), else `text`; `hashtags` = the `text`s of the matching `entities.hashtags`
//! (`Some(vec![])` when the entities object has none, `None` when there is no entities object);
//! `lang` = `lang`; `source` = `"x"`. Unknown fields are ignored.
//!
//! The stream's control messages (`delete`, `limit`, `scrub_geo`, `status_withheld`,
//! `user_withheld`, `warning`, `disconnect`) are not statuses: [`control_kind`] names them so a
//! replay can skip them.

use crate::x_v2::{Entities, ReplayError, parse_id};
use model::Post;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The v1.1 `created_at` format.
const V1_DATE: &str = "%a %b %d %H:%M:%S %z %Y";

/// The control messages of the v1.1 stream, by their only top-level key.
const CONTROL_KEYS: &[&str] = &[
    "delete",
    "limit",
    "scrub_geo",
    "status_withheld",
    "user_withheld",
    "warning",
    "disconnect",
];

/// The kind of a v1.1 control message (`delete`, `limit`, ...), if the object is one.
pub fn control_kind<'a>(keys: impl IntoIterator<Item = &'a str>) -> Option<&'static str> {
    let mut found = None;
    for k in keys {
        match CONTROL_KEYS.iter().find(|c| **c == k) {
            Some(c) => found = Some(*c),
            None => return None,
        }
    }
    found
}

/// Parses one v1.1 status object.
pub fn parse_status(json: &str) -> Result<Post, ReplayError> {
    let s: Status<'_> = serde_json::from_str(json).map_err(ReplayError::InvalidJson)?;
    let tweetid = id_of(s.id_str, s.id)?.ok_or(ReplayError::MissingId)?;
    let (userid, username) = match s.user {
        None => (0, String::new()),
        Some(u) => (
            id_of(u.id_str, u.id)
                .map_err(|e| match e {
                    ReplayError::BadId(v) => ReplayError::BadAuthorId(v),
                    other => other,
                })?
                .unwrap_or(0),
            u.screen_name.map(Cow::into_owned).unwrap_or_default(),
        ),
    };
    let created_at = s.created_at.ok_or(ReplayError::MissingCreatedAt)?;
    let timestamp = chrono::DateTime::parse_from_str(&created_at, V1_DATE)
        .map_err(|source| ReplayError::BadCreatedAt {
            value: created_at.to_string(),
            source,
        })?
        .timestamp_millis();
    let (text, entities) = match s.extended_tweet {
        Some(Extended {
            full_text: Some(text),
            entities,
        }) => (text, entities),
        _ => (
            s.full_text.or(s.text).ok_or(ReplayError::MissingText)?,
            s.entities,
        ),
    };
    let hashtags = entities.map(Entities::tags);
    Ok(Post {
        userid,
        username,
        timestamp,
        tweetid,
        tweet: text.into_owned(),
        source: Some("x".to_owned()),
        lang: s.lang.map(Cow::into_owned),
        hashtags,
    })
}

/// The id from `id_str`, else from the numeric `id`; `Ok(None)` when neither is there.
fn id_of(id_str: Option<Cow<'_, str>>, id: Option<&RawValue>) -> Result<Option<i64>, ReplayError> {
    let text = match (&id_str, id) {
        (Some(s), _) => s.as_ref(),
        (None, Some(raw)) => raw.get(),
        (None, None) => return Ok(None),
    };
    parse_id(text)
        .map(Some)
        .ok_or_else(|| ReplayError::BadId(text.to_owned()))
}

#[derive(Deserialize)]
struct Status<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    id_str: Option<Cow<'a, str>>,
    #[serde(borrow)]
    created_at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    full_text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    lang: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user: Option<User<'a>>,
    #[serde(borrow)]
    entities: Option<Entities<'a>>,
    #[serde(borrow)]
    extended_tweet: Option<Extended<'a>>,
}

#[derive(Deserialize)]
struct User<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    id_str: Option<Cow<'a, str>>,
    #[serde(borrow)]
    screen_name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Extended<'a> {
    #[serde(borrow)]
    full_text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    entities: Option<Entities<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v1.1 stream status, shortened from the documented example.
    const STATUS: &str = r#"{"created_at":"Wed Oct 10 20:19:24 +0000 2018","id":1050118621198921728,"id_str":"1050118621198921728","text":"To make room for more expression, we will now count all emojis as equal #Emoji #twitter","truncated":false,"entities":{"hashtags":[{"text":"Emoji","indices":[72,78]},{"text":"twitter","indices":[79,87]}],"urls":[]},"user":{"id":6253282,"id_str":"6253282","screen_name":"TwitterAPI"},"lang":"en"}"#;

    #[test]
    fn a_stream_status() {
        let p = parse_status(STATUS).unwrap();
        assert_eq!(p.tweetid, 1_050_118_621_198_921_728);
        assert_eq!((p.userid, p.username.as_str()), (6_253_282, "TwitterAPI"));
        assert_eq!(p.timestamp, 1_539_202_764_000);
        assert_eq!(
            p.hashtags,
            Some(vec!["Emoji".to_owned(), "twitter".to_owned()])
        );
        assert_eq!(p.lang.as_deref(), Some("en"));
        assert_eq!(p.source.as_deref(), Some("x"));
    }

    #[test]
    fn extended_tweets_and_full_text_win_over_text() {
        let long = r#"{"created_at":"Thu Apr 01 15:52:31 +0000 2021","id_str":"7","text":"short… https://t.co/x","truncated":true,"entities":{"hashtags":[]},"extended_tweet":{"full_text":"the whole text #kpop #bts","entities":{"hashtags":[{"text":"kpop"},{"text":"bts"}]}},"user":{"id_str":"9","screen_name":"n"}}"#;
        let p = parse_status(long).unwrap();
        assert_eq!(p.tweet, "the whole text #kpop #bts");
        assert_eq!(p.hashtags, Some(vec!["kpop".to_owned(), "bts".to_owned()]));
        let search = r#"{"created_at":"Thu Apr 01 15:52:31 +0000 2021","id":8,"full_text":"from search #a","user":{"id":10}}"#;
        let p = parse_status(search).unwrap();
        assert_eq!((p.tweetid, p.userid), (8, 10));
        assert_eq!(p.tweet, "from search #a");
        assert_eq!(
            p.hashtags, None,
            "no entities: extracted from the text later"
        );
    }

    #[test]
    fn bad_statuses_have_clear_reasons() {
        let code = |json: &str| parse_status(json).unwrap_err().reason_code();
        assert_eq!(
            code(r#"{"created_at":"Wed Oct 10 20:19:24 +0000 2018","text":"x"}"#),
            "missing_id"
        );
        assert_eq!(
            code(r#"{"id_str":"x1","created_at":"Wed Oct 10 20:19:24 +0000 2018","text":"x"}"#),
            "bad_id"
        );
        assert_eq!(
            code(r#"{"id":-5,"created_at":"Wed Oct 10 20:19:24 +0000 2018","text":"x"}"#),
            "bad_id"
        );
        assert_eq!(code(r#"{"id":1,"text":"x"}"#), "missing_created_at");
        assert_eq!(
            code(r#"{"id":1,"created_at":"2018-10-10","text":"x"}"#),
            "bad_created_at"
        );
        assert_eq!(
            code(r#"{"id":1,"created_at":"Wed Oct 10 20:19:24 +0000 2018"}"#),
            "missing_text"
        );
        assert_eq!(
            code(
                r#"{"id":1,"created_at":"Wed Oct 10 20:19:24 +0000 2018","text":"x","user":{"id_str":"u"}}"#
            ),
            "bad_author_id"
        );
        assert_eq!(code(r#"{"id":1,"#), "truncated_json");
    }

    #[test]
    fn control_messages_are_recognised() {
        assert_eq!(control_kind(["delete"]), Some("delete"));
        assert_eq!(control_kind(["limit"]), Some("limit"));
        assert_eq!(
            control_kind(["delete", "id"]),
            None,
            "mixed keys are not control"
        );
        assert_eq!(control_kind(Vec::<&str>::new()), None);
    }
}
