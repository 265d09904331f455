//! Replay marks: how the speed layer knows which records it may be counting a second time.
//!
//! Counter increments are not idempotent, and a worker writes a window's increments before it
//! commits the window's offsets; a crash in between makes the next owner of the partition read
//! those records again and add them again. Before writing a window's increments the worker
//! records, per partition, the offset the window ends at (`/lambda-trends/speed-marks/<group>/<p>`
//! in the coordinator). A worker that is assigned a partition whose mark is past the committed
//! offset knows the records in between may already be counted, and counts each one it reads
//! again in `lambda_speed_replayed_events_total`. That is an upper bound of the overcount (equal
//! to it when the crash came after the increments were written; a crash between the mark and the
//! write counts records that were never added), and the next recompute removes the overcount.

use ports::protocol::ROOT;
use ports::{Coordinator, PortError};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Conflicting writes of one mark tolerated before giving up (each means another worker wrote
/// it meanwhile, which only a rebalance does).
const MAX_CONFLICTS: usize = 5;

/// The replay marks of one consumer group's partitions, as one worker sees them.
pub struct ReplayMarks {
    coordinator: Arc<dyn Coordinator>,
    group: String,
    /// Per partition: the mark's version when this worker last read or wrote it, and its offset.
    known: Mutex<BTreeMap<u32, (Option<u64>, u64)>>,
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

    /// Reads a partition's mark (on assignment): the offset its last window ended at, if any.
    pub async fn load(&self, partition: u32) -> Result<Option<u64>, PortError> {
        let current = self.coordinator.get(&self.path(partition)).await?;
        let (version, offset) = match current {
            Some(v) => (Some(v.version), parse(&v.data)),
            None => (None, None),
        };
        self.known()
            .insert(partition, (version, offset.unwrap_or_default()));
        Ok(offset)
    }

    /// Records that a window's increments for `partition` end at `offset`, before they are
    /// written. Skipped when the mark is already there.
    pub async fn mark(&self, partition: u32, offset: u64) -> Result<(), PortError> {
        let path = self.path(partition);
        let known = self.known().get(&partition).copied();
        let (mut expected, known_offset) = match known {
            Some(k) => k,
            None => (
                self.coordinator.get(&path).await?.map(|v| v.version),
                u64::MAX,
            ),
        };
        if known_offset == offset && expected.is_some() {
            return Ok(());
        }
        let data = offset.to_string().into_bytes();
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
        self.known().insert(partition, (Some(version), offset));
        Ok(())
    }

    /// Forgets a partition this worker no longer owns.
    pub fn release(&self, partition: u32) {
        self.known().remove(&partition);
    }

    fn known(&self) -> std::sync::MutexGuard<'_, BTreeMap<u32, (Option<u64>, u64)>> {
        self.known.lock().expect("replay marks poisoned")
    }
}

fn parse(data: &[u8]) -> Option<u64> {
    std::str::from_utf8(data).ok()?.trim().parse().ok()
}
