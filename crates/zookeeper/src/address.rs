//! Parsing `zk://host:port[,host:port]/chroot` URLs.

use ports::PortError;

/// The port ZooKeeper listens on when a URL names a host without one.
const DEFAULT_PORT: u16 = 2181;

/// A parsed `zk://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZkAddress {
    /// The connect string for the client: `host:port,host:port`, every port explicit.
    pub hosts: String,
    /// The chroot every protocol path is placed under: `""` (none) or `/a/b`, without a
    /// trailing slash.
    pub chroot: String,
}

fn invalid(url: &str, why: &str) -> PortError {
    PortError::Invalid(format!(
        "coordinator URL `{url}` {why}: use zk://host:port[,host:port...][/chroot], e.g. zk://127.0.0.1:2181/lambda-trends"
    ))
}

impl ZkAddress {
    /// Parses `zk://host[:port][,host[:port]...][/chroot]`.
    pub(crate) fn parse(url: &str) -> Result<ZkAddress, PortError> {
        let rest = url
            .strip_prefix("zk://")
            .ok_or_else(|| invalid(url, "is not a ZooKeeper URL"))?;
        if rest.contains(['?', '#', '@']) {
            return Err(invalid(
                url,
                "has a query, fragment or user part, which ZooKeeper URLs do not support",
            ));
        }
        let (hosts, chroot) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if hosts.is_empty() {
            return Err(invalid(url, "names no host"));
        }
        let hosts = hosts
            .split(',')
            .map(|h| host_port(url, h))
            .collect::<Result<Vec<_>, _>>()?
            .join(",");
        Ok(ZkAddress {
            hosts,
            chroot: chroot_path(url, chroot)?,
        })
    }
}

/// One `host[:port]` (IPv6 in brackets), returned with an explicit port.
fn host_port(url: &str, hp: &str) -> Result<String, PortError> {
    if hp.is_empty() || hp.contains(char::is_whitespace) {
        return Err(invalid(url, "has an empty or blank host in its host list"));
    }
    let (host, port) = if let Some(v6) = hp.strip_prefix('[') {
        let end = v6
            .find(']')
            .ok_or_else(|| invalid(url, "has an IPv6 host without a closing `]`"))?;
        let after = &v6[end + 1..];
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| invalid(url, "has text after an IPv6 host"))?,
            ),
        };
        (&hp[..end + 2], port)
    } else {
        match hp.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hp, None),
        }
    };
    if host.is_empty() || host == "[]" {
        return Err(invalid(url, "has an empty host"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| invalid(url, &format!("has an invalid port `{p}`")))?,
    };
    Ok(format!("{host}:{port}"))
}

/// Validates the chroot: absolute, no empty, `.` or `..` segments, no control characters, not
/// under ZooKeeper's own `/zookeeper`. `""` and `/` mean no chroot.
fn chroot_path(url: &str, path: &str) -> Result<String, PortError> {
    if path.is_empty() || path == "/" {
        return Ok(String::new());
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    for segment in path[1..].split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(invalid(
                url,
                "has a chroot with an empty, `.` or `..` segment",
            ));
        }
    }
    if path.chars().any(char::is_control) {
        return Err(invalid(url, "has control characters in its chroot"));
    }
    if path == "/zookeeper" || path.starts_with("/zookeeper/") {
        return Err(invalid(
            url,
            "puts its chroot under /zookeeper, which ZooKeeper reserves",
        ));
    }
    Ok(path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> (String, String) {
        let a = ZkAddress::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        (a.hosts, a.chroot)
    }

    #[test]
    fn parses_hosts_and_chroot() {
        assert_eq!(
            parse("zk://127.0.0.1:2181/lambda-trends"),
            ("127.0.0.1:2181".into(), "/lambda-trends".into())
        );
        assert_eq!(
            parse("zk://a:1,b:2,c/x/y/"),
            ("a:1,b:2,c:2181".into(), "/x/y".into())
        );
        assert_eq!(parse("zk://zk"), ("zk:2181".into(), String::new()));
        assert_eq!(parse("zk://zk:2181/"), ("zk:2181".into(), String::new()));
        assert_eq!(
            parse("zk://[::1]:2182,[fe80::1]/c"),
            ("[::1]:2182,[fe80::1]:2181".into(), "/c".into())
        );
    }

    #[test]
    fn bad_urls_are_invalid_and_say_what_to_write() {
        for url in [
            "",
            "embedded",
            "zookeeper://a:2181",
            "zk://",
            "zk:///chroot",
            "zk://a:2181,,b:2181",
            "zk://a:x",
            "zk://a:0",
            "zk://a:70000",
            "zk://[::1",
            "zk://[::1]x",
            "zk://a:2181//x",
            "zk://a:2181/x/../y",
            "zk://a:2181/zookeeper/quota",
            "zk://a:2181/x?session=1",
            "zk://user@a:2181/x",
            "zk://a b:2181",
        ] {
            match ZkAddress::parse(url) {
                Err(PortError::Invalid(msg)) => {
                    assert!(msg.contains("zk://host:port"), "{url}: {msg}")
                }
                other => panic!("{url} must be invalid, got {other:?}"),
            }
        }
    }
}
