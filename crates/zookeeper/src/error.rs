//! Classifying ZooKeeper errors by what the caller should do.

use ports::PortError;
use zookeeper_client as zkc;

/// Maps an error of `action` (a verb: "read", "create", ...) on the protocol-level `path` to a
/// [`PortError`]. Outcomes a caller expects (`NoNode`, `NodeExists`, `BadVersion`) are handled
/// where they mean something; reaching here with one of them is a bug.
pub(crate) fn port_error(error: zkc::Error, action: &str, path: &str) -> PortError {
    use zkc::Error as E;
    match error {
        E::ConnectionLoss
        | E::Timeout
        | E::NoHosts
        | E::SessionExpired
        | E::SessionMoved
        | E::ClientClosed
        | E::Throttled
        | E::NotReadOnly
        // The transport's own errors (a connection reset while the ensemble restarts, ...).
        | E::Custom(_) => PortError::Unavailable(format!(
            "ZooKeeper could not {action} {path}: {error}; retry with backoff (the ensemble may be down, restarting or unreachable)"
        )),
        E::NoAuth | E::AuthFailed | E::InvalidAcl => PortError::Invalid(format!(
            "ZooKeeper refused to {action} {path}: {error}; retrying will not help: check the ACLs on the chroot and the credentials"
        )),
        E::BadArguments(_) | E::NoChildrenForEphemerals => PortError::Invalid(format!(
            "ZooKeeper cannot {action} {path}: {error}; retrying will not help: fix the path"
        )),
        E::QuotaExceeded => PortError::Invalid(format!(
            "ZooKeeper cannot {action} {path}: {error}; retrying will not help: raise the quota on the chroot or remove old znodes"
        )),
        E::Unimplemented => PortError::Invalid(format!(
            "ZooKeeper cannot {action} {path}: {error}; the server is too old: use ZooKeeper 3.6 or newer"
        )),
        other => PortError::Internal(format!(
            "unexpected ZooKeeper error while trying to {action} {path}: {other}; please report this bug"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_what_to_do() {
        assert!(port_error(zkc::Error::ConnectionLoss, "read", "/a").is_retryable());
        assert!(port_error(zkc::Error::SessionExpired, "read", "/a").is_retryable());
        assert!(matches!(
            port_error(zkc::Error::NoAuth, "read", "/a"),
            PortError::Invalid(_)
        ));
        let msg = port_error(zkc::Error::Timeout, "update", "/lambda-trends/active").to_string();
        assert!(
            msg.contains("/lambda-trends/active") && msg.contains("retry"),
            "{msg}"
        );
        assert!(matches!(
            port_error(zkc::Error::NotEmpty, "read", "/a"),
            PortError::Internal(_)
        ));
    }
}
