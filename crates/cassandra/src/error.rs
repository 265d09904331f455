//! Classifies scylla driver errors into [`PortError`]s: retry, give up, or report.
//!
//! - the cluster cannot be reached, is overloaded or timed out (client or server side), or not
//!   enough replicas are alive: [`PortError::Unavailable`] (retry with backoff);
//! - the statement or the schema is wrong (syntax, an unknown table because `migrate` has not
//!   run, permissions, configuration): [`PortError::Invalid`];
//! - anything else (protocol, deserialization, server bugs): [`PortError::Internal`].

use ports::PortError;
use scylla::errors::{
    BadQuery, ConnectionPoolError, DbError, ExecutionError, MetadataError, NewSessionError,
    NextPageError, NextRowError, PagerExecutionError, PrepareError, RequestAttemptError,
    RequestError, SchemaAgreementError, UseKeyspaceError,
};

/// What the caller should do, before the message is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unavailable,
    Invalid,
    Internal,
}

fn build(kind: Kind, msg: String) -> PortError {
    match kind {
        Kind::Unavailable => PortError::Unavailable(msg),
        Kind::Invalid => PortError::Invalid(msg),
        Kind::Internal => PortError::Internal(msg),
    }
}

fn db_kind(e: &DbError) -> Kind {
    match e {
        DbError::Unavailable { .. }
        | DbError::Overloaded
        | DbError::IsBootstrapping
        | DbError::TruncateError
        | DbError::ReadTimeout { .. }
        | DbError::WriteTimeout { .. }
        | DbError::ReadFailure { .. }
        | DbError::WriteFailure { .. }
        | DbError::RateLimitReached { .. } => Kind::Unavailable,
        DbError::SyntaxError
        | DbError::Invalid
        | DbError::AlreadyExists { .. }
        | DbError::FunctionFailure { .. }
        | DbError::AuthenticationError
        | DbError::Unauthorized
        | DbError::ConfigError => Kind::Invalid,
        _ => Kind::Internal,
    }
}

fn attempt_kind(e: &RequestAttemptError) -> Kind {
    match e {
        RequestAttemptError::DbError(db, _) => db_kind(db),
        RequestAttemptError::BrokenConnectionError(_)
        | RequestAttemptError::UnableToAllocStreamId => Kind::Unavailable,
        _ => Kind::Internal,
    }
}

fn pool_kind(_: &ConnectionPoolError) -> Kind {
    // Broken, still initialising, or every node filtered out: all "cannot reach a node now".
    Kind::Unavailable
}

fn prepare_kind(e: &PrepareError) -> Kind {
    match e {
        PrepareError::ConnectionPoolError(p) => pool_kind(p),
        PrepareError::AllAttemptsFailed { first_attempt } => attempt_kind(first_attempt),
        _ => Kind::Internal,
    }
}

fn metadata_kind(e: &MetadataError) -> Kind {
    match e {
        MetadataError::ConnectionPoolError(p) => pool_kind(p),
        // A fetch that failed because a node went away mid-way.
        MetadataError::FetchError(_) => Kind::Unavailable,
        _ => Kind::Internal,
    }
}

fn use_keyspace_kind(e: &UseKeyspaceError) -> Kind {
    match e {
        UseKeyspaceError::BadKeyspaceName(_) => Kind::Invalid,
        UseKeyspaceError::RequestError(a) => attempt_kind(a),
        UseKeyspaceError::RequestTimeout(_) => Kind::Unavailable,
        _ => Kind::Internal,
    }
}

fn schema_kind(e: &SchemaAgreementError) -> Kind {
    match e {
        SchemaAgreementError::ConnectionPoolError(p) => pool_kind(p),
        SchemaAgreementError::PrepareError(p) => prepare_kind(p),
        SchemaAgreementError::RequestError(a) => attempt_kind(a),
        SchemaAgreementError::Timeout(_) | SchemaAgreementError::RequiredHostAbsent(_) => {
            Kind::Unavailable
        }
        _ => Kind::Internal,
    }
}

fn execution_kind(e: &ExecutionError) -> Kind {
    match e {
        ExecutionError::BadQuery(BadQuery::ValuesTooLongForKey(..)) => Kind::Invalid,
        ExecutionError::BadQuery(_) => Kind::Internal,
        ExecutionError::EmptyPlan | ExecutionError::RequestTimeout(_) => Kind::Unavailable,
        ExecutionError::PrepareError(p) => prepare_kind(p),
        ExecutionError::ConnectionPoolError(p) => pool_kind(p),
        ExecutionError::LastAttemptError(a) => attempt_kind(a),
        ExecutionError::UseKeyspaceError(u) => use_keyspace_kind(u),
        ExecutionError::SchemaAgreementError(s) => schema_kind(s),
        ExecutionError::MetadataError(m) => metadata_kind(m),
        _ => Kind::Internal,
    }
}

fn request_kind(e: &RequestError) -> Kind {
    match e {
        RequestError::EmptyPlan
        | RequestError::ConnectionPoolError(_)
        | RequestError::RequestTimeout(_) => Kind::Unavailable,
        RequestError::LastAttemptError(a) => attempt_kind(a),
        _ => Kind::Internal,
    }
}

fn next_page_kind(e: &NextPageError) -> Kind {
    match e {
        NextPageError::RequestFailure(r) => request_kind(r),
        _ => Kind::Internal,
    }
}

/// A hint for the errors a missing schema produces.
fn hint(msg: &str) -> &'static str {
    let lower = msg.to_ascii_lowercase();
    if lower.contains("unconfigured table")
        || lower.contains("does not exist")
        || lower.contains("keyspace") && lower.contains("not exist")
    {
        " (has the schema been created? run `lambda-trends migrate`)"
    } else {
        ""
    }
}

fn with_hint(kind: Kind, what: &str, e: &dyn std::fmt::Display) -> PortError {
    let text = e.to_string();
    let hint = if kind == Kind::Invalid {
        hint(&text)
    } else {
        ""
    };
    build(kind, format!("Cassandra {what}: {text}{hint}"))
}

/// Classifies an error of executing a statement or a batch; `what` says which operation failed.
pub(crate) fn execution(what: &str, e: &ExecutionError) -> PortError {
    with_hint(execution_kind(e), what, e)
}

/// Classifies an error of preparing a statement.
pub(crate) fn prepare(what: &str, e: &PrepareError) -> PortError {
    with_hint(prepare_kind(e), what, e)
}

/// Classifies an error of starting a paged read.
pub(crate) fn pager(what: &str, e: &PagerExecutionError) -> PortError {
    let kind = match e {
        PagerExecutionError::PrepareError(p) => prepare_kind(p),
        PagerExecutionError::NextPageError(n) => next_page_kind(n),
        PagerExecutionError::UseKeyspaceError(u) => use_keyspace_kind(u),
        PagerExecutionError::SchemaAgreementError(s) => schema_kind(s),
        PagerExecutionError::MetadataError(m) => metadata_kind(m),
        _ => Kind::Internal,
    };
    with_hint(kind, what, e)
}

/// Classifies an error of reading the next row of a paged read.
pub(crate) fn next_row(what: &str, e: &NextRowError) -> PortError {
    let kind = match e {
        NextRowError::NextPageError(n) => next_page_kind(n),
        _ => Kind::Internal,
    };
    with_hint(kind, what, e)
}

/// Classifies an error of waiting for schema agreement.
pub(crate) fn schema_agreement(e: &SchemaAgreementError) -> PortError {
    with_hint(schema_kind(e), "schema agreement", e)
}

/// Classifies an error of connecting to the cluster at `url`.
pub(crate) fn new_session(url: &str, e: &NewSessionError) -> PortError {
    match e {
        NewSessionError::EmptyKnownNodesList | NewSessionError::IllegalConfig(_) => {
            PortError::Invalid(format!("Cassandra session for {url}: {e}"))
        }
        NewSessionError::UseKeyspaceError(u) if use_keyspace_kind(u) == Kind::Invalid => {
            PortError::Invalid(format!("Cassandra session for {url}: {e}"))
        }
        // Hosts that do not resolve, nodes that refuse or time out, metadata that cannot be read.
        _ => PortError::Unavailable(format!("cannot reach Cassandra at {url}: {e}")),
    }
}

/// A result or row that does not have the shape the schema promises: a bug or a foreign table.
pub(crate) fn shape(what: &str, e: &dyn std::fmt::Display) -> PortError {
    PortError::Internal(format!(
        "Cassandra {what}: unexpected result: {e} (is the table from another schema? compare it with `lambda-trends migrate`)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use scylla::frame::types::Consistency;
    use std::time::Duration;

    fn db(e: DbError, msg: &str) -> ExecutionError {
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(e, msg.into()))
    }

    #[test]
    fn classification_says_what_to_do() {
        assert!(matches!(
            execution(
                "write",
                &ExecutionError::RequestTimeout(Duration::from_secs(1))
            ),
            PortError::Unavailable(_)
        ));
        assert!(matches!(
            execution(
                "write",
                &db(
                    DbError::Unavailable {
                        consistency: Consistency::LocalQuorum,
                        required: 2,
                        alive: 1
                    },
                    "not enough replicas"
                )
            ),
            PortError::Unavailable(_)
        ));
        assert!(matches!(
            execution("write", &db(DbError::Overloaded, "busy")),
            PortError::Unavailable(_)
        ));
        match execution(
            "read",
            &db(DbError::Invalid, "unconfigured table speed_view_0"),
        ) {
            PortError::Invalid(msg) => assert!(msg.contains("lambda-trends migrate"), "{msg}"),
            other => panic!("expected Invalid, got {other:?}"),
        }
        assert!(matches!(
            execution("read", &db(DbError::SyntaxError, "line 1")),
            PortError::Invalid(_)
        ));
        assert!(matches!(
            execution("read", &db(DbError::ServerError, "oops")),
            PortError::Internal(_)
        ));
        assert!(matches!(
            execution("read", &ExecutionError::EmptyPlan),
            PortError::Unavailable(_)
        ));
        assert!(matches!(
            new_session("cassandra://x:1/ks", &NewSessionError::EmptyKnownNodesList),
            PortError::Invalid(_)
        ));
        assert!(matches!(
            new_session(
                "cassandra://x:1/ks",
                &NewSessionError::FailedToResolveAnyHostname(vec!["x:1".into()])
            ),
            PortError::Unavailable(_)
        ));
    }
}
