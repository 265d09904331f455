//! Replay marks: how the speed layer knows which records it counts a second time.
//!
//! Counter increments are not idempotent, and a worker writes a window's increments before it
//! commits the window's offsets; a crash in between makes the next owner of the partition read
//! those records again and add them again. So every window leaves marks per partition in the
//! coordinator (`/lambda-trends/speed-marks/<group>/<p>`, a small JSON [`Mark`]):
//!
//! - before its increments are written, the window's offset range goes on the mark's list of
//!   writes *in progress*;
//! - once they are all written (and before the offsets are committed), the mark's *done* moves to
//!   the window's end and the list is trimmed to what lies past it.
//!
//! So a record below `done` was counted by a write that completed, and a record inside a range
//! still listed was counted by a write that a crash interrupted, which may have landed in part (a
//! Cassandra counter batch is not atomic, so no client can know). A worker assigned a partition
//! reads its mark and, when *its own* write of a re-read record has landed, reports it:
//!
//! - once in `lambda_speed_replayed_events_total` if it lies below `done` (what it added to each
//!   speed table in `lambda_speed_replayed_counts_total{table}`): surely counted twice;
//! - once per listed range holding it in `lambda_speed_maybe_replayed_events_total` (and
//!   `…_maybe_replayed_counts_total{table}`): counted twice if that interrupted write landed.
//!
//! Summed over every worker, `replayed ≤ overcount ≤ replayed + maybe_replayed`, with equality
//! whenever no crash hit a write in progress. Reports are also logged (one line per table, written
//! before the mark that makes them count), so a test that kills workers can still add them up.
//! The next recompute removes the overcount either way.

use futures::future::try_join_all;
use ports::protocol::ROOT;
use ports::retry::retry_until_shutdown;
use ports::{Coordinator, PortError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Conflicting writes of one mark tolerated before giving up (each means another worker wrote
/// it meanwhile, which only a rebalance does).
const MAX_CONFLICTS: usize = 5;

/// One partition's mark.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Mark {
    /// Every record below this offset was counted by a write that completed.
    pub done: u64,
    /// Offset ranges `[from, to)` whose write started and did not complete (as far as anyone
    /// knows): one entry per interrupted write, so a range can be listed more than once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writing: Vec<(u64, u64)>,
}

impl Mark {
    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a mark serializes")
    }

    /// The JSON form; a lone number (the single mark of 0.1: a window's end, written before its
    /// increments) is read as a write in progress from offset 0.
    fn decode(data: &[u8]) -> Option<Mark> {
        if let Ok(mark) = serde_json::from_slice(data) {
            return Some(mark);
        }
        let end: u64 = std::str::from_utf8(data).ok()?.trim().parse().ok()?;
        Some(Mark {
            done: 0,
            writing: vec![(0, end)],
        })
    }

    /// Whether a record at `offset` or later may have been counted: the end of what the mark
    /// says about the partition.
    pub fn until(&self) -> u64 {
        self.writing.iter().map(|w| w.1).fold(self.done, u64::max)
    }

    /// How a re-read record at `offset` was counted before.
    pub fn classify(&self, offset: u64) -> Seen {
        Seen {
            surely: offset < self.done,
            maybe: self
                .writing
                .iter()
                .filter(|(from, to)| (*from..*to).contains(&offset))
                .count() as u64,
        }
    }

    /// The mark once the write of `[from, to)` has started.
    fn writing(&self, from: u64, to: u64) -> Mark {
        let mut next = self.clone();
        next.writing.push((from, to));
        next
    }

    /// The mark once the write ending at `end` has completed: everything below it is counted,
    /// and only what interrupted writes left past it stays listed.
    fn written(&self, end: u64) -> Mark {
        Mark {
            done: self.done.max(end),
            writing: self
                .writing
                .iter()
                .filter(|(_, to)| *to > end)
                .map(|(from, to)| ((*from).max(end), *to))
                .collect(),
        }
    }
}

/// How a re-read record was counted before this read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Seen {
    /// By a write that completed.
    pub surely: bool,
    /// By this many interrupted writes, each of which may have landed.
    pub maybe: u64,
}

impl Seen {
    /// Counted by nobody that anyone knows of.
    pub fn is_new(&self) -> bool {
        !self.surely && self.maybe == 0
    }
}

/// What a window re-counts, reported when its write has landed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records surely counted before.
    pub events: u64,
    /// Records maybe counted before, once per interrupted write.
    pub maybe_events: u64,
    /// Per speed table: the increments those records add again (sure, maybe).
    pub counts: [(u64, u64); 2],
}

impl Tally {
    /// Notes a re-read record.
    pub fn record(&mut self, seen: Seen) {
        self.events += u64::from(seen.surely);
        self.maybe_events += seen.maybe;
    }

    /// Notes the increments a re-read record adds to speed table `table`.
    pub fn add(&mut self, table: usize, seen: Seen, added: u64) {
        if seen.surely {
            self.counts[table].0 += added;
        }
        self.counts[table].1 += added * seen.maybe;
    }

    /// Whether there is nothing to report.
    pub fn is_empty(&self) -> bool {
        *self == Tally::default()
    }
}

/// The two stages of a window's write that leave a mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Before the increments are written.
    Writing,
    /// After they are all written, before the offsets are committed.
    Written,
}

/// The replay marks of one consumer group's partitions, as one worker sees them.
pub struct ReplayMarks {
    coordinator: Arc<dyn Coordinator>,
    group: String,
    /// Per partition: the mark's version when this worker last read or wrote it, and its value.
    known: Mutex<BTreeMap<u32, (Option<u64>, Mark)>>,
}

impl ReplayMarks {
    /// The marks of `group`.
    pub fn new(coordinator: Arc<dyn Coordinator>, group: &str) -> Self {
        ReplayMarks {
            coordinator,
            group: group.to_string(),
            known: Mutex::new(BTreeMap::new()),
        }
    }

    fn path(&self, partition: u32) -> String {
        format!("{ROOT}/speed-marks/{}/{partition}", self.group)
    }

    /// Reads a partition's mark (on assignment), if it has one.
    pub async fn load(&self, partition: u32) -> Result<Option<Mark>, PortError> {
        let current = self.coordinator.get(&self.path(partition)).await?;
        let (version, mark) = match current {
            Some(v) => (Some(v.version), Mark::decode(&v.data)),
            None => (None, None),
        };
        self.known()
            .insert(partition, (version, mark.clone().unwrap_or_default()));
        Ok(mark)
    }

    /// Records `stage` of the window `[from, to)` of every partition in `windows`,
    /// concurrently, retrying through coordinator outages.
    pub async fn record(
        &self,
        stage: Stage,
        windows: &BTreeMap<u32, (u64, u64)>,
        shutdown: &CancellationToken,
    ) -> Result<(), PortError> {
        try_join_all(windows.iter().map(|(&p, &(from, to))| {
            retry_until_shutdown("replay mark", shutdown, move || {
                self.set(p, stage, from, to)
            })
        }))
        .await?;
        Ok(())
    }

    async fn set(&self, partition: u32, stage: Stage, from: u64, to: u64) -> Result<(), PortError> {
        let path = self.path(partition);
        let known = self.known().get(&partition).cloned();
        let (mut expected, old) = match known {
            Some(k) => k,
            None => {
                let current = self.coordinator.get(&path).await?;
                let mark = current.as_ref().and_then(|v| Mark::decode(&v.data));
                (current.map(|v| v.version), mark.unwrap_or_default())
            }
        };
        let new = match stage {
            Stage::Writing => old.writing(from, to),
            Stage::Written => old.written(to),
        };
        if new == old && expected.is_some() {
            return Ok(());
        }
        let data = new.encode();
        let mut conflicts = 0;
        let version = loop {
            match self
                .coordinator
                .compare_and_set(&path, &data, expected)
                .await
            {
                Ok(v) => break v,
                // Another worker wrote it since (the partition moved and back): take its version.
                Err(PortError::Conflict(_)) if conflicts < MAX_CONFLICTS => {
                    conflicts += 1;
                    expected = self.coordinator.get(&path).await?.map(|v| v.version);
                }
                Err(e) => return Err(e),
            }
        };
        self.known().insert(partition, (Some(version), new));
        Ok(())
    }

    /// Forgets a partition this worker no longer owns.
    pub fn release(&self, partition: u32) {
        self.known().remove(&partition);
    }

    fn known(&self) -> std::sync::MutexGuard<'_, BTreeMap<u32, (Option<u64>, Mark)>> {
        self.known.lock().expect("replay marks poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_round_trip_and_read_the_old_format() {
        let m = Mark {
            done: 100,
            writing: vec![(100, 120)],
        };
        assert_eq!(Mark::decode(&m.encode()), Some(m));
        assert_eq!(
            Mark::decode(b"77"),
            Some(Mark {
                done: 0,
                writing: vec![(0, 77)]
            })
        );
        assert_eq!(Mark::decode(b"x 1"), None);
        assert_eq!(Mark::decode(b""), None);
    }

    #[test]
    fn a_write_in_progress_is_listed_until_a_later_write_completes_past_it() {
        let m = Mark::default().written(100);
        assert_eq!(m.until(), 100);
        // Two writes from the committed offset 80 interrupted, then one that completes to 110.
        let m = m.writing(80, 120).writing(80, 130);
        assert_eq!(m.until(), 130);
        assert_eq!(
            m.classify(90),
            Seen {
                surely: true,
                maybe: 2
            }
        );
        assert_eq!(
            m.classify(125),
            Seen {
                surely: false,
                maybe: 1
            }
        );
        assert!(m.classify(130).is_new());
        let m = m.writing(80, 110).written(110);
        assert_eq!(m.done, 110);
        assert_eq!(m.writing, vec![(110, 120), (110, 130)]);
        let m = m.writing(110, 140).written(140);
        assert_eq!(
            m,
            Mark {
                done: 140,
                writing: vec![]
            }
        );
    }

    #[test]
    fn a_tally_counts_each_interrupted_write_once() {
        let mut t = Tally::default();
        let seen = Seen {
            surely: true,
            maybe: 2,
        };
        t.record(seen);
        t.add(0, seen, 3);
        assert_eq!(t.events, 1);
        assert_eq!(t.maybe_events, 2);
        assert_eq!(t.counts, [(3, 6), (0, 0)]);
        assert!(!t.is_empty());
    }
}
