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
