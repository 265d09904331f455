//! The error every port returns, classified by what the caller should do.

/// Result of a port operation.
pub type Result<T, E = PortError> = std::result::Result<T, E>;

/// What went wrong in a backend, classified by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The backend could not be reached or timed out: retry with backoff.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// A compare-and-set lost a race: re-read and decide again.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request or the configuration is wrong: retrying will not help.
    #[error("invalid: {0}")]
    Invalid(String),
    /// A bug or corrupted state: report it.
    #[error("internal error: {0}")]
    Internal(String),
}

impl PortError {
    /// Whether retrying the same operation later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, PortError::Unavailable(_) | PortError::Conflict(_))
    }

    /// A short, stable label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            PortError::Unavailable(_) => "unavailable",
            PortError::Conflict(_) => "conflict",
            PortError::Invalid(_) => "invalid",
            PortError::Internal(_) => "internal",
        }
    }
}
