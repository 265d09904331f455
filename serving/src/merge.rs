//! The merge: `batch[active] + speed[active]`, per slot and per hashtag.

use model::{SLOT_MILLIS, SlotStart};
use ports::{ActivePair, HashtagCount, PortError, ViewStore, ViewTable};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One merged point of a series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SeriesPoint {
    /// Slot start, epoch milliseconds.
    pub t: i64,
    /// Slot start, RFC 3339.
    pub slot: String,
    /// Merged count.
    pub count: i64,
    /// The batch table's part.
    pub batch: i64,
    /// The speed table's part.
    pub speed: i64,
}

impl SeriesPoint {
    /// The point of slot (or bucket) `t` made of a batch part and a speed part.
    pub fn new(t: i64, batch: i64, speed: i64) -> Self {
        SeriesPoint {
            t,
            slot: SlotStart(t).to_rfc3339(),
            count: batch + speed,
            batch,
            speed,
        }
    }
}

/// A hashtag's merged series over `from..=to` (slot starts), from one pair.
pub async fn series(
    views: &dyn ViewStore,
    pair: &ActivePair,
    hashtag: &str,
    from: SlotStart,
    to: SlotStart,
) -> Result<Vec<SeriesPoint>, PortError> {
    let [mut b, mut s] = views
        .read_series_pair(
            [ViewTable::Batch(pair.batch), ViewTable::Speed(pair.speed)],
            hashtag,
            from,
            to,
        )
        .await?;
    // Both halves come in time order (sorted here if a store did not keep it): one pass.
    for half in [&mut b, &mut s] {
        if !half.is_sorted_by_key(|c| c.slot) {
            half.sort_by_key(|c| c.slot);
        }
    }
    let mut points = Vec::with_capacity(b.len().max(s.len()));
    let (mut b, mut s) = (b.into_iter().peekable(), s.into_iter().peekable());
    loop {
        let t = match (b.peek(), s.peek()) {
            (Some(x), Some(y)) => x.slot.0.min(y.slot.0),
            (Some(x), None) => x.slot.0,
            (None, Some(y)) => y.slot.0,
            (None, None) => break,
        };
        let mut batch = 0;
        while let Some(c) = b.next_if(|c| c.slot.0 == t) {
            batch += c.count;
        }
        let mut speed = 0;
        while let Some(c) = s.next_if(|c| c.slot.0 == t) {
            speed += c.count;
        }
        points.push(SeriesPoint::new(t, batch, speed));
    }
    Ok(points)
}

/// Sums slot points into buckets of `step_ms` aligned to the epoch (UTC); a step of one slot
/// returns the points as they are.
pub fn bucket(points: Vec<SeriesPoint>, step_ms: i64) -> Vec<SeriesPoint> {
    if step_ms <= SLOT_MILLIS {
        return points;
    }
    let mut buckets: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for p in points {
        let b = buckets
            .entry(p.t.div_euclid(step_ms) * step_ms)
            .or_default();
        b.0 += p.batch;
        b.1 += p.speed;
    }
    buckets
        .into_iter()
        .map(|(t, (batch, speed))| SeriesPoint::new(t, batch, speed))
        .collect()
}

/// The top `limit` hashtags by merged count over the `minutes` up to and including the slot of
/// `now_ms`, from one pair. Ties are broken by hashtag, so the order is stable.
///
/// `scope` is a cell-key prefix: empty for the thesis view (bare hashtags; other views' cells
/// are skipped), or a view's prefix with dimension values (`by_lang␟en␟`), whose keys are
/// returned without it.
pub async fn trending(
    views: &dyn ViewStore,
    pair: &ActivePair,
    now_ms: i64,
    minutes: u32,
    limit: usize,
    scope: &str,
) -> Result<Vec<HashtagCount>, PortError> {
    let to = SlotStart::containing(now_ms);
    let slots = ((i64::from(minutes) * 60_000 + SLOT_MILLIS - 1) / SLOT_MILLIS).max(1);
    let from = to.minus(slots - 1);
    let (b, s) = tokio::try_join!(
        views.hashtag_totals(ViewTable::Batch(pair.batch), from, to),
        views.hashtag_totals(ViewTable::Speed(pair.speed), from, to),
    )?;
    let mut sums: HashMap<String, i64> = HashMap::new();
    for c in b.into_iter().chain(s) {
        let key = if scope.is_empty() {
            if !model::view::is_thesis_key(&c.hashtag) {
                continue;
            }
            c.hashtag
        } else {
            match c.hashtag.strip_prefix(scope) {
                Some(tag) if model::view::is_thesis_key(tag) => tag.to_string(),
                _ => continue,
            }
        };
        *sums.entry(key).or_default() += c.count;
    }
    let mut all: Vec<HashtagCount> = sums
        .into_iter()
        .filter(|(_, c)| *c > 0)
        .map(|(hashtag, count)| HashtagCount { hashtag, count })
        .collect();
    all.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.hashtag.cmp(&b.hashtag))
    });
    all.truncate(limit);
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_sum_slots_and_keep_the_parts() {
        let point = SeriesPoint::new;
        let hour = 3_600_000;
        let pts = vec![
            point(0, 1, 0),
            point(SLOT_MILLIS, 2, 3),
            point(hour, 0, 4),
            point(hour + 11 * SLOT_MILLIS, 1, 1),
        ];
        assert_eq!(bucket(pts.clone(), SLOT_MILLIS), pts);
        assert_eq!(bucket(pts, hour), vec![point(0, 3, 3), point(hour, 1, 5)]);
    }
}
