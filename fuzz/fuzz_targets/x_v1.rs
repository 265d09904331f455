//! The X API v1.1 status parser (`collector::x_v1::parse_status`) and the replay file's line
//! dispatch (which routes v1.1 statuses, timelines, search pages and control messages) on
//! arbitrary text: they never panic, parse the same text the same way twice, and every post
//! passes `fuzz_checks::check_post` (non-negative ids, source `x`, normalised keys, Avro round
//! trip).
#![no_main]

use collector::replay::{ReplayRecord, parse_replay_line};
use collector::x_v1::parse_status;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_status(&text) {
        Ok(post) => {
            fuzz_checks::check_post(&post, "x");
            assert_eq!(
                parse_status(&text).ok(),
                Some(post),
                "parsed differently twice"
            );
        }
        Err(e) => assert!(!e.reason_code().is_empty()),
    }
    let records = parse_replay_line(&text);
    assert!(!records.is_empty(), "a line gave no record");
    for record in &records {
        match record {
            ReplayRecord::Post(post) => fuzz_checks::check_post(post, "x"),
            ReplayRecord::Malformed { code, .. } => assert!(!code.is_empty()),
            ReplayRecord::Skipped(what) => assert!(!what.is_empty()),
        }
    }
    assert_eq!(
        records,
        parse_replay_line(&text),
        "parsed differently twice"
    );
});
