//! Process health for `/readyz`: which backend operations are failing right now, since when and
//! why.
//!
//! [`crate::retry::retry_until_shutdown`] reports every outage it rides out here, and clears it
//! once the operation succeeds again, so a component is "not ready" exactly while it is waiting
//! for a backend. The registry is process-wide (like the metrics recorder): every component of
//! `lambda-trends up` shares it, and the telemetry endpoint of a single-component process reads
//! it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// One operation that is failing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The operation, e.g. `speed.write_cells`.
    pub operation: String,
    /// The last error.
    pub error: String,
    /// When it started failing.
    pub since: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: u64,
}

/// What `/readyz` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// True when no operation is failing.
    pub ready: bool,
    /// The failing operations, by name.
    pub problems: Vec<Problem>,
}

/// A registry of failing operations.
#[derive(Debug, Default)]
pub struct Health {
    problems: Mutex<BTreeMap<String, Problem>>,
}

impl Health {
    /// A registry of its own (tests); components use [`global`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a failed attempt of `operation`.
    pub fn failing(&self, operation: &str, error: &str) {
        let mut problems = self.problems.lock().unwrap_or_else(|p| p.into_inner());
        let entry = problems
            .entry(operation.to_owned())
            .or_insert_with(|| Problem {
                operation: operation.to_owned(),
                error: String::new(),
                since: Utc::now(),
                attempts: 0,
            });
        entry.error = error.to_owned();
        entry.attempts += 1;
    }

    /// Records that `operation` succeeded: it is no longer a problem.
    pub fn recovered(&self, operation: &str) {
        let mut problems = self.problems.lock().unwrap_or_else(|p| p.into_inner());
        if problems.remove(operation).is_some() {
            tracing::info!(operation, "Backend operation recovered.");
        }
    }

    /// The current state.
    pub fn readiness(&self) -> Readiness {
        let problems: Vec<Problem> = self
            .problems
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        Readiness {
            ready: problems.is_empty(),
            problems,
        }
    }
}

/// The process-wide registry.
pub fn global() -> &'static Health {
    static GLOBAL: OnceLock<Health> = OnceLock::new();
    GLOBAL.get_or_init(Health::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_is_a_problem_from_its_first_failure_until_it_succeeds() {
        let h = Health::new();
        assert!(h.readiness().ready);
        h.failing("views.write", "connection refused");
        h.failing("views.write", "timed out");
        h.failing("log.append", "broker down");
        let r = h.readiness();
        assert!(!r.ready);
        assert_eq!(r.problems.len(), 2);
        let w = r
            .problems
            .iter()
            .find(|p| p.operation == "views.write")
            .unwrap();
        assert_eq!((w.attempts, w.error.as_str()), (2, "timed out"));
        h.recovered("views.write");
        let r = h.readiness();
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.problems[0].operation, "log.append");
        h.recovered("log.append");
        assert!(h.readiness().ready);
    }
}

/// Which backends a component depends on, for [`spawn_probes`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// The event log.
    pub log: bool,
    /// The view store.
    pub views: bool,
    /// The coordinator.
    pub coordinator: bool,
}

/// How often [`spawn_probes`] asks each backend, and how long it waits for an answer.
pub const PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Asks each backend the component needs for something small every [`PROBE_EVERY`] (the end
/// offsets of `posts`, one cell of a view table, the active pair), so `/readyz` reports a backend
/// that is down even while no write is waiting on it (a consumer with nothing to read, a client
/// library queueing quietly): `probe.<backend>` is failing from the first probe that errs or
/// takes longer than [`PROBE_EVERY`] until one answers again. Stops with `shutdown`.
pub fn spawn_probes(
    backends: &crate::Backends,
    needs: Needs,
    shutdown: tokio_util::sync::CancellationToken,
) {
    use crate::{SpeedTable, ViewTable};
    let backends = backends.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PROBE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.cancelled() => return,
            }
            let log = async {
                if needs.log {
                    let r = backends
                        .log
                        .end_offsets(model::POSTS_TOPIC)
                        .await
                        .map(|_| ());
                    report("probe.event_log", r, &backends.log.describe());
                }
            };
            let views = async {
                if needs.views {
                    let slot = model::SlotStart(0);
                    let r = backends
                        .views
                        .read_series(ViewTable::Speed(SpeedTable::Zero), "", slot, slot)
                        .await
                        .map(|_| ());
                    report("probe.view_store", r, &backends.views.describe());
                }
            };
            let coordinator = async {
                if needs.coordinator {
                    let r = backends
                        .coordinator
                        .get(crate::protocol::ACTIVE_PATH)
                        .await
                        .map(|_| ());
                    report("probe.coordinator", r, &backends.coordinator.describe());
                }
            };
            // Each probe gets the interval to answer; one that does not is as good as down.
            let timed = |what: &'static str, describe: String| {
                move |_| {
                    global().failing(
                        what,
                        &format!("{describe} did not answer within {PROBE_EVERY:?}"),
                    )
                }
            };
            let (a, b, c) = tokio::join!(
                tokio::time::timeout(PROBE_EVERY, log),
                tokio::time::timeout(PROBE_EVERY, views),
                tokio::time::timeout(PROBE_EVERY, coordinator),
            );
            a.unwrap_or_else(timed("probe.event_log", backends.log.describe()));
            b.unwrap_or_else(timed("probe.view_store", backends.views.describe()));
            c.unwrap_or_else(timed("probe.coordinator", backends.coordinator.describe()));
        }
    });
}

fn report(what: &str, result: crate::Result<()>, describe: &str) {
    match result {
        Ok(()) => global().recovered(what),
        Err(e) => global().failing(what, &format!("{describe}: {e}")),
    }
}
