//! The views lowered for the speed layer: an aggregator of increments per (cell key, bucket).

use model::{Post, SlotStart, ViewSet};
use std::collections::HashMap;

/// Sums increments per (hashtag key, slot) between two flushes.
///
/// Kept per slot, then per key (a window spans few slots), so counting a cell that exists
/// already looks it up by `&str` and allocates nothing.
#[derive(Debug, Default, Clone)]
pub struct SlotAggregator {
    counts: HashMap<SlotStart, HashMap<String, i64>>,
    cells: usize,
    posts: u64,
}

impl SlotAggregator {
    /// An empty aggregator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one post. Returns how many hashtags it counted for.
    pub fn add(&mut self, post: &Post) -> usize {
        let slot = SlotStart::containing(post.timestamp);
        let keys = post.hashtag_keys();
        self.add_keys(&keys, slot);
        keys.len()
    }

    /// Counts one post, whose distinct hashtag keys are `keys`, in every live view of `views`
    /// ([`model::ViewDef::cell`]: the same cells the batch layer computes). Returns the sum of
    /// the increments it added (the post's keys times the live views).
    pub fn add_post(&mut self, views: &ViewSet, post: &Post, keys: &[String]) -> u64 {
        let mut added = 0;
        for view in views.live() {
            added += keys.len() as u64;
            if view.is_thesis() {
                let slot = SlotStart::containing(post.timestamp);
                for key in keys {
                    self.bump(key, slot, 1);
                }
            } else {
                for key in keys {
                    let (cell, slot) = view.cell(post, key);
                    self.bump_owned(cell, slot, 1);
                }
            }
        }
        self.posts += 1;
        added
    }

    /// Counts one post whose keys and slot are already known (the thesis view alone).
    pub fn add_keys(&mut self, keys: &[String], slot: SlotStart) {
        for key in keys {
            self.bump(key, slot, 1);
        }
        self.posts += 1;
    }

    /// Adds `n` to cell (`key`, `slot`); copies the key only for a new cell.
    fn bump(&mut self, key: &str, slot: SlotStart, n: i64) {
        let cells = self.counts.entry(slot).or_default();
        match cells.get_mut(key) {
            Some(count) => *count += n,
            None => {
                cells.insert(key.to_owned(), n);
                self.cells += 1;
            }
        }
    }

    /// [`SlotAggregator::bump`] with a key already owned.
    fn bump_owned(&mut self, key: String, slot: SlotStart, n: i64) {
        let count = self
            .counts
            .entry(slot)
            .or_default()
            .entry(key)
            .or_insert_with(|| {
                self.cells += 1;
                0
            });
        *count += n;
    }

    /// Adds everything another aggregator holds.
    pub fn merge(&mut self, other: &SlotAggregator) {
        for (&slot, cells) in &other.counts {
            for (key, &n) in cells {
                self.bump(key, slot, n);
            }
        }
        self.posts += other.posts;
    }

    /// Number of distinct (hashtag, slot) cells held.
    pub fn len(&self) -> usize {
        self.cells
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.cells == 0
    }

    /// Posts counted since the last drain.
    pub fn posts(&self) -> u64 {
        self.posts
    }

    /// The cells, sorted by slot then hashtag (the order writes are grouped in).
    pub fn cells(&self) -> Vec<(String, SlotStart, i64)> {
        let mut out: Vec<_> = self
            .counts
            .iter()
            .flat_map(|(&s, cells)| cells.iter().map(move |(h, &c)| (h.clone(), s, c)))
            .collect();
        out.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        out
    }

    /// Empties the aggregator.
    pub fn clear(&mut self) {
        self.counts.clear();
        self.cells = 0;
        self.posts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cells_are_summed_per_key_and_slot_and_listed_in_write_order() {
        let (a, b) = (SlotStart(0), SlotStart(300_000));
        let mut agg = SlotAggregator::new();
        assert!(agg.is_empty());
        agg.add_keys(&keys(&["rust", "go"]), b);
        agg.add_keys(&keys(&["rust"]), b);
        agg.add_keys(&keys(&["rust"]), a);
        assert_eq!((agg.len(), agg.posts()), (3, 3));
        assert_eq!(
            agg.cells(),
            vec![
                ("rust".to_string(), a, 1),
                ("go".to_string(), b, 1),
                ("rust".to_string(), b, 2),
            ]
        );
        let mut other = SlotAggregator::new();
        other.add_keys(&keys(&["go", "zig"]), b);
        agg.merge(&other);
        assert_eq!((agg.len(), agg.posts()), (4, 4));
        assert!(agg.cells().contains(&("go".to_string(), b, 2)));
        agg.clear();
        assert!(agg.is_empty());
        assert_eq!((agg.len(), agg.posts(), agg.cells().len()), (0, 0, 0));
    }
}
