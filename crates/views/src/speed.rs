//! The views lowered for the speed layer: an aggregator of increments per (cell key, bucket).

use model::{Post, SlotStart, ViewSet};
use std::collections::HashMap;

/// Sums increments per (hashtag key, slot) between two flushes.
#[derive(Debug, Default, Clone)]
pub struct SlotAggregator {
    counts: HashMap<(String, SlotStart), i64>,
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
                    *self.counts.entry((key.clone(), slot)).or_default() += 1;
                }
            } else {
                for key in keys {
                    *self.counts.entry(view.cell(post, key)).or_default() += 1;
                }
            }
        }
        self.posts += 1;
        added
    }

    /// Counts one post whose keys and slot are already known (the thesis view alone).
    pub fn add_keys(&mut self, keys: &[String], slot: SlotStart) {
        for key in keys {
            *self.counts.entry((key.clone(), slot)).or_default() += 1;
        }
        self.posts += 1;
    }

    /// Adds everything another aggregator holds.
    pub fn merge(&mut self, other: &SlotAggregator) {
        for (k, v) in &other.counts {
            *self.counts.entry(k.clone()).or_default() += v;
        }
        self.posts += other.posts;
    }

    /// Number of distinct (hashtag, slot) cells held.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
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
            .map(|((h, s), c)| (h.clone(), *s, *c))
            .collect();
        out.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        out
    }

    /// Empties the aggregator.
    pub fn clear(&mut self) {
        self.counts.clear();
        self.posts = 0;
    }
}
