//! The batch/speed protocol: which batch/speed table pair is active, how a speed table is reset
//! for a recompute, and the flip. Written once here, over any [`Coordinator`].
//!
//! Two documents hold the state:
//! - `/lambda-trends/active` ([`ActivePair`]): the pair serving reads, the cut, the view version.
//! - `/lambda-trends/speed` ([`SpeedState`]): per speed table, which offsets it admits
//!   ([`SpeedPhase`]), and the recompute in progress, if any.
//!
//! The steps (ARCHITECTURE.md, "The batch/speed protocol"):
//! 1. [`LambdaSwitch::begin_recompute`] marks the inactive speed table S' `Resetting`. Each speed
//!    worker, at its next commit boundary ([`LambdaSwitch::at_commit_boundary`]), stops writing to
//!    S' and acknowledges its partitions.
//! 2. When every partition has acknowledged, the recompute truncates S' and calls
//!    [`LambdaSwitch::mark_restarted`]; at their next boundary the workers record `start[p]`, the
//!    first offset they will count into S'.
//! 3. The batch job computes B' from exactly the records with `offset < start[p]`.
//! 4. [`LambdaSwitch::flip`] makes (B', S') active with `cut = start` in one compare-and-set.
//!
//! So batch ∪ speed holds every event exactly once before, during and after a flip.

use crate::{BatchTable, Coordinator, PortError, Result, SpeedTable, Versioned};
use chrono::{DateTime, Utc};
use model::ViewSet;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};
use tokio::sync::watch;

/// The view set of a table or pair that predates view sets: the thesis view alone.
static THESIS_ONLY: LazyLock<ViewSet> = LazyLock::new(ViewSet::default);

/// Root of the protocol documents.
pub const ROOT: &str = "/lambda-trends";
/// Path of the active pair document.
pub const ACTIVE_PATH: &str = "/lambda-trends/active";
/// Path of the speed-table state document.
pub const SPEED_PATH: &str = "/lambda-trends/speed";
/// Prefix of the flip history (the audit log).
pub const FLIPS_PREFIX: &str = "/lambda-trends/flips";
/// The lease of the recompute in progress: its owner renews it while it runs.
pub const LEASE_PATH: &str = "/lambda-trends/recompute-lease";

/// How many times a compare-and-set is retried after a lost race before giving up.
const CAS_ATTEMPTS: usize = 64;

/// A view generation: grows by one at every flip or rollback.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Epoch(pub u64);

/// Per-partition offsets: `partition -> offset`.
pub type Offsets = BTreeMap<u32, u64>;

/// The pair that serving reads, and how it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivePair {
    /// Generation of this pair.
    pub epoch: Epoch,
    /// The batch table: every record with `offset < cut[partition]`.
    pub batch: BatchTable,
    /// The speed table: every record at or after the cut.
    pub speed: SpeedTable,
    /// Per partition, the first offset not in the batch table. Empty: the batch table is empty.
    pub cut: Offsets,
    /// Version of the view definition the batch table was computed with.
    pub view_version: u32,
    /// The views the pair holds (the thesis view alone for pairs made before view sets).
    #[serde(default)]
    pub views: ViewSet,
    /// When the pair became active (absent for the initial pair).
    pub flipped_at: Option<DateTime<Utc>>,
    /// What a rollback returns to; cleared when a recompute starts resetting its speed table.
    pub previous: Option<Box<ActivePair>>,
}

impl Default for ActivePair {
    fn default() -> Self {
        ActivePair {
            epoch: Epoch(0),
            batch: BatchTable::A,
            speed: SpeedTable::Zero,
            cut: Offsets::new(),
            view_version: 0,
            views: ViewSet::default(),
            flipped_at: None,
            previous: None,
        }
    }
}

/// Which offsets a speed table admits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// Externally tagged: serde cannot read integer map keys back through an internally tagged enum.
#[serde(rename_all = "snake_case")]
pub enum SpeedPhase {
    /// Receives every record (the initial state of both tables).
    Live,
    /// Being reset for a recompute: receives nothing; `acked` lists the partitions whose worker
    /// has stopped writing to it.
    Resetting {
        /// Partitions acknowledged.
        acked: BTreeSet<u32>,
    },
    /// Reset and counting again: receives the records of partition `p` with
    /// `offset >= start[p]`, and nothing of a partition not yet in `start`.
    Restarted {
        /// First offset counted, per partition.
        start: Offsets,
    },
}

impl SpeedPhase {
    /// Whether a record of `partition` at `offset` is written to a table in this phase.
    pub fn admits(&self, partition: u32, offset: u64) -> bool {
        match self {
            SpeedPhase::Live => true,
            SpeedPhase::Resetting { .. } => false,
            SpeedPhase::Restarted { start } => start.get(&partition).is_some_and(|s| offset >= *s),
        }
    }
}

/// A recompute in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecomputeInfo {
    /// The epoch the flip will create.
    pub epoch: Epoch,
    /// The speed table being reset (S').
    pub speed: SpeedTable,
    /// The batch table being computed (B').
    pub batch: BatchTable,
    /// How many partitions must acknowledge.
    pub partitions: u32,
    /// Version of the view definition being computed.
    pub view_version: u32,
    /// The views being computed (the speed layer counts them into S' too).
    #[serde(default)]
    pub views: ViewSet,
    /// A shadow recompute: fills (B', S') and waits for `flip` instead of flipping.
    #[serde(default)]
    pub shadow: bool,
    /// Set when B' is written: the cut it was computed at. A shadow recompute waits here.
    #[serde(default)]
    pub batch_ready: Option<Offsets>,
    /// Who started it.
    #[serde(default)]
    pub actor: Option<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
}

impl RecomputeInfo {
    /// Whether `other` is the same run (not merely a recompute to the same epoch started again
    /// after this one was abandoned).
    pub fn same_run(&self, other: &RecomputeInfo) -> bool {
        self.epoch == other.epoch && self.started_at == other.started_at
    }

    /// The pair this recompute makes, at `cut`.
    pub fn pair(&self, cut: &Offsets) -> ActivePair {
        ActivePair {
            epoch: self.epoch,
            batch: self.batch,
            speed: self.speed,
            cut: cut.clone(),
            view_version: self.view_version,
            views: self.views.clone(),
            flipped_at: None,
            previous: None,
        }
    }
}

/// The lease of a recompute in progress (at [`LEASE_PATH`]): its owner renews it every few
/// seconds. A recompute whose lease has not been renewed for the lease timeout belongs to a
/// process that died; the next recompute takes it over ([`LambdaSwitch::take_over_stale`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecomputeLease {
    /// The run it belongs to: the recompute's epoch and start time.
    pub epoch: Epoch,
    /// When that recompute started.
    pub started_at: Option<DateTime<Utc>>,
    /// Who runs it.
    pub owner: String,
    /// When the owner last renewed it.
    pub renewed_at: Option<DateTime<Utc>>,
}

impl RecomputeLease {
    fn of(&self, info: &RecomputeInfo) -> bool {
        self.epoch == info.epoch && self.started_at == Some(info.started_at)
    }
}

/// The speed tables' phases and the recompute in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeedState {
    /// Phase of `speed_view_0`.
    pub speed_view_0: SpeedPhase,
    /// Phase of `speed_view_1`.
    pub speed_view_1: SpeedPhase,
    /// The recompute in progress, if any.
    pub recompute: Option<RecomputeInfo>,
    /// The views each speed table counts (absent: the thesis view alone). A recompute sets
    /// those of the table it resets, so S' is counted with the new definitions from its cut on.
    #[serde(default)]
    pub views: BTreeMap<SpeedTable, ViewSet>,
}

impl Default for SpeedState {
    fn default() -> Self {
        SpeedState {
            speed_view_0: SpeedPhase::Live,
            speed_view_1: SpeedPhase::Live,
            recompute: None,
            views: BTreeMap::new(),
        }
    }
}

impl SpeedState {
    /// The views `table` counts.
    pub fn views_of(&self, table: SpeedTable) -> &ViewSet {
        self.views.get(&table).unwrap_or(&THESIS_ONLY)
    }

    /// The phase of one table.
    pub fn phase(&self, table: SpeedTable) -> &SpeedPhase {
        match table {
            SpeedTable::Zero => &self.speed_view_0,
            SpeedTable::One => &self.speed_view_1,
        }
    }

    fn phase_mut(&mut self, table: SpeedTable) -> &mut SpeedPhase {
        match table {
            SpeedTable::Zero => &mut self.speed_view_0,
            SpeedTable::One => &mut self.speed_view_1,
        }
    }

    /// What a speed worker at a commit boundary records, given the next offset it will read per
    /// partition it owns: acknowledges a reset, records `start[p]` of a restarted table.
    /// Returns `None` when there is nothing to record.
    pub fn record_boundary(&self, positions: &Offsets) -> Option<SpeedState> {
        let mut next = self.clone();
        let mut changed = false;
        for table in SpeedTable::ALL {
            match next.phase_mut(table) {
                SpeedPhase::Live => {}
                SpeedPhase::Resetting { acked } => {
                    for p in positions.keys() {
                        changed |= acked.insert(*p);
                    }
                }
                SpeedPhase::Restarted { start } => {
                    for (p, pos) in positions {
                        if !start.contains_key(p) {
                            start.insert(*p, *pos);
                            changed = true;
                        }
                    }
                }
            }
        }
        changed.then_some(next)
    }
}

/// One entry of the flip history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlipRecord {
    /// `flip`, `rollback`, `shadow` (a shadow pair is ready, not active) or `abort` (a
    /// recompute was abandoned; `pair` is the active pair, unchanged).
    pub action: String,
    /// The pair made active (for `shadow`: the pair ready to be flipped to).
    pub pair: ActivePair,
    /// When (absent in records written before it was kept).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// Who did it (`user@host`, or the admin API).
    #[serde(default)]
    pub actor: Option<String>,
}

/// Where a recompute's handshake stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeProgress {
    /// Waiting for these partitions to acknowledge the reset.
    AwaitingAcks(Vec<u32>),
    /// Every partition acknowledged: truncate the table, then [`LambdaSwitch::mark_restarted`].
    Acked,
    /// Waiting for these partitions to record their start offset.
    AwaitingStarts(Vec<u32>),
    /// Every partition has a start offset: this is the cut.
    Started(Offsets),
}

/// The protocol over a [`Coordinator`]: typed reads, the worker boundary, the recompute steps,
/// flip and rollback.
#[derive(Clone)]
pub struct LambdaSwitch {
    coordinator: Arc<dyn Coordinator>,
    actor: String,
}

/// `user@host` of this process (`LT_ACTOR` overrides it), recorded in the history.
pub fn default_actor() -> String {
    if let Ok(a) = std::env::var("LT_ACTOR")
        && !a.trim().is_empty()
    {
        return a.trim().to_string();
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

impl LambdaSwitch {
    /// The protocol over `coordinator`, acting as [`default_actor`].
    pub fn new(coordinator: Arc<dyn Coordinator>) -> Self {
        LambdaSwitch {
            coordinator,
            actor: default_actor(),
        }
    }

    /// The same, recording `actor` as who acts in the history.
    pub fn acting_as(mut self, actor: impl Into<String>) -> Self {
        self.actor = actor.into();
        self
    }

    /// The coordinator underneath.
    pub fn coordinator(&self) -> &Arc<dyn Coordinator> {
        &self.coordinator
    }

    async fn read<T: DeserializeOwned + Default>(&self, path: &str) -> Result<(T, Option<u64>)> {
        match self.coordinator.get(path).await? {
            None => Ok((T::default(), None)),
            Some(v) => Ok((decode(path, &v)?, Some(v.version))),
        }
    }

    /// Applies `change` to the document at `path` with compare-and-set, retrying lost races.
    /// `change` returns `Ok(None)` to leave the document as it is.
    async fn update<T, F>(&self, path: &str, mut change: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned + Default + Clone,
        F: FnMut(&T) -> Result<Option<T>>,
    {
        for _ in 0..CAS_ATTEMPTS {
            let (current, version) = self.read::<T>(path).await?;
            let Some(next) = change(&current)? else {
                return Ok(current);
            };
            let bytes = serde_json::to_vec(&next)
                .map_err(|e| PortError::Internal(format!("cannot encode {path}: {e}")))?;
            match self
                .coordinator
                .compare_and_set(path, &bytes, version)
                .await
            {
                Ok(_) => return Ok(next),
                Err(PortError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PortError::Conflict(format!(
            "{path} kept changing: {CAS_ATTEMPTS} compare-and-set attempts lost"
        )))
    }

    /// Writes the initial documents (the active pair and the speed state) where none exist yet,
    /// so operators see them in the coordinator before any component has run. Existing
    /// documents are left as they are; running it twice, or beside running components, is safe.
    pub async fn initialize(&self) -> Result<()> {
        self.initialize_document::<ActivePair>(ACTIVE_PATH).await?;
        self.initialize_document::<SpeedState>(SPEED_PATH).await
    }

    async fn initialize_document<T: Serialize + DeserializeOwned + Default>(
        &self,
        path: &str,
    ) -> Result<()> {
        if self.read::<T>(path).await?.1.is_some() {
            return Ok(());
        }
        let bytes = serde_json::to_vec(&T::default())
            .map_err(|e| PortError::Internal(format!("cannot encode {path}: {e}")))?;
        match self.coordinator.compare_and_set(path, &bytes, None).await {
            Ok(_) | Err(PortError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The active pair (the initial pair if none was ever flipped).
    pub async fn active(&self) -> Result<ActivePair> {
        Ok(self.read::<ActivePair>(ACTIVE_PATH).await?.0)
    }

    /// The speed tables' state.
    pub async fn speed_state(&self) -> Result<SpeedState> {
        Ok(self.read::<SpeedState>(SPEED_PATH).await?.0)
    }

    /// Watches the active pair: the receiver holds the current pair and sees every flip.
    pub async fn watch_active(&self) -> Result<watch::Receiver<ActivePair>> {
        let mut raw = self.coordinator.watch(ACTIVE_PATH).await?;
        let first = match &*raw.borrow_and_update() {
            None => ActivePair::default(),
            Some(v) => decode(ACTIVE_PATH, v)?,
        };
        let (tx, rx) = watch::channel(first);
        tokio::spawn(async move {
            while raw.changed().await.is_ok() {
                let next = match &*raw.borrow_and_update() {
                    None => Some(ActivePair::default()),
                    Some(v) => match decode::<ActivePair>(ACTIVE_PATH, v) {
                        Ok(p) => Some(p),
                        Err(error) => {
                            tracing::error!(%error, "Ignoring an unreadable active pair document.");
                            None
                        }
                    },
                };
                if let Some(p) = next
                    && tx.send(p).is_err()
                {
                    break;
                }
            }
        });
        Ok(rx)
    }

    /// A speed worker's commit boundary: everything before `positions[p]` has been written and
    /// committed. Records the acknowledgements and start offsets this worker owes, and returns
    /// the state to apply until the next boundary.
    pub async fn at_commit_boundary(&self, positions: &Offsets) -> Result<SpeedState> {
        self.update::<SpeedState, _>(SPEED_PATH, |s| Ok(s.record_boundary(positions)))
            .await
    }

    /// Step 1: starts a recompute of `views` over `partitions` partitions (`shadow`: it will
    /// stop before the flip). Marks the inactive speed table `Resetting`, to be counted with
    /// `views` from its restart, and clears the rollback target (its speed table is about to be
    /// reset). Fails with a conflict if a recompute is already in progress.
    pub async fn begin_recompute(
        &self,
        partitions: u32,
        views: &ViewSet,
        shadow: bool,
    ) -> Result<RecomputeInfo> {
        let active = self.active().await?;
        let info = RecomputeInfo {
            epoch: Epoch(active.epoch.0 + 1),
            speed: active.speed.other(),
            batch: active.batch.other(),
            partitions,
            view_version: views.version,
            views: views.clone(),
            shadow,
            batch_ready: None,
            actor: Some(self.actor.clone()),
            started_at: Utc::now(),
        };
        self.update::<SpeedState, _>(SPEED_PATH, |s| {
            if let Some(r) = &s.recompute {
                return Err(PortError::Conflict(if r.shadow && r.batch_ready.is_some() {
                    format!(
                        "a shadow pair for epoch {} is ready and waiting: flip to it (`lambda-trends flip`) or drop it (`lambda-trends recompute --abort`)",
                        r.epoch.0
                    )
                } else {
                    format!(
                        "a recompute to epoch {} started at {} is in progress (abort it with `lambda-trends recompute --abort`)",
                        r.epoch.0, r.started_at
                    )
                }));
            }
            let mut next = s.clone();
            *next.phase_mut(info.speed) = SpeedPhase::Resetting { acked: BTreeSet::new() };
            next.views.insert(info.speed, views.clone());
            next.recompute = Some(info.clone());
            Ok(Some(next))
        })
        .await?;
        let expect_epoch = active.epoch;
        self.update::<ActivePair, _>(ACTIVE_PATH, |a| {
            if a.epoch != expect_epoch {
                return Err(PortError::Conflict(format!(
                    "the active pair changed (epoch {} -> {}) while the recompute started",
                    expect_epoch.0, a.epoch.0
                )));
            }
            Ok(a.previous.is_some().then(|| ActivePair {
                previous: None,
                ..a.clone()
            }))
        })
        .await?;
        Ok(info)
    }

    /// Where the handshake of the recompute in progress stands.
    pub async fn handshake(&self) -> Result<HandshakeProgress> {
        let state = self.speed_state().await?;
        let info = state
            .recompute
            .as_ref()
            .ok_or_else(|| PortError::Invalid("no recompute is in progress".into()))?;
        let all = 0..info.partitions;
        Ok(match state.phase(info.speed) {
            SpeedPhase::Resetting { acked } => {
                let missing: Vec<u32> = all.filter(|p| !acked.contains(p)).collect();
                if missing.is_empty() {
                    HandshakeProgress::Acked
                } else {
                    HandshakeProgress::AwaitingAcks(missing)
                }
            }
            SpeedPhase::Restarted { start } => {
                let missing: Vec<u32> = all.filter(|p| !start.contains_key(p)).collect();
                if missing.is_empty() {
                    HandshakeProgress::Started(start.clone())
                } else {
                    HandshakeProgress::AwaitingStarts(missing)
                }
            }
            SpeedPhase::Live => {
                return Err(PortError::Internal(format!(
                    "{} is live during a recompute that resets it",
                    info.speed
                )));
            }
        })
    }

    /// Step 2: the reset table has been truncated after every partition acknowledged; workers
    /// may now record their start offsets.
    pub async fn mark_restarted(&self) -> Result<()> {
        self.update::<SpeedState, _>(SPEED_PATH, |s| {
            let info = s
                .recompute
                .as_ref()
                .ok_or_else(|| PortError::Invalid("no recompute is in progress".into()))?;
            match s.phase(info.speed) {
                SpeedPhase::Resetting { acked }
                    if (0..info.partitions).all(|p| acked.contains(&p)) =>
                {
                    let mut next = s.clone();
                    *next.phase_mut(info.speed) = SpeedPhase::Restarted {
                        start: Offsets::new(),
                    };
                    Ok(Some(next))
                }
                other => Err(PortError::Invalid(format!(
                    "{} cannot restart from {other:?}: not every partition acknowledged the reset",
                    info.speed
                ))),
            }
        })
        .await?;
        Ok(())
    }

    /// Step 4: makes (B', S') active with `cut`, ends the recompute, records the flip.
    pub async fn flip(&self, info: &RecomputeInfo, cut: &Offsets) -> Result<ActivePair> {
        if !self
            .speed_state()
            .await?
            .recompute
            .is_some_and(|r| r.same_run(info))
        {
            return Err(PortError::Conflict(format!(
                "the recompute to epoch {} started at {} is no longer in progress (aborted or taken over)",
                info.epoch.0, info.started_at
            )));
        }
        let expected_epoch = Epoch(info.epoch.0 - 1);
        let pair = self
            .update::<ActivePair, _>(ACTIVE_PATH, |a| {
                if a.epoch != expected_epoch {
                    return Err(PortError::Conflict(format!(
                        "the active pair moved to epoch {} during the recompute to epoch {}",
                        a.epoch.0, info.epoch.0
                    )));
                }
                let mut previous = a.clone();
                previous.previous = None;
                Ok(Some(ActivePair {
                    flipped_at: Some(Utc::now()),
                    previous: Some(Box::new(previous)),
                    ..info.pair(cut)
                }))
            })
            .await?;
        self.end_recompute().await?;
        self.record_history("flip", &pair).await;
        Ok(pair)
    }

    /// Step 3 done: B' is written at `cut`. A shadow recompute stops here until
    /// [`LambdaSwitch::flip_shadow`]; its pair keeps counting live meanwhile.
    pub async fn mark_batch_ready(&self, info: &RecomputeInfo, cut: &Offsets) -> Result<()> {
        self.update::<SpeedState, _>(SPEED_PATH, |s| match &s.recompute {
            Some(r) if r.same_run(info) => {
                let mut next = s.clone();
                if let Some(r) = next.recompute.as_mut() {
                    r.batch_ready = Some(cut.clone());
                }
                Ok(Some(next))
            }
            _ => Err(PortError::Conflict(format!(
                "the recompute to epoch {} is no longer in progress",
                info.epoch.0
            ))),
        })
        .await?;
        if info.shadow {
            self.record_history("shadow", &info.pair(cut)).await;
        }
        Ok(())
    }

    /// The shadow pair that is ready and waiting for a flip, if any: its recompute and cut.
    pub async fn shadow(&self) -> Result<Option<(RecomputeInfo, Offsets)>> {
        Ok(self
            .speed_state()
            .await?
            .recompute
            .and_then(|r| r.batch_ready.clone().map(|cut| (r, cut))))
    }

    /// Makes the ready shadow pair active (step 4 of a `--shadow` recompute).
    pub async fn flip_shadow(&self) -> Result<ActivePair> {
        let Some((info, cut)) = self.shadow().await? else {
            return Err(PortError::Invalid(
                "there is no shadow pair to flip to: run `lambda-trends recompute --shadow` first"
                    .into(),
            ));
        };
        self.flip(&info, &cut).await
    }

    /// Abandons the recompute in progress (after a failure, or a shadow pair that is not
    /// wanted). The inactive tables stay as they are; the next recompute resets them again.
    pub async fn end_recompute(&self) -> Result<()> {
        self.update::<SpeedState, _>(SPEED_PATH, |s| {
            Ok(s.recompute.is_some().then(|| SpeedState {
                recompute: None,
                ..s.clone()
            }))
        })
        .await?;
        Ok(())
    }

    /// Renews the lease of the recompute `info` (its owner calls this every few seconds).
    /// Fails with a conflict if another run holds the lease.
    pub async fn renew_lease(&self, info: &RecomputeInfo) -> Result<()> {
        let owner = self.actor.clone();
        self.update::<RecomputeLease, _>(LEASE_PATH, |l| {
            let stale_or_ours = l.of(info) || l.started_at.is_none_or(|s| s < info.started_at);
            if !stale_or_ours {
                return Err(PortError::Conflict(format!(
                    "the recompute lease belongs to another run (epoch {}, owner {})",
                    l.epoch.0, l.owner
                )));
            }
            Ok(Some(RecomputeLease {
                epoch: info.epoch,
                started_at: Some(info.started_at),
                owner: owner.clone(),
                renewed_at: Some(Utc::now()),
            }))
        })
        .await?;
        Ok(())
    }

    /// The recompute in progress, if its owner has stopped: its lease (or, without one, its
    /// start) is older than `timeout`. A shadow pair waiting for its flip has no owner and is
    /// never stale. Returns it with how long ago it was last heard of.
    pub async fn stale_recompute(
        &self,
        timeout: std::time::Duration,
    ) -> Result<Option<(RecomputeInfo, chrono::TimeDelta)>> {
        let Some(info) = self.speed_state().await?.recompute else {
            return Ok(None);
        };
        if info.shadow && info.batch_ready.is_some() {
            return Ok(None);
        }
        let (lease, _) = self.read::<RecomputeLease>(LEASE_PATH).await?;
        let heard = match lease.renewed_at {
            Some(at) if lease.of(&info) => at,
            _ => info.started_at,
        };
        let silent = Utc::now() - heard;
        let timeout = chrono::TimeDelta::from_std(timeout).unwrap_or(chrono::TimeDelta::MAX);
        Ok((silent > timeout).then_some((info, silent)))
    }

    /// Abandons the recompute in progress if its owner has stopped ([`Self::stale_recompute`]),
    /// recording an `abort` in the history; returns it. A recompute left behind by a killed
    /// process so never blocks the next one for longer than `timeout`.
    pub async fn take_over_stale(
        &self,
        timeout: std::time::Duration,
    ) -> Result<Option<RecomputeInfo>> {
        let Some((stale, silent)) = self.stale_recompute(timeout).await? else {
            return Ok(None);
        };
        let mut ended = false;
        self.update::<SpeedState, _>(SPEED_PATH, |s| {
            ended = s.recompute.as_ref().is_some_and(|r| r.same_run(&stale));
            Ok(ended.then(|| SpeedState {
                recompute: None,
                ..s.clone()
            }))
        })
        .await?;
        if !ended {
            // Someone else took it over first, or it moved on meanwhile.
            return Ok(None);
        }
        tracing::warn!(
            epoch = stale.epoch.0,
            owner = stale.actor.as_deref().unwrap_or("unknown"),
            started_at = %stale.started_at,
            silent_secs = silent.num_seconds(),
            "Took over a recompute whose owner stopped renewing its lease; it is abandoned."
        );
        let active = self.active().await?;
        self.record_history("abort", &active).await;
        Ok(Some(stale))
    }

    /// Abandons the recompute in progress on request, and records it in the history.
    pub async fn abort_recompute(&self) -> Result<Option<RecomputeInfo>> {
        let state = self.speed_state().await?;
        let Some(info) = state.recompute else {
            return Ok(None);
        };
        self.end_recompute().await?;
        let active = self.active().await?;
        self.record_history("abort", &active).await;
        Ok(Some(info))
    }

    /// Makes the previous pair active again (a new epoch), if it can still be served exactly.
    pub async fn rollback(&self) -> Result<ActivePair> {
        let state = self.speed_state().await?;
        if let Some(r) = &state.recompute {
            return Err(PortError::Conflict(format!(
                "a recompute to epoch {} is in progress; abort it before rolling back",
                r.epoch.0
            )));
        }
        let pair = self
            .update::<ActivePair, _>(ACTIVE_PATH, |a| {
                let Some(prev) = &a.previous else {
                    return Err(PortError::Invalid(
                        "there is no previous pair to roll back to (none yet, or its speed table was reset by a later recompute)".into(),
                    ));
                };
                let mut current = a.clone();
                current.previous = None;
                Ok(Some(ActivePair {
                    epoch: Epoch(a.epoch.0 + 1),
                    flipped_at: Some(Utc::now()),
                    previous: Some(Box::new(current)),
                    ..(**prev).clone()
                }))
            })
            .await?;
        self.record_history("rollback", &pair).await;
        Ok(pair)
    }

    async fn record_history(&self, action: &str, pair: &ActivePair) {
        let record = FlipRecord {
            action: action.to_string(),
            pair: pair.clone(),
            at: Some(Utc::now()),
            actor: Some(self.actor.clone()),
        };
        let result = match serde_json::to_vec(&record) {
            Ok(bytes) => self
                .coordinator
                .append_sequential(&format!("{FLIPS_PREFIX}/"), &bytes)
                .await
                .map(|_| ()),
            Err(e) => Err(PortError::Internal(e.to_string())),
        };
        if let Err(error) = result {
            tracing::warn!(%error, epoch = pair.epoch.0, "Could not record the flip in the history.");
        }
    }

    /// The last `limit` flips and rollbacks, oldest first.
    pub async fn history(&self, limit: usize) -> Result<Vec<FlipRecord>> {
        let children = self
            .coordinator
            .children(&format!("{FLIPS_PREFIX}/"), limit)
            .await?;
        children
            .iter()
            .map(|(path, data)| {
                decode(
                    path,
                    &Versioned {
                        data: data.clone(),
                        version: 0,
                    },
                )
            })
            .collect()
    }
}

fn decode<T: DeserializeOwned>(path: &str, v: &Versioned) -> Result<T> {
    serde_json::from_slice(&v.data)
        .map_err(|e| PortError::Internal(format!("the document at {path} is not valid: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_admit_the_right_offsets() {
        assert!(SpeedPhase::Live.admits(3, 0));
        assert!(
            !SpeedPhase::Resetting {
                acked: BTreeSet::new()
            }
            .admits(0, 10)
        );
        let r = SpeedPhase::Restarted {
            start: [(0, 5)].into(),
        };
        assert!(!r.admits(0, 4));
        assert!(r.admits(0, 5));
        assert!(
            !r.admits(1, 100),
            "a partition without a start offset is not counted yet"
        );
    }

    #[test]
    fn boundary_acks_and_starts_only_once() {
        let s = SpeedState {
            speed_view_1: SpeedPhase::Resetting { acked: [0].into() },
            ..SpeedState::default()
        };
        let pos: Offsets = [(0, 7), (1, 9)].into();
        let next = s.record_boundary(&pos).expect("partition 1 acks");
        assert_eq!(
            next.speed_view_1,
            SpeedPhase::Resetting {
                acked: [0, 1].into()
            }
        );
        assert_eq!(next.record_boundary(&pos), None);
        let mut r = next.clone();
        r.speed_view_1 = SpeedPhase::Restarted {
            start: [(1, 3)].into(),
        };
        let after = r.record_boundary(&pos).expect("partition 0 starts");
        assert_eq!(
            after.speed_view_1,
            SpeedPhase::Restarted {
                start: [(0, 7), (1, 3)].into()
            }
        );
    }

    #[test]
    fn documents_round_trip_as_json() {
        let pair = ActivePair {
            cut: [(0, 10), (3, 4)].into(),
            previous: Some(Box::default()),
            ..ActivePair::default()
        };
        let json = serde_json::to_string(&pair).unwrap();
        assert!(json.contains("\"batch\":\"batch_view_a\""), "{json}");
        assert!(json.contains("\"cut\":{\"0\":10,\"3\":4}"), "{json}");
        assert_eq!(serde_json::from_str::<ActivePair>(&json).unwrap(), pair);
        let state = SpeedState::default();
        let json = serde_json::to_string(&state).unwrap();
        assert!(json.contains("\"speed_view_0\":\"live\""), "{json}");
        let restarted = SpeedState {
            speed_view_1: SpeedPhase::Restarted {
                start: [(2, 9)].into(),
            },
            ..SpeedState::default()
        };
        let json = serde_json::to_string(&restarted).unwrap();
        assert_eq!(
            serde_json::from_str::<SpeedState>(&json).unwrap(),
            restarted
        );
    }
}
