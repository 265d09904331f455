//! Comparing two pairs (the shadow pair a `--shadow` recompute left, and the active one): the
//! merged count (batch + speed) of every view cell, per view, key and slot.

use crate::BatchError;
use model::view::{display_key, split_key};
use model::{SlotStart, ViewSet};
use ports::{ActivePair, Backends, ViewTable};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One key whose merged counts differ between the pairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyDiff {
    /// The view.
    pub view: String,
    /// The cell key, for people (`by_lang / en / rust`).
    pub key: String,
    /// Total in the active pair over the range.
    pub active: i64,
    /// Total in the shadow pair over the range.
    pub shadow: i64,
    /// The slots whose counts differ: `(slot start, active, shadow)`.
    pub slots: Vec<(SlotStart, i64, i64)>,
}

/// Per view: how the two pairs compare.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ViewSummary {
    /// In the active pair's view set.
    pub in_active: bool,
    /// In the shadow pair's view set.
    pub in_shadow: bool,
    /// Keys with a count in either pair.
    pub keys: usize,
    /// Keys whose totals are equal.
    pub equal: usize,
    /// Keys whose totals differ (in both pairs).
    pub changed: usize,
    /// Keys only in the active pair.
    pub only_active: usize,
    /// Keys only in the shadow pair.
    pub only_shadow: usize,
    /// Sum of the active pair's counts.
    pub total_active: i64,
    /// Sum of the shadow pair's counts.
    pub total_shadow: i64,
}

/// The comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairDiff {
    /// First slot compared.
    pub from: SlotStart,
    /// Last slot compared.
    pub to: SlotStart,
    /// Epoch of the active pair.
    pub active_epoch: u64,
    /// Epoch the shadow pair will have.
    pub shadow_epoch: u64,
    /// Per view name.
    pub views: BTreeMap<String, ViewSummary>,
    /// The differing keys with the largest differences, at most the limit asked for, with
    /// their per-slot differences.
    pub differences: Vec<KeyDiff>,
}

impl PairDiff {
    /// Whether the pairs hold the same counts for every key of every view.
    pub fn is_equal(&self) -> bool {
        self.views
            .values()
            .all(|v| v.changed == 0 && v.only_active == 0 && v.only_shadow == 0)
    }
}

async fn totals(
    backends: &Backends,
    pair: &ActivePair,
    from: SlotStart,
    to: SlotStart,
) -> Result<BTreeMap<String, i64>, BatchError> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for table in [ViewTable::Batch(pair.batch), ViewTable::Speed(pair.speed)] {
        for c in backends.views.hashtag_totals(table, from, to).await? {
            *out.entry(c.hashtag).or_default() += c.count;
        }
    }
    out.retain(|_, c| *c != 0);
    Ok(out)
}

async fn series(
    backends: &Backends,
    pair: &ActivePair,
    key: &str,
    from: SlotStart,
    to: SlotStart,
) -> Result<BTreeMap<SlotStart, i64>, BatchError> {
    let mut out: BTreeMap<SlotStart, i64> = BTreeMap::new();
    for table in [ViewTable::Batch(pair.batch), ViewTable::Speed(pair.speed)] {
        for c in backends.views.read_series(table, key, from, to).await? {
            *out.entry(c.slot).or_default() += c.count;
        }
    }
    Ok(out)
}

/// Compares the merged counts of `active` and `shadow` over slots `from..=to`; the `limit` keys
/// with the largest differences get their per-slot differences.
pub async fn diff_pairs(
    backends: &Backends,
    active: &ActivePair,
    shadow: &ActivePair,
    from: SlotStart,
    to: SlotStart,
    limit: usize,
) -> Result<PairDiff, BatchError> {
    let a = totals(backends, active, from, to).await?;
    let s = totals(backends, shadow, from, to).await?;
    let mut views: BTreeMap<String, ViewSummary> = BTreeMap::new();
    let mark = |views: &mut BTreeMap<String, ViewSummary>, set: &ViewSet, shadow_side: bool| {
        for v in &set.views {
            let e = views.entry(v.name.clone()).or_default();
            if shadow_side {
                e.in_shadow = true;
            } else {
                e.in_active = true;
            }
        }
    };
    mark(&mut views, &active.views, false);
    mark(&mut views, &shadow.views, true);
    let view_of = |key: &str| -> String { split_key(key).0.to_string() };
    let keys: BTreeSet<&String> = a.keys().chain(s.keys()).collect();
    let mut changed: Vec<(i64, &String)> = Vec::new();
    for key in keys {
        let (ca, cs) = (
            a.get(key).copied().unwrap_or(0),
            s.get(key).copied().unwrap_or(0),
        );
        let v = views.entry(view_of(key)).or_default();
        v.keys += 1;
        v.total_active += ca;
        v.total_shadow += cs;
        match (a.contains_key(key), s.contains_key(key)) {
            (true, false) => v.only_active += 1,
            (false, true) => v.only_shadow += 1,
            _ if ca == cs => v.equal += 1,
            _ => v.changed += 1,
        }
        if ca != cs {
            changed.push(((ca - cs).abs(), key));
        }
    }
    changed.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1.cmp(y.1)));
    let mut differences = Vec::new();
    for (_, key) in changed.into_iter().take(limit) {
        let sa = series(backends, active, key, from, to).await?;
        let ss = series(backends, shadow, key, from, to).await?;
        let slots: BTreeSet<SlotStart> = sa.keys().chain(ss.keys()).copied().collect();
        let slots = slots
            .into_iter()
            .filter_map(|slot| {
                let (x, y) = (
                    sa.get(&slot).copied().unwrap_or(0),
                    ss.get(&slot).copied().unwrap_or(0),
                );
                (x != y).then_some((slot, x, y))
            })
            .collect();
        differences.push(KeyDiff {
            view: view_of(key),
            key: display_key(key),
            active: a.get(key).copied().unwrap_or(0),
            shadow: s.get(key).copied().unwrap_or(0),
            slots,
        });
    }
    Ok(PairDiff {
        from,
        to,
        active_epoch: active.epoch.0,
        shadow_epoch: shadow.epoch.0,
        views,
        differences,
    })
}
