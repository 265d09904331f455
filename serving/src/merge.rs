//! The merge: `batch[active] + speed[active]`, per slot and per hashtag.

use model::{SLOT_MILLIS, SlotStart};
use ports::{ActivePair, BatchTable, HashtagCount, PortError, SlotCount, ViewStore, ViewTable};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One merged point of a series. (The answer around it gives its range in RFC 3339; a point
/// has the slot start in epoch milliseconds only, which keeps a 10,000-point page small.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SeriesPoint {
    /// Slot (or bucket) start, epoch milliseconds.
    pub t: i64,
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
            count: batch + speed,
            batch,
            speed,
        }
    }
}

/// Key of a batch half: the epoch (which fixes the table's content), the table, the hashtag
/// and the range of slot starts.
type BatchKey = (u64, BatchTable, String, i64, i64);

/// A batch half: (slot start, count) in time order.
type BatchHalf = Arc<[(i64, i64)]>;

/// The batch halves of series answers, bounded by their number of points. Correct without any
/// invalidation: a batch table is only written while it is not active (a recompute fills the
/// inactive one, then flips), and every flip or rollback makes a new epoch, which is in the key.
pub struct BatchSeriesCache {
    cache: Option<quick_cache::sync::Cache<BatchKey, BatchHalf, PointsWeighter>>,
}

/// Weighs a batch half by its points (an empty one still costs a unit).
#[derive(Clone)]
struct PointsWeighter;

impl quick_cache::Weighter<BatchKey, BatchHalf> for PointsWeighter {
    fn weight(&self, _key: &BatchKey, points: &BatchHalf) -> u64 {
        points.len() as u64 + 1
    }
}

impl BatchSeriesCache {
    /// A cache of at most `points` points (0: no cache).
    pub fn new(points: u64) -> Self {
        let cache = (points > 0).then(|| {
            let entries = (points / 64).clamp(16, 1_000_000) as usize;
            quick_cache::sync::Cache::with_weighter(entries, points, PointsWeighter)
        });
        BatchSeriesCache { cache }
    }

    /// The batch half of `hashtag` over `from..=to` in `pair`: cached, or read with the speed
    /// half (returned too, then) in one go.
    async fn batch_half(
        &self,
        views: &dyn ViewStore,
        pair: &ActivePair,
        hashtag: &str,
        from: SlotStart,
        to: SlotStart,
    ) -> Result<(BatchHalf, Option<Vec<SlotCount>>), PortError> {
        let key = (pair.epoch.0, pair.batch, hashtag.to_string(), from.0, to.0);
        if let Some(hit) = self.cache.as_ref().and_then(|c| c.get(&key)) {
            metrics::counter!("lambda_serving_series_cache_hits_total").increment(1);
            return Ok((hit, None));
        }
        let [b, s] = views
            .read_series_pair(
                [ViewTable::Batch(pair.batch), ViewTable::Speed(pair.speed)],
                hashtag,
                from,
                to,
            )
            .await?;
        let points: Arc<[(i64, i64)]> =
            sorted(b).into_iter().map(|c| (c.slot.0, c.count)).collect();
        if let Some(c) = &self.cache {
            metrics::counter!("lambda_serving_series_cache_misses_total").increment(1);
            c.insert(key, points.clone());
        }
        Ok((points, Some(s)))
    }
}

fn sorted(mut cells: Vec<SlotCount>) -> Vec<SlotCount> {
    if !cells.is_sorted_by_key(|c| c.slot) {
        cells.sort_by_key(|c| c.slot);
    }
    cells
}

/// A hashtag's merged series over `from..=to` (slot starts), from one pair.
pub async fn series(
    views: &dyn ViewStore,
    pair: &ActivePair,
    hashtag: &str,
    from: SlotStart,
    to: SlotStart,
) -> Result<Vec<SeriesPoint>, PortError> {
    series_cached(views, pair, hashtag, from, to, &BatchSeriesCache::new(0)).await
}

/// [`series`] with the batch half from `cache` when it holds it; the speed half is always read.
pub async fn series_cached(
    views: &dyn ViewStore,
    pair: &ActivePair,
    hashtag: &str,
    from: SlotStart,
    to: SlotStart,
    cache: &BatchSeriesCache,
) -> Result<Vec<SeriesPoint>, PortError> {
    let (b, s) = cache.batch_half(views, pair, hashtag, from, to).await?;
    let s = match s {
        Some(s) => s,
        None => {
            views
                .read_series(ViewTable::Speed(pair.speed), hashtag, from, to)
                .await?
        }
    };
    let s = sorted(s);
    // Both halves in time order: one pass.
    let mut points = Vec::with_capacity(b.len().max(s.len()));
    let (mut b, mut s) = (b.iter().copied().peekable(), s.into_iter().peekable());
    loop {
        let t = match (b.peek(), s.peek()) {
            (Some(x), Some(y)) => x.0.min(y.slot.0),
            (Some(x), None) => x.0,
            (None, Some(y)) => y.slot.0,
            (None, None) => break,
        };
        let mut batch = 0;
        while let Some((_, c)) = b.next_if(|c| c.0 == t) {
            batch += c;
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
