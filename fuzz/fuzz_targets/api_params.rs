//! The serving API's query parameters (`model::params`), from a query string such as
//! `from=2025-01-01T00:00:00Z&to=1767225600000&step=auto&minutes=60&limit=10&prefix=%23Ru`
//! (keys `minutes`, `limit`, `tag`, `from`, `to`, `step`, `max`, `prefix`, `search-limit`; `&`
//! and the first `=` split, no percent-decoding): the functions never panic, and what they
//! accept is in the documented ranges: a trending window of 1-1440 minutes and 1-1000 hashtags;
//! a series page whose buckets are aligned to one of the allowed steps, start at or before
//! `from` (by less than a step), end at or before `to`, are at most `max` and, when cut, say
//! where the next page starts; normalised hashtags and prefixes; a search limit of 1-100.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::params::{self, AUTO_STEP_POINTS, AUTO_STEPS_MINUTES, MAX_STEP_MINUTES};
use model::{SLOT_MILLIS, SlotStart, normalize_hashtag};

/// "Now" for requests without `to`: 2026-11-23T06:00:00Z.
const NOW_MS: i64 = 1_795_413_600_000;

fuzz_target!(|data: &[u8]| {
    let query = String::from_utf8_lossy(data);
    let get = |key: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    };

    // GET /api/v1/trending: `minutes` and `limit` reach the check only when they are numbers
    // (the Query extractor rejects the rest); the defaults are the config's.
    if let (Ok(minutes), Ok(limit)) = (
        get("minutes").map_or(Ok(10), str::parse::<u32>),
        get("limit").map_or(Ok(20), str::parse::<usize>),
    ) {
        match params::trending_window(minutes, limit) {
            Ok((m, l)) => {
                assert_eq!((m, l), (minutes, limit));
                assert!((1..=1440).contains(&m) && (1..=1000).contains(&l));
            }
            Err(e) => assert!(
                e.0.starts_with("minutes") || e.0.starts_with("limit"),
                "{e}"
            ),
        }
    }

    // GET /api/v1/hashtags/{tag}/series
    match params::series_hashtag(get("tag").unwrap_or("rust")) {
        Ok(tag) => assert!(!tag.is_empty() && normalize_hashtag(&tag) == tag),
        Err(e) => assert_eq!(e.0, "the hashtag is empty"),
    }
    let max = get("max")
        .map_or(Ok(10_000), str::parse::<usize>)
        .unwrap_or(10_000);
    let (from, to, step) = (get("from"), get("to"), get("step"));
    match params::series_window(from, to, step, NOW_MS, max) {
        Ok(w) => check_window(&w, from, to, step, max),
        Err(e) => assert!(!e.0.is_empty()),
    }
    // The step alone, with the instants in any order.
    let instants: Vec<i64> = [from, to]
        .into_iter()
        .flatten()
        .filter_map(|s| params::parse_instant(s, "from").ok())
        .collect();
    if let [a, b] = instants[..] {
        for (x, y) in [(a, b), (b, a)] {
            if let Ok(m) = params::parse_step(step, x, y) {
                assert!(allowed_step(m), "step {m}");
            }
        }
    }

    // GET /api/v1/hashtags
    let prefix = params::search_prefix(get("prefix").unwrap_or(""));
    assert_eq!(normalize_hashtag(&prefix), prefix);
    let limit = get("search-limit").and_then(|s| s.parse::<usize>().ok());
    let limit = params::search_limit(limit);
    assert!((1..=100).contains(&limit));
});

fn allowed_step(minutes: i64) -> bool {
    minutes >= 5 && minutes % 5 == 0 && minutes <= MAX_STEP_MINUTES
}

/// What an accepted series request must give.
fn check_window(
    w: &params::SeriesWindow,
    from: Option<&str>,
    to: Option<&str>,
    step: Option<&str>,
    max: usize,
) {
    let to_ms = to.map_or(NOW_MS, |s| params::parse_instant(s, "to").unwrap());
    let from_ms = from.map_or(to_ms - 24 * 3_600_000, |s| {
        params::parse_instant(s, "from").unwrap()
    });
    assert!(from_ms <= to_ms);
    assert!(allowed_step(w.step_minutes), "step {}", w.step_minutes);
    match step {
        None => assert_eq!(w.step_minutes, 5),
        Some("auto") => {
            assert!(AUTO_STEPS_MINUTES.contains(&w.step_minutes));
            let span_minutes = (i128::from(to_ms) - i128::from(from_ms)) / 60_000 + 1;
            assert!(
                w.step_minutes == MAX_STEP_MINUTES
                    || span_minutes / i128::from(w.step_minutes) < i128::from(AUTO_STEP_POINTS)
            );
        }
        Some(s) => assert_eq!(s.parse::<i64>().ok(), Some(w.step_minutes)),
    }
    let step_ms = w.step_ms();
    assert_eq!(
        w.from.0.rem_euclid(step_ms),
        0,
        "from is not aligned to the step"
    );
    assert_eq!(w.to.0.rem_euclid(SLOT_MILLIS), 0, "to is not a slot");
    assert!(w.from.0 <= from_ms && from_ms - w.from.0 < step_ms);
    assert!(w.from <= w.to, "an empty page");
    assert!(w.to.0 <= to_ms);
    let buckets = (i128::from(w.to.0) - i128::from(w.from.0)) / i128::from(step_ms) + 1;
    assert!(
        buckets <= max.max(1) as i128,
        "{buckets} buckets, at most {max}"
    );
    match w.next_from {
        Some(next) => {
            assert_eq!(next, w.to.next(), "the next page does not follow this one");
            assert_eq!(next.0.rem_euclid(step_ms), 0);
            assert!(next.0 <= to_ms, "a next page after `to`");
        }
        None => assert_eq!(
            w.to,
            SlotStart::containing(to_ms),
            "a page cut without a next"
        ),
    }
    for slot in [Some(w.from), Some(w.to), w.next_from]
        .into_iter()
        .flatten()
    {
        let text = slot.to_rfc3339();
        assert!(
            text.len() >= 20 && text.as_bytes()[..4].iter().all(u8::is_ascii_digit),
            "{slot:?} is not an RFC 3339 instant: {text:?}"
        );
    }
}
