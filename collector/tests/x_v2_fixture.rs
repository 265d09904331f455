//! Parses the replay fixture `fixtures/x_sample.jsonl`: realistic X API v2 sampled-stream lines
//! with a keep-alive, a truncated line and a closing operational-disconnect.

use std::collections::BTreeMap;

use collector::x_v2::{ReplayItem, parse_line};
use model::{Post, SlotStart};

const FIXTURE: &str = include_str!("fixtures/x_sample.jsonl");

struct Parsed {
    posts: Vec<Post>,
    keep_alives: usize,
    errors: Vec<(usize, &'static str)>,
    stream_errors: Vec<String>,
}

fn parse_fixture() -> Parsed {
    let mut parsed = Parsed {
        posts: vec![],
        keep_alives: 0,
        errors: vec![],
        stream_errors: vec![],
    };
    for (i, line) in FIXTURE.lines().enumerate() {
        match parse_line(line) {
            Ok(ReplayItem::Post(p)) => parsed.posts.push(p),
            Ok(ReplayItem::KeepAlive) => parsed.keep_alives += 1,
            Ok(ReplayItem::StreamError { kind, .. }) => parsed.stream_errors.push(kind),
            Err(e) => parsed.errors.push((i + 1, e.reason_code())),
        }
    }
    parsed
}

#[test]
fn counts_posts_keep_alives_and_errors() {
    let parsed = parse_fixture();
    assert_eq!(FIXTURE.lines().count(), 21);
    assert_eq!(parsed.posts.len(), 18);
    assert_eq!(parsed.keep_alives, 1);
    assert_eq!(parsed.errors, vec![(15, "truncated_json")]);
    assert_eq!(
        parsed.stream_errors,
        vec!["operational-disconnect".to_owned()]
    );
    assert!(
        parsed
            .posts
            .iter()
            .all(|p| p.source.as_deref() == Some("x"))
    );
    assert!(
        parsed
            .posts
            .iter()
            .all(|p| !p.username.is_empty() && p.userid > 0)
    );
    assert!(parsed.posts.windows(2).all(|w| w[0].tweetid < w[1].tweetid));
}

#[test]
fn hashtags_and_fields() {
    let posts = parse_fixture().posts;
    let first = &posts[0];
    assert_eq!(first.tweetid, 1_377_650_090_978_992_134);
    assert_eq!(
        (first.userid, first.username.as_str()),
        (4_602_771_083, "nick")
    );
    assert_eq!(first.timestamp, 1_617_292_351_000);
    assert_eq!(first.lang.as_deref(), Some("en"));
    assert_eq!(first.hashtags, Some(vec!["kpop".to_owned()]));

    // No entities object: extract from the text later. Entities without hashtags: none.
    assert_eq!(posts[1].hashtags, None);
    let lol = posts.iter().find(|p| p.tweet == "lol same").unwrap();
    assert_eq!(lol.hashtags, Some(vec![]));

    // A retweet keeps the original case of its tags.
    let rt = &posts[2];
    assert!(rt.tweet.starts_with("RT @bts_bighit: "));
    assert_eq!(
        rt.hashtags,
        Some(vec!["BTS".into(), "BTS_Butter".into(), "KPOP".into()])
    );
    assert_eq!(rt.username, "army_forever");

    // A long post: the full text and the tags of the note.
    let long = posts
        .iter()
        .find(|p| p.tweetid == 1_377_650_099_368_448_001)
        .unwrap();
    assert!(
        long.tweet
            .ends_with("without a single outage. #RustConf #memorysafety")
    );
    assert_eq!(
        long.hashtags,
        Some(vec![
            "rustlang".into(),
            "RustConf".into(),
            "memorysafety".into()
        ])
    );

    let by_lang = |lang: &str| {
        posts
            .iter()
            .find(|p| p.lang.as_deref() == Some(lang))
            .unwrap()
    };
    assert_eq!(
        by_lang("ja").hashtags,
        Some(vec!["東京".into(), "雨".into()])
    );
    assert_eq!(
        by_lang("ru").hashtags,
        Some(vec!["москва".into(), "весна".into()])
    );
    assert_eq!(by_lang("ar").hashtags, Some(vec!["رمضان".into()]));
}

#[test]
fn hashtag_keys_per_slot() {
    let posts = parse_fixture().posts;
    let mut counts: BTreeMap<(String, SlotStart), u64> = BTreeMap::new();
    for p in &posts {
        for key in p.hashtag_keys() {
            *counts
                .entry((key, SlotStart::containing(p.timestamp)))
                .or_default() += 1;
        }
    }
    let slot = SlotStart::containing(1_617_292_351_000); // 15:50
    let next = slot.next(); // 15:55
    let count = |k: &str, s: SlotStart| counts.get(&(k.to_owned(), s)).copied().unwrap_or(0);
    // `#kpop`, `#KPOP` and `#kpop #KPop #Kpop` (one post) are one key.
    assert_eq!(count("kpop", slot), 3);
    assert_eq!(count("rustlang", slot), 2);
    assert_eq!(count("rustlang", next), 1);
    assert_eq!(count("rust", slot), 1);
    // The truncated line does not count.
    assert_eq!(count("worldcup2026", slot), 2);
    assert_eq!(count("bts", slot), 1);
    assert_eq!(count("bts_butter", slot), 1);
    assert_eq!(count("zürich", slot), 1);
    assert_eq!(count("elclásico", slot), 1);
    assert_eq!(count("東京", slot), 1);
    assert_eq!(count("москва", slot), 1);
    let total: u64 = counts.values().sum();
    assert_eq!(total, 25);
}
