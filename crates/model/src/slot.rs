//! 5-minute UTC slots, the unit every view counts in.
//!
//! A slot is identified by its start ([`SlotStart`], epoch milliseconds, a multiple of
//! [`SLOT_MILLIS`]) and stored in the views as the thesis's `(date, hour, min_5)` ([`SlotKey`]).

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// Length of one slot: 5 minutes in milliseconds.
pub const SLOT_MILLIS: i64 = 5 * 60 * 1000;

/// Start of a 5-minute slot, in Unix epoch milliseconds (UTC). Always a multiple of [`SLOT_MILLIS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SlotStart(pub i64);

impl SlotStart {
    /// The slot that contains the instant `millis` (epoch milliseconds); rounds towards minus infinity,
    /// so instants before 1970 fall in the right slot too.
    pub fn containing(millis: i64) -> Self {
        SlotStart(millis.div_euclid(SLOT_MILLIS) * SLOT_MILLIS)
    }

    /// Epoch milliseconds of the slot start.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// The slot after this one.
    pub fn next(self) -> Self {
        SlotStart(self.0 + SLOT_MILLIS)
    }

    /// The slot `n` slots before this one.
    pub fn minus(self, n: i64) -> Self {
        SlotStart(self.0 - n * SLOT_MILLIS)
    }

    /// The `(date, hour, min_5)` form stored in the views.
    pub fn key(self) -> SlotKey {
        let t: DateTime<Utc> = Utc
            .timestamp_millis_opt(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        SlotKey {
            date: t.date_naive(),
            hour: t.hour() as u8,
            min_5: (t.minute() / 5 * 5) as u8,
        }
    }

    /// RFC 3339 form of the slot start (`2026-11-23T19:05:00Z`), for APIs. Series answers hold
    /// one per point, so the common case (years 0000-9999, whole seconds) is formatted directly
    /// from the civil date; anything else goes through chrono.
    pub fn to_rfc3339(self) -> String {
        const DAY_MILLIS: i64 = 86_400_000;
        let (days, ms_of_day) = (self.0.div_euclid(DAY_MILLIS), self.0.rem_euclid(DAY_MILLIS));
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) || ms_of_day % 1000 != 0 {
            return Utc
                .timestamp_millis_opt(self.0)
                .single()
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default();
        }
        let secs = ms_of_day / 1000;
        let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
        let digits = |n: i64, width: usize, out: &mut [u8]| {
            let mut n = n;
            for i in (0..width).rev() {
                out[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        let mut buf = *b"0000-00-00T00:00:00Z";
        digits(y, 4, &mut buf[0..4]);
        digits(m, 2, &mut buf[5..7]);
        digits(d, 2, &mut buf[8..10]);
        digits(hh, 2, &mut buf[11..13]);
        digits(mm, 2, &mut buf[14..16]);
        digits(ss, 2, &mut buf[17..19]);
        String::from_utf8(buf.to_vec()).expect("ASCII digits")
    }
}

/// A slot as the thesis's view tables key it: a UTC date, the hour (0-23) and the minute the slot
/// starts at (`min_5`: 0, 5, ..., 55).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SlotKey {
    /// UTC calendar date.
    pub date: NaiveDate,
    /// Hour of the day, 0-23.
    pub hour: u8,
    /// Minute the slot starts at: a multiple of 5 in 0-55.
    pub min_5: u8,
}

impl SlotKey {
    /// The slot start this key names.
    pub fn start(self) -> SlotStart {
        let midnight = self
            .date
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc().timestamp_millis())
            .unwrap_or(0);
        SlotStart(midnight + i64::from(self.hour) * 3_600_000 + i64::from(self.min_5) * 60_000)
    }

    /// Days since 1970-01-01 of [`SlotKey::date`] (the Cassandra `date` and Arrow `Date32` value).
    pub fn days_since_epoch(self) -> i32 {
        self.date.num_days_from_ce()
            - NaiveDate::from_ymd_opt(1970, 1, 1).map_or(0, |d| d.num_days_from_ce())
    }
}

/// The proleptic Gregorian (year, month, day) of `days` since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slot_of_known_instant() {
        // 2021-04-01T15:52:31Z
        let t = 1_617_292_351_000;
        let s = SlotStart::containing(t);
        let k = s.key();
        assert_eq!(k.date, NaiveDate::from_ymd_opt(2021, 4, 1).unwrap());
        assert_eq!((k.hour, k.min_5), (15, 50));
        assert_eq!(s.to_rfc3339(), "2021-04-01T15:50:00Z");
    }

    #[test]
    fn instants_before_1970_round_down() {
        assert_eq!(SlotStart::containing(-1), SlotStart(-SLOT_MILLIS));
        assert_eq!(SlotStart::containing(-1).key().hour, 23);
    }

    proptest! {
    #[test]
    fn rfc3339_matches_chrono(millis in -62_167_219_200_000i64..253_402_300_799_000) {
        let expected = Utc
            .timestamp_millis_opt(millis)
            .single()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap();
        prop_assert_eq!(SlotStart(millis).to_rfc3339(), expected.clone());
        let slot = SlotStart::containing(millis);
        let expected = Utc
            .timestamp_millis_opt(slot.0)
            .single()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap();
        prop_assert_eq!(slot.to_rfc3339(), expected);
    }

        #[test]
        fn slot_contains_instant_and_key_round_trips(t in -10_000_000_000_000i64..10_000_000_000_000i64) {
            let s = SlotStart::containing(t);
            prop_assert!(s.0 <= t && t < s.0 + SLOT_MILLIS);
            prop_assert_eq!(s.0.rem_euclid(SLOT_MILLIS), 0);
            prop_assert_eq!(s.key().start(), s);
            prop_assert_eq!(SlotStart::containing(s.0), s);
        }

        #[test]
        fn days_since_epoch_matches_millis(t in 0i64..10_000_000_000_000i64) {
            let k = SlotStart::containing(t).key();
            prop_assert_eq!(i64::from(k.days_since_epoch()), t.div_euclid(86_400_000));
        }
    }
}
