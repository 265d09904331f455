//! The trends engine: the top hashtags over a sliding window, computed once and shared by every
//! client and request for [`TrendsCache`]'s time to live, and a burst score per hashtag.
//!
//! The burst score is a z-score of the last five minutes against the hour before: the count
//! over the five minutes ending now (the current, partial slot plus the part of the previous
//! slot still inside the five minutes), minus the mean of the twelve complete slots before
//! those, over their standard deviation, with the standard deviation floored at the Poisson
//! noise `√mean` (and at 1), so a hashtag with a flat, tiny baseline does not score a burst
//! for a handful of posts. A score of 3 or more is a burst worth a badge.

use model::SLOT_MILLIS;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Complete slots in the baseline: one hour.
pub const BASELINE_SLOTS: usize = 12;

/// A score at or above this is shown as a burst.
pub const BURST_THRESHOLD: f64 = 3.0;

/// The burst score of a hashtag from its per-slot counts: `baseline` holds the
/// [`BASELINE_SLOTS`] complete slots before the previous one (oldest first, zeros included),
/// `previous` the previous slot, `current` the current slot so far, `elapsed` how much of the
/// current slot has passed (0 to 1).
pub fn burst_score(baseline: &[i64], previous: i64, current: i64, elapsed: f64) -> f64 {
    if baseline.is_empty() {
        return 0.0;
    }
    let elapsed = elapsed.clamp(0.0, 1.0);
    let recent = current as f64 + previous as f64 * (1.0 - elapsed);
    let n = baseline.len() as f64;
    let mean = baseline.iter().sum::<i64>() as f64 / n;
    let variance = baseline
        .iter()
        .map(|&c| (c as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    let spread = variance.sqrt().max(mean.sqrt()).max(1.0);
    ((recent - mean) / spread * 10.0).round() / 10.0
}

/// The per-slot counts a burst score needs, from a merged series: `(baseline, previous,
/// current)` for the slot starting at `current_slot` (missing slots are zeros).
pub fn slots_for_score(points: &[(i64, i64)], current_slot: i64) -> (Vec<i64>, i64, i64) {
    let at = |t: i64| {
        points
            .iter()
            .filter(|(s, _)| *s == t)
            .map(|(_, c)| *c)
            .sum::<i64>()
    };
    let baseline = (2..2 + BASELINE_SLOTS as i64)
        .rev()
        .map(|k| at(current_slot - k * SLOT_MILLIS))
        .collect();
    (baseline, at(current_slot - SLOT_MILLIS), at(current_slot))
}

/// Computed results shared for a time to live, keyed by the request's parameters: one
/// computation per key per interval, however many clients and requests ask.
pub struct TrendsCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, Arc<V>)>>,
}

impl<K: std::hash::Hash + Eq + Clone, V> TrendsCache<K, V> {
    /// A cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        TrendsCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The entry for `key` if it is younger than the time to live.
    pub fn get(&self, key: &K) -> Option<Arc<V>> {
        let entries = self.entries.lock().expect("trends cache poisoned");
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    /// Stores `value` for `key` (and drops expired entries).
    pub fn put(&self, key: K, value: V) -> Arc<V> {
        let value = Arc::new(value);
        let mut entries = self.entries.lock().expect("trends cache poisoned");
        entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
        entries.insert(key, (Instant::now(), value.clone()));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_tag_scores_about_zero_and_a_fifty_fold_rise_scores_high() {
        let flat = [20; BASELINE_SLOTS];
        assert_eq!(burst_score(&flat, 20, 10, 0.5), 0.0, "on its usual pace");
        let score = burst_score(&flat, 20, 500, 0.5);
        assert!(score > 50.0, "{score}");
        assert!(
            burst_score(&flat, 20, 500, 0.5) > burst_score(&flat, 20, 100, 0.5),
            "more is more"
        );
    }

    #[test]
    fn tiny_baselines_do_not_make_bursts_of_a_few_posts() {
        let quiet = [0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0];
        assert!(burst_score(&quiet, 0, 3, 0.9) < BURST_THRESHOLD + 0.01);
        assert!(burst_score(&quiet, 2, 30, 0.9) > BURST_THRESHOLD);
        assert_eq!(burst_score(&[], 5, 5, 0.5), 0.0);
    }

    #[test]
    fn noisy_baselines_need_a_bigger_rise() {
        let noisy = [5, 60, 10, 55, 0, 40, 8, 70, 12, 50, 3, 65];
        let calm = [31; 12];
        assert!(burst_score(&noisy, 60, 60, 0.5) < burst_score(&calm, 60, 60, 0.5));
    }

    #[test]
    fn slots_are_picked_by_time_with_zeros_for_gaps() {
        let now = 100 * SLOT_MILLIS;
        let points = vec![
            (now, 7),
            (now - SLOT_MILLIS, 3),
            (now - 2 * SLOT_MILLIS, 1),
            (now - 13 * SLOT_MILLIS, 9),
            (now - 14 * SLOT_MILLIS, 1000),
        ];
        let (baseline, previous, current) = slots_for_score(&points, now);
        assert_eq!((previous, current), (3, 7));
        assert_eq!(baseline.len(), BASELINE_SLOTS);
        assert_eq!(baseline[0], 9, "oldest first: the slot 13 before");
        assert_eq!(baseline[BASELINE_SLOTS - 1], 1, "the slot 2 before");
        assert_eq!(
            baseline.iter().sum::<i64>(),
            10,
            "the slot 14 before is outside"
        );
    }

    #[test]
    fn the_cache_shares_one_value_until_it_expires() {
        let cache: TrendsCache<u32, String> = TrendsCache::new(Duration::from_millis(50));
        assert!(cache.get(&1).is_none());
        let v = cache.put(1, "a".into());
        assert!(Arc::ptr_eq(&v, &cache.get(&1).unwrap()));
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get(&1).is_none());
    }
}
