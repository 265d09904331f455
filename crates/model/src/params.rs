//! The serving API's query parameters, parsed and checked: pure functions that the HTTP
//! handlers (`serving::api`) call and the fuzz targets (`fuzz/`) exercise without a server.
//!
//! Each function returns the value the handler works with, or a [`ParamError`] whose message
//! is what the API answers with `400 bad_parameter`: it names the parameter and says what
//! would be accepted.
//!
//! - `GET /api/v1/trending`: [`trending_window`] (`minutes` in [`TRENDING_MINUTES`], `limit` in
//!   [`TRENDING_LIMIT`]).
//! - `GET /api/v1/hashtags/{tag}/series`: [`series_hashtag`] for the path, then
//!   [`series_window`] for `from`, `to` and `step` ([`parse_instant`], [`parse_step`]): the
//!   buckets of one page of at most `max-series-points` points, and where the next page starts.
//! - `GET /api/v1/hashtags`: [`search_prefix`] and [`search_limit`].
//!
//! One decision: instants are accepted from [`MIN_INSTANT_MS`] to [`MAX_INSTANT_MS`] (years 1 to
//! 9999, what RFC 3339 can write), epoch milliseconds included. Unbounded epoch milliseconds made
//! the bucket arithmetic overflow (a panic in a debug build, nonsense in a release build) and
//! answered with instants RFC 3339 cannot write (`"to": ""`); the `api_params` fuzz target found it.

use crate::{SLOT_MILLIS, SlotStart, normalize_hashtag};
use chrono::DateTime;
use std::ops::RangeInclusive;

/// A query or path parameter that is wrong; the message says which and why, for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub String);

impl ParamError {
    fn new(message: impl Into<String>) -> Self {
        ParamError(message.into())
    }
}

/// The trending window a request may ask for, minutes.
pub const TRENDING_MINUTES: RangeInclusive<u32> = 1..=1440;
/// How many trending hashtags a request may ask for.
pub const TRENDING_LIMIT: RangeInclusive<usize> = 1..=1000;

/// Checks the trending window (`minutes`) and length (`limit`), each given or the configured
/// default: `minutes` in [`TRENDING_MINUTES`], `limit` in [`TRENDING_LIMIT`]; `minutes` is
/// checked first.
pub fn trending_window(minutes: u32, limit: usize) -> Result<(u32, usize), ParamError> {
    if !TRENDING_MINUTES.contains(&minutes) {
        return Err(ParamError::new("minutes must be between 1 and 1440"));
    }
    if !TRENDING_LIMIT.contains(&limit) {
        return Err(ParamError::new("limit must be between 1 and 1000"));
    }
    Ok((minutes, limit))
}

/// Most points an `auto` step aims for: about one per pixel of a wide chart.
pub const AUTO_STEP_POINTS: i64 = 2000;
/// The steps `auto` chooses from, minutes: 5 min, 15 min, 1 h, 6 h, 1 d, 7 d.
pub const AUTO_STEPS_MINUTES: [i64; 6] = [5, 15, 60, 360, 1440, 10080];
/// The longest step, minutes (7 days).
pub const MAX_STEP_MINUTES: i64 = 10080;

/// Parses the series `step`: `None` is one slot (5 minutes); `auto` is the finest of
/// [`AUTO_STEPS_MINUTES`] that fits `from_ms..=to_ms` in fewer than [`AUTO_STEP_POINTS`] points
/// (else the longest); otherwise minutes, a multiple of 5 up to [`MAX_STEP_MINUTES`].
pub fn parse_step(step: Option<&str>, from_ms: i64, to_ms: i64) -> Result<i64, ParamError> {
    let slot_minutes = SLOT_MILLIS / 60_000;
    match step {
        None => Ok(slot_minutes),
        Some("auto") => {
            // Saturating: the step alone may be asked for any pair of instants.
            let span_minutes = to_ms.saturating_sub(from_ms) / 60_000 + 1;
            Ok(AUTO_STEPS_MINUTES
                .into_iter()
                .find(|m| span_minutes / m < AUTO_STEP_POINTS)
                .unwrap_or(AUTO_STEPS_MINUTES[AUTO_STEPS_MINUTES.len() - 1]))
        }
        Some(s) => match s.parse::<i64>() {
            Ok(m) if m >= slot_minutes && m % slot_minutes == 0 && m <= MAX_STEP_MINUTES => Ok(m),
            _ => Err(ParamError::new(format!(
                "`step` must be `auto` or minutes: a multiple of {slot_minutes} up to 10080, not `{s}`"
            ))),
        },
    }
}

/// The earliest instant a request may name: 0001-01-01T00:00:00Z, epoch milliseconds.
pub const MIN_INSTANT_MS: i64 = -62_135_596_800_000;
/// The latest instant a request may name: 9999-12-31T23:59:59.999Z, epoch milliseconds.
pub const MAX_INSTANT_MS: i64 = 253_402_300_799_999;

/// Parses an instant given as epoch milliseconds or RFC 3339 (any offset); `what` names the
/// parameter in the error. The instant must lie in [`MIN_INSTANT_MS`]..=[`MAX_INSTANT_MS`].
pub fn parse_instant(s: &str, what: &str) -> Result<i64, ParamError> {
    let ms = match s.parse::<i64>() {
        Ok(ms) => ms,
        Err(_) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .map_err(|_| {
                ParamError::new(format!(
                    "`{what}` must be RFC 3339 (2026-11-23T06:00:00Z) or epoch milliseconds, not `{s}`"
                ))
            })?,
    };
    if !(MIN_INSTANT_MS..=MAX_INSTANT_MS).contains(&ms) {
        return Err(ParamError::new(format!(
            "`{what}` must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z, not `{s}`"
        )));
    }
    Ok(ms)
}

/// The hashtag of a series request's path, normalised (with or without `#` or `＃`, any
/// case); an error when nothing is left.
pub fn series_hashtag(tag: &str) -> Result<String, ParamError> {
    let hashtag = normalize_hashtag(tag.trim_start_matches(['#', '＃']));
    if hashtag.is_empty() {
        return Err(ParamError::new("the hashtag is empty"));
    }
    Ok(hashtag)
}

/// One page of a series request: the buckets it covers and where the next page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesWindow {
    /// The first bucket: `from` aligned down to the step (buckets are aligned to the step in
    /// UTC, so pages and refreshes line up).
    pub from: SlotStart,
    /// The last slot of this page: the slot of `to`, or earlier when the range was cut.
    pub to: SlotStart,
    /// Length of one bucket, minutes.
    pub step_minutes: i64,
    /// When the range holds more than `max_points` buckets: the `from` of the next page.
    pub next_from: Option<SlotStart>,
}

impl SeriesWindow {
    /// Length of one bucket, milliseconds.
    pub fn step_ms(&self) -> i64 {
        self.step_minutes * 60_000
    }
}

/// Parses a series request's `from`, `to` (inclusive) and `step` into one page of at most
/// `max_points` buckets (0 is taken as 1). `to` defaults to `now_ms`, `from` to 24 hours before
/// `to`; `to` is parsed first, then `from`, then they are compared, then the step is parsed.
///
/// `now_ms` must itself lie in [`MIN_INSTANT_MS`]..=[`MAX_INSTANT_MS`] (it is clamped there).
/// Then every accepted window has `from <= from_ms < from + step`, `from <= to <= to_ms`, at
/// most `max_points` buckets, and `next_from`, when the range was cut, is the slot after `to`.
pub fn series_window(
    from: Option<&str>,
    to: Option<&str>,
    step: Option<&str>,
    now_ms: i64,
    max_points: usize,
) -> Result<SeriesWindow, ParamError> {
    let to_ms = match to {
        Some(s) => parse_instant(s, "to")?,
        None => now_ms.clamp(MIN_INSTANT_MS, MAX_INSTANT_MS),
    };
    let from_ms = match from {
        Some(s) => parse_instant(s, "from")?,
        None => to_ms - 24 * 3_600_000,
    };
    if from_ms > to_ms {
        return Err(ParamError::new("`from` is after `to`"));
    }
    let step_minutes = parse_step(step, from_ms, to_ms)?;
    let step_ms = step_minutes * 60_000;
    let from = SlotStart(from_ms.div_euclid(step_ms) * step_ms);
    let mut to = SlotStart::containing(to_ms);
    // With the instants bounded nothing below overflows: the span is under 2^49 ms, and a cut
    // page ends before `to`.
    let max = i64::try_from(max_points.max(1)).unwrap_or(i64::MAX);
    let mut next_from = None;
    if (to.0 - from.0) / step_ms + 1 > max {
        let next = from.0 + max * step_ms;
        to = SlotStart(next - SLOT_MILLIS);
        next_from = Some(SlotStart(next));
    }
    Ok(SeriesWindow {
        from,
        to,
        step_minutes,
        next_from,
    })
}

/// The default number of hashtags a search returns.
pub const SEARCH_LIMIT_DEFAULT: usize = 20;
/// The most hashtags a search returns.
pub const SEARCH_LIMIT_MAX: usize = 100;

/// A search prefix, normalised like a hashtag (with or without `#` or `＃`); may be empty.
pub fn search_prefix(prefix: &str) -> String {
    normalize_hashtag(prefix.trim_start_matches(['#', '＃']))
}

/// A search's `limit`: [`SEARCH_LIMIT_DEFAULT`] when absent, else clamped to
/// 1..=[`SEARCH_LIMIT_MAX`].
pub fn search_limit(limit: Option<usize>) -> usize {
    limit
        .unwrap_or(SEARCH_LIMIT_DEFAULT)
        .clamp(1, SEARCH_LIMIT_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2026-11-23T06:00:00Z.
    const NOW: i64 = 1_795_413_600_000;

    fn window(
        from: Option<&str>,
        to: Option<&str>,
        step: Option<&str>,
    ) -> Result<SeriesWindow, String> {
        series_window(from, to, step, NOW, 10_000).map_err(|e| e.0)
    }

    #[test]
    fn trending_bounds_and_messages() {
        assert_eq!(trending_window(1, 1), Ok((1, 1)));
        assert_eq!(trending_window(1440, 1000), Ok((1440, 1000)));
        assert_eq!(
            trending_window(0, 0).unwrap_err().0,
            "minutes must be between 1 and 1440"
        );
        assert_eq!(
            trending_window(60, 1001).unwrap_err().0,
            "limit must be between 1 and 1000"
        );
    }

    #[test]
    fn steps() {
        assert_eq!(parse_step(None, 0, 0), Ok(5));
        assert_eq!(parse_step(Some("60"), 0, 0), Ok(60));
        assert_eq!(parse_step(Some("10080"), 0, 0), Ok(10080));
        for bad in ["7", "0", "-5", "10085", "abc", ""] {
            assert_eq!(
                parse_step(Some(bad), 0, 0).unwrap_err().0,
                format!(
                    "`step` must be `auto` or minutes: a multiple of 5 up to 10080, not `{bad}`"
                )
            );
        }
        let day = 86_400_000;
        assert_eq!(parse_step(Some("auto"), 0, day), Ok(5));
        assert_eq!(parse_step(Some("auto"), 0, 365 * day), Ok(360));
        assert_eq!(parse_step(Some("auto"), 0, 100_000 * day), Ok(10080));
    }

    #[test]
    fn instants() {
        assert_eq!(parse_instant("1795413600000", "to"), Ok(NOW));
        assert_eq!(parse_instant("2026-11-23T06:00:00Z", "to"), Ok(NOW));
        assert_eq!(parse_instant("2026-11-23T07:00:00+01:00", "to"), Ok(NOW));
        assert_eq!(
            parse_instant("yesterday", "from").unwrap_err().0,
            "`from` must be RFC 3339 (2026-11-23T06:00:00Z) or epoch milliseconds, not `yesterday`"
        );
        assert_eq!(
            parse_instant("0001-01-01T00:00:00Z", "from"),
            Ok(MIN_INSTANT_MS)
        );
        assert_eq!(
            parse_instant("9999-12-31T23:59:59.999Z", "to"),
            Ok(MAX_INSTANT_MS)
        );
    }

    #[test]
    fn unbounded_epoch_millis_are_rejected_not_overflowed() {
        // These panicked with "attempt to multiply/subtract with overflow" in a debug build of
        // the series handler, and answered with `"to": ""` in a release build.
        for (from, to, step) in [
            (Some("-9223372036854775808"), Some("0"), None),
            (
                Some("-5000000000000000000"),
                Some("5000000000000000000"),
                Some("auto"),
            ),
            (Some("3590600000000"), Some("179541306000000000"), None),
            (None, Some("9223372036854775807"), Some("10080")),
            (Some("0000-01-01T00:00:00Z"), None, None),
            (None, Some("9999-12-31T23:59:59-01:00"), None),
        ] {
            let err = window(from, to, step).unwrap_err();
            assert!(
                err.contains("must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z"),
                "{err}"
            );
        }
        let max = MAX_INSTANT_MS.to_string();
        let min = MIN_INSTANT_MS.to_string();
        let w = series_window(Some(&min), Some(&max), Some("auto"), NOW, usize::MAX).unwrap();
        assert_eq!(w.step_minutes, 10080);
        assert!(
            w.from.to_rfc3339().starts_with("0000-12-"),
            "{:?}",
            w.from.to_rfc3339()
        );
        assert_eq!(w.to, SlotStart::containing(MAX_INSTANT_MS));
        assert_eq!(w.to.to_rfc3339(), "9999-12-31T23:55:00Z");
        let w = window(Some(&min), None, Some("5")).unwrap();
        assert_eq!(w.next_from, Some(w.to.next()));
    }

    #[test]
    fn series_defaults_order_and_paging() {
        let w = window(None, None, None).unwrap();
        assert_eq!(w.to, SlotStart::containing(NOW));
        assert_eq!(w.from, SlotStart(NOW - 86_400_000));
        assert_eq!((w.step_minutes, w.next_from), (5, None));
        // `to` is parsed before `from`, the order before the step.
        assert!(
            window(Some("x"), Some("y"), None)
                .unwrap_err()
                .starts_with("`to`")
        );
        assert_eq!(
            window(
                Some("2026-11-23T00:00:00Z"),
                Some("2026-11-22T00:00:00Z"),
                Some("7")
            )
            .unwrap_err(),
            "`from` is after `to`"
        );
        // A year at 5-minute slots is more than 10,000 points: one page, then the next.
        let year = (Some("2025-01-01T00:00:00Z"), Some("2026-01-01T00:00:00Z"));
        let w = window(year.0, year.1, None).unwrap();
        assert_eq!(w.next_from.unwrap().to_rfc3339(), "2025-02-04T17:20:00Z");
        assert_eq!(w.to.next(), w.next_from.unwrap());
        let w = window(year.0, year.1, Some("auto")).unwrap();
        assert_eq!((w.step_minutes, w.next_from), (360, None));
        // Buckets are aligned to the step.
        let w = window(
            Some("2026-11-23T05:59:00Z"),
            Some("2026-11-23T08:00:00Z"),
            Some("60"),
        )
        .unwrap();
        assert_eq!(w.from.to_rfc3339(), "2026-11-23T05:00:00Z");
        assert_eq!(w.step_ms(), 3_600_000);
        // A cap of 0 is taken as 1; one above usize's i64 range does not wrap.
        let w = series_window(None, None, None, NOW, 0).unwrap();
        assert_eq!(w.from, w.to);
        let w = series_window(None, None, None, NOW, usize::MAX).unwrap();
        assert_eq!(w.next_from, None);
    }

    #[test]
    fn hashtags_prefixes_and_search_limits() {
        assert_eq!(series_hashtag("#Rust"), Ok("rust".to_string()));
        assert_eq!(series_hashtag("＃ＲＵＳＴ"), Ok("rust".to_string()));
        assert_eq!(series_hashtag("#").unwrap_err().0, "the hashtag is empty");
        assert_eq!(search_prefix("#Ru"), "ru");
        assert_eq!(search_prefix(""), "");
        assert_eq!(search_limit(None), 20);
        assert_eq!(search_limit(Some(0)), 1);
        assert_eq!(search_limit(Some(500)), 100);
    }

    proptest! {
        #[test]
        fn accepted_windows_are_in_range(
            from in prop_oneof![any::<i64>(), MIN_INSTANT_MS..=MAX_INSTANT_MS],
            to in prop_oneof![any::<i64>(), MIN_INSTANT_MS..=MAX_INSTANT_MS],
            step in prop::option::of(prop_oneof![Just("auto".to_string()), (0i64..20_000).prop_map(|m| m.to_string())]),
            max in prop_oneof![1usize..20_000, any::<usize>()],
        ) {
            let (f, t) = (from.to_string(), to.to_string());
            if let Ok(w) = series_window(Some(&f), Some(&t), step.as_deref(), NOW, max) {
                let step_ms = w.step_ms();
                prop_assert!(w.from.0 <= from && from - w.from.0 < step_ms);
                prop_assert!(w.from <= w.to && w.to.0 <= to);
                prop_assert_eq!(w.from.0.rem_euclid(step_ms), 0);
                prop_assert!(((w.to.0 - w.from.0) / step_ms + 1) as u128 <= max as u128);
                prop_assert!(!w.to.to_rfc3339().is_empty() && !w.from.to_rfc3339().is_empty());
            }
        }
    }
}
