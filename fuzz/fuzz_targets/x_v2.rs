//! The X API v2 parsers (`collector::x_v2::parse_line` for stream lines, `parse_page` for
//! search and timeline pages) and the replay file's line dispatch on arbitrary text: they never
//! panic, the same text parses the same way twice, and every post they return passes
//! `fuzz_checks::check_post` (non-negative ids, source `x`, normalised keys, Avro round trip).
#![no_main]

use collector::replay::{ReplayRecord, parse_replay_line};
use collector::x_v2::{ReplayItem, parse_line, parse_page};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_line(&text) {
        Ok(ReplayItem::Post(post)) => {
            fuzz_checks::check_post(&post, "x");
            assert_eq!(
                parse_line(&text).ok(),
                Some(ReplayItem::Post(post)),
                "parsed differently twice"
            );
        }
        Ok(ReplayItem::KeepAlive) => assert!(text.trim_start_matches('\u{FEFF}').trim().is_empty()),
        Ok(ReplayItem::StreamError { .. }) => {}
        Err(e) => assert!(!e.reason_code().is_empty()),
    }
    if let Ok(entries) = parse_page(&text) {
        for entry in entries {
            match entry {
                Ok(post) => fuzz_checks::check_post(&post, "x"),
                Err((raw, e)) => {
                    assert!(text.contains(&raw), "an entry's JSON is not from the page");
                    assert!(!e.reason_code().is_empty());
                }
            }
        }
    }
    check_replay_line(&text);
});

/// The replay file's dispatch over every format: deterministic, never an empty result, posts
/// sane (`x`: the dispatch only yields X posts).
fn check_replay_line(text: &str) {
    let records = parse_replay_line(text);
    assert!(!records.is_empty(), "a line gave no record");
    for record in &records {
        if let ReplayRecord::Post(post) = record {
            fuzz_checks::check_post(post, "x");
        }
    }
    assert_eq!(records, parse_replay_line(text), "parsed differently twice");
}
