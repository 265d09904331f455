//! [`CassandraOptions`] and the `cassandra://` URL.

use ports::{PortError, Secret};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The port a contact point without one uses (CQL's standard port).
pub const DEFAULT_CQL_PORT: u16 = 9042;

/// The longest keyspace name Cassandra accepts.
const MAX_KEYSPACE_LEN: usize = 48;

/// Settings of the Cassandra view store (everything but the contact points and the keyspace,
/// which are the URL).
///
/// Defaults suit a single development node; production clusters usually raise
/// `replication-factor` to 3 (or create the keyspace themselves, with
/// `NetworkTopologyStrategy`, before `migrate`: an existing keyspace is left as it is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct CassandraOptions {
    /// Replication factor of the keyspace `migrate` creates (`SimpleStrategy`). An existing
    /// keyspace keeps its replication.
    pub replication_factor: u32,
    /// How long connecting to one node may take, milliseconds. Also bounds how long
    /// [`crate::CassandraViewStore::connect`] waits for an unreachable cluster.
    pub connect_timeout_ms: u64,
    /// Client-side time limit of one read or write request (a batch, a page), milliseconds.
    pub request_timeout_ms: u64,
    /// Time limit of schema statements (`CREATE`, `TRUNCATE`) and of waiting for schema
    /// agreement after them, milliseconds.
    pub schema_timeout_ms: u64,
    /// The most statements in one counter or unlogged batch. Every batch holds one partition
    /// only; keep `statements x ~60 bytes` under the server's `batch_size_fail_threshold`
    /// (50 KiB by default).
    pub max_batch_statements: usize,
    /// The most requests (batches, partition reads) one call has in flight at a time.
    pub concurrency: usize,
    /// Rows per page of the reads that page (slot partitions, the hashtag scan).
    pub page_size: i32,
    /// User name for Cassandra's `PasswordAuthenticator` (empty: no authentication).
    pub username: String,
    /// The password of `username`; set it from a secret (`LT__CASSANDRA__PASSWORD`).
    pub password: Secret,
    /// A PEM file of the certificate authorities to trust; when set, every connection uses
    /// TLS (the nodes' certificates must name the addresses the driver connects to).
    pub tls_ca_file: String,
}

impl Default for CassandraOptions {
    fn default() -> Self {
        CassandraOptions {
            replication_factor: 1,
            connect_timeout_ms: 5_000,
            request_timeout_ms: 12_000,
            schema_timeout_ms: 60_000,
            max_batch_statements: 100,
            concurrency: 16,
            page_size: 5_000,
            username: String::new(),
            password: Secret::default(),
            tls_ca_file: String::new(),
        }
    }
}

impl CassandraOptions {
    /// Checks the values are usable.
    pub(crate) fn validate(&self) -> Result<(), PortError> {
        let bad = |what: &str| Err(PortError::Invalid(format!("Cassandra options: {what}")));
        if self.replication_factor == 0 {
            return bad("replication-factor must be at least 1");
        }
        if self.max_batch_statements == 0 || self.max_batch_statements > 65_535 {
            return bad("max-batch-statements must be between 1 and 65535");
        }
        if self.concurrency == 0 {
            return bad("concurrency must be at least 1");
        }
        if self.page_size <= 0 {
            return bad("page-size must be at least 1");
        }
        if self.connect_timeout_ms == 0
            || self.request_timeout_ms == 0
            || self.schema_timeout_ms == 0
        {
            return bad("timeouts must be at least 1 ms");
        }
        if self.username.is_empty() != self.password.is_empty() {
            return bad("username and password go together: set both or neither");
        }
        Ok(())
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub(crate) fn schema_timeout(&self) -> Duration {
        Duration::from_millis(self.schema_timeout_ms)
    }
}

/// A parsed `cassandra://host:port[,host:port...]/keyspace` (or `scylla://...`) URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClusterUrl {
    /// `host:port` contact points.
    pub(crate) nodes: Vec<String>,
    /// The keyspace, lower-case (Cassandra folds unquoted names to lower case).
    pub(crate) keyspace: String,
}

impl ClusterUrl {
    /// Parses a view store URL. A contact point without a port gets 9042.
    pub(crate) fn parse(url: &str) -> Result<ClusterUrl, PortError> {
        let invalid = |why: &str| {
            PortError::Invalid(format!(
                "view store URL `{url}`: {why} (expected cassandra://host:port[,host:port...]/keyspace)"
            ))
        };
        let rest = url
            .strip_prefix("cassandra://")
            .or_else(|| url.strip_prefix("scylla://"))
            .ok_or_else(|| invalid("the scheme must be cassandra:// or scylla://"))?;
        if rest.contains(['?', '#', '@']) {
            return Err(invalid(
                "queries, fragments and credentials are not supported",
            ));
        }
        let (hosts, keyspace) = rest
            .split_once('/')
            .ok_or_else(|| invalid("no keyspace given"))?;
        let keyspace = keyspace.strip_suffix('/').unwrap_or(keyspace);
        if keyspace.is_empty() {
            return Err(invalid("no keyspace given"));
        }
        if keyspace.len() > MAX_KEYSPACE_LEN
            || !keyspace.starts_with(|c: char| c.is_ascii_alphabetic())
            || !keyspace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(invalid(&format!(
                "keyspace `{keyspace}` must be a letter followed by letters, digits or `_`, at most {MAX_KEYSPACE_LEN} characters"
            )));
        }
        if hosts.is_empty() {
            return Err(invalid("no contact point given"));
        }
        let mut nodes = Vec::new();
        for node in hosts.split(',') {
            nodes.push(parse_node(node).map_err(|why| invalid(&why))?);
        }
        Ok(ClusterUrl {
            nodes,
            keyspace: keyspace.to_ascii_lowercase(),
        })
    }
}

/// One contact point: `host`, `host:port`, `[v6]` or `[v6]:port`.
fn parse_node(node: &str) -> Result<String, String> {
    let bad_host = || format!("contact point `{node}` has no valid host");
    let (host, port) = if let Some(v6) = node.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or_else(bad_host)?;
        if addr.is_empty() {
            return Err(bad_host());
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(bad_host)?),
        };
        (&node[..addr.len() + 2], port)
    } else {
        match node.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (node, None),
        }
    };
    if host.is_empty()
        || host.contains(char::is_whitespace)
        || host.contains(':') && !host.starts_with('[')
    {
        return Err(bad_host());
    }
    let port = match port {
        None => DEFAULT_CQL_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return Err(format!("contact point `{node}` has no valid port")),
        },
    };
    Ok(format!("{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_contact_points_and_keyspace() {
        let u = ClusterUrl::parse("cassandra://127.0.0.1:9042/trends").unwrap();
        assert_eq!(u.nodes, vec!["127.0.0.1:9042".to_string()]);
        assert_eq!(u.keyspace, "trends");
        let u = ClusterUrl::parse("scylla://a:1,b,[::1]:9043,[::2]/Lambda_Trends2/").unwrap();
        assert_eq!(u.nodes, vec!["a:1", "b:9042", "[::1]:9043", "[::2]:9042"]);
        assert_eq!(
            u.keyspace, "lambda_trends2",
            "unquoted names fold to lower case"
        );
    }

    #[test]
    fn credentials_go_together() {
        let mut o = CassandraOptions {
            username: "analyst".into(),
            ..Default::default()
        };
        assert!(matches!(o.validate(), Err(PortError::Invalid(_))));
        o.password = Secret::new("pw");
        assert!(o.validate().is_ok());
        assert!(
            !format!("{o:?}").contains("pw\""),
            "Debug hides the password"
        );
    }

    #[test]
    fn rejects_malformed_urls() {
        for bad in [
            "http://a:1/ks",
            "cassandra://a:1",
            "cassandra://a:1/",
            "cassandra:///ks",
            "cassandra://a:x/ks",
            "cassandra://a:0/ks",
            "cassandra://a:1,/ks",
            "cassandra://u:p@a:1/ks",
            "cassandra://a:1/ks?x=1",
            "cassandra://a:1/1ks",
            "cassandra://a:1/k-s",
            "cassandra://a:1/ks/more",
            "cassandra://[::1/ks",
            "cassandra://::1/ks",
        ] {
            assert!(
                matches!(ClusterUrl::parse(bad), Err(PortError::Invalid(_))),
                "{bad} must be refused"
            );
        }
        let long = format!("cassandra://a:1/{}", "k".repeat(49));
        assert!(ClusterUrl::parse(&long).is_err());
    }

    #[test]
    fn options_deserialize_with_defaults_and_validate() {
        let o: CassandraOptions =
            serde_json::from_str(r#"{"replication-factor": 3, "concurrency": 4}"#).unwrap();
        assert_eq!((o.replication_factor, o.concurrency), (3, 4));
        assert_eq!(o.max_batch_statements, 100);
        assert!(o.validate().is_ok());
        assert!(serde_json::from_str::<CassandraOptions>(r#"{"replication": 3}"#).is_err());
        let zero = CassandraOptions {
            max_batch_statements: 0,
            ..CassandraOptions::default()
        };
        assert!(matches!(zero.validate(), Err(PortError::Invalid(_))));
    }
}
