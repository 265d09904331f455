//! [`ZkCoordinator`]: the [`Coordinator`] port on ZooKeeper znodes.

use crate::address::ZkAddress;
use crate::error::port_error;
use async_trait::async_trait;
use ports::{Coordinator, PortError, Result, Versioned};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, watch};
use tracing::Instrument;
use zookeeper_client as zkc;

/// The session timeout asked of the server (it clamps it to its own `minSessionTimeout` ..
/// `maxSessionTimeout`, 4 s .. 40 s with the default `tickTime`).
const SESSION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may wait, including a reconnection to another server, before it fails
/// as unavailable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The first and the longest pause between attempts to re-arm a watch that failed.
const REARM_BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// Plain persistent znodes, open to anyone (the ensemble is assumed to be private; restrict
/// the chroot with ACLs set out of band if it is not).
const PERSISTENT: zkc::CreateOptions<'static> =
    zkc::CreateMode::Persistent.with_acls(zkc::Acls::anyone_all());
/// Persistent sequential znodes for [`Coordinator::append_sequential`].
const SEQUENTIAL: zkc::CreateOptions<'static> =
    zkc::CreateMode::PersistentSequential.with_acls(zkc::Acls::anyone_all());

/// The [`Coordinator`] on a ZooKeeper ensemble: one document per znode, its `Stat.version` as
/// the document version, one-shot data watches re-armed after every event, and persistent
/// sequential znodes for the flip history.
///
/// Every protocol path is placed under the URL's chroot: with `zk://zk:2181/prod`,
/// `/lambda-trends/active` is the znode `/prod/lambda-trends/active`. Missing parents,
/// including the chroot itself, are created as persistent znodes.
///
/// The ZooKeeper session is re-opened when it expires (an expired session is terminal for
/// the client), both for requests and for the tasks behind [`Coordinator::watch`].
pub struct ZkCoordinator {
    url: String,
    session: Arc<Session>,
}

impl std::fmt::Debug for ZkCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkCoordinator")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl ZkCoordinator {
    /// Connects to the ensemble named by `url`, `zk://host:port[,host:port...][/chroot]` (the
    /// port defaults to 2181), and creates the chroot znode if it is missing.
    ///
    /// Errors: [`PortError::Invalid`] for a malformed URL (fix it; retrying will not help),
    /// [`PortError::Unavailable`] when no server answered within the session timeout (retry
    /// with backoff).
    pub async fn connect(url: &str) -> Result<Arc<Self>> {
        Self::connect_with(url, SESSION_TIMEOUT).await
    }

    async fn connect_with(url: &str, session_timeout: Duration) -> Result<Arc<Self>> {
        let address = ZkAddress::parse(url)?;
        let client = Session::open(&address, session_timeout).await?;
        tracing::info!(
            url,
            session = %client.session_id(),
            "Connected to ZooKeeper."
        );
        Ok(Arc::new(ZkCoordinator {
            url: url.to_string(),
            session: Arc::new(Session {
                address,
                session_timeout,
                client: Mutex::new(client),
            }),
        }))
    }

    /// The znode path of a protocol path (which must be absolute).
    fn znode(&self, path: &str) -> Result<String> {
        self.session.znode(path)
    }

    #[cfg(test)]
    pub(crate) async fn client(&self) -> Result<zkc::Client> {
        self.session.client().await
    }
}

/// The connection: the address and the current client, replaced when its session ends.
struct Session {
    address: ZkAddress,
    session_timeout: Duration,
    client: Mutex<zkc::Client>,
}

impl Session {
    /// Opens a new session and makes sure the chroot exists.
    async fn open(address: &ZkAddress, session_timeout: Duration) -> Result<zkc::Client> {
        // Fail eagerly: when every host has refused once, report it (the caller retries with
        // backoff) rather than cycling through them until the session timeout.
        let connecting = zkc::Client::connector()
            .with_session_timeout(session_timeout)
            .with_fail_eagerly()
            .connect(&address.hosts);
        // The client gives up after about the session timeout; this bound is only a backstop.
        let client = tokio::time::timeout(session_timeout + REQUEST_TIMEOUT, connecting)
            .await
            .unwrap_or(Err(zkc::Error::Timeout))
            .map_err(|e| match e {
                zkc::Error::BadArguments(_) => PortError::Invalid(format!(
                    "ZooKeeper hosts `{}` are not valid: {e}; fix the coordinator URL",
                    address.hosts
                )),
                e => PortError::Unavailable(format!(
                    "cannot open a ZooKeeper session with {}: {e}; retry with backoff (is ZooKeeper running there?)",
                    address.hosts
                )),
            })?;
        if !address.chroot.is_empty() {
            bounded(client.mkdir(&address.chroot, &PERSISTENT))
                .await
                .map_err(|e| port_error(e, "create the chroot", &address.chroot))?;
        }
        Ok(client)
    }

    /// The current client, or a new one if the current session has ended (expired or closed:
    /// the client cannot recover from either).
    async fn client(&self) -> Result<zkc::Client> {
        let mut current = self.client.lock().await;
        let state = current.state();
        if matches!(
            state,
            zkc::SessionState::Expired | zkc::SessionState::Closed
        ) {
            tracing::warn!(
                hosts = %self.address.hosts,
                session = %current.session_id(),
                ?state,
                "The ZooKeeper session ended; opening a new one."
            );
            *current = Session::open(&self.address, self.session_timeout).await?;
            tracing::info!(
                hosts = %self.address.hosts,
                session = %current.session_id(),
                "Opened a new ZooKeeper session."
            );
        }
        Ok(current.clone())
    }

    fn znode(&self, path: &str) -> Result<String> {
        if !path.starts_with('/') {
            return Err(PortError::Invalid(format!(
                "coordinator path `{path}` is not absolute: paths start with `/`"
            )));
        }
        Ok(format!("{}{path}", self.address.chroot))
    }

    /// Reads the znode and sets a one-shot watch on it: a data watch when it exists, an
    /// existence watch when it does not. Either fires on the next change, so no change after
    /// the value returned is missed.
    async fn read_and_watch(
        &self,
        client: &zkc::Client,
        znode: &str,
    ) -> Result<(Option<Versioned>, zkc::OneshotWatcher), zkc::Error> {
        loop {
            match bounded(client.get_and_watch_data(znode)).await {
                Ok((data, stat, watcher)) => return Ok((Some(versioned(data, &stat)), watcher)),
                Err(zkc::Error::NoNode) => {}
                Err(e) => return Err(e),
            }
            match bounded(client.check_and_watch_stat(znode)).await? {
                (None, watcher) => return Ok((None, watcher)),
                // Created between the two requests: read it, with a data watch this time.
                (Some(_), _) => continue,
            }
        }
    }

    /// Creates the parent znodes of `znode` (persistent), if it has any below the root.
    async fn create_parents(&self, client: &zkc::Client, znode: &str) -> Result<(), zkc::Error> {
        match znode.rfind('/') {
            Some(i) if i > 0 => bounded(client.mkdir(&znode[..i], &PERSISTENT)).await,
            _ => Ok(()),
        }
    }
}

/// Bounds a request by [`REQUEST_TIMEOUT`], failing it with [`zkc::Error::Timeout`].
async fn bounded<T>(request: impl Future<Output = Result<T, zkc::Error>>) -> Result<T, zkc::Error> {
    tokio::time::timeout(REQUEST_TIMEOUT, request)
        .await
        .unwrap_or(Err(zkc::Error::Timeout))
}

/// ZooKeeper versions are `i32`s that wrap after 2³¹ writes; they map one-to-one onto `u32`
/// so that a version read can always be named again in a compare-and-set.
fn version_of(stat: &zkc::Stat) -> u64 {
    u64::from(stat.version.cast_unsigned())
}

fn versioned(data: Vec<u8>, stat: &zkc::Stat) -> Versioned {
    Versioned {
        data,
        version: version_of(stat),
    }
}

#[async_trait]
impl Coordinator for ZkCoordinator {
    async fn get(&self, path: &str) -> Result<Option<Versioned>> {
        let znode = self.znode(path)?;
        let client = self.session.client().await?;
        match bounded(client.get_data(&znode)).await {
            Ok((data, stat)) => Ok(Some(versioned(data, &stat))),
            Err(zkc::Error::NoNode) => Ok(None),
            Err(e) => Err(port_error(e, "read", path)),
        }
    }

    async fn compare_and_set(&self, path: &str, data: &[u8], expected: Option<u64>) -> Result<u64> {
        let znode = self.znode(path)?;
        let client = self.session.client().await?;
        let Some(expected) = expected else {
            let mut created = bounded(client.create(&znode, data, &PERSISTENT)).await;
            if matches!(created, Err(zkc::Error::NoNode)) {
                self.session
                    .create_parents(&client, &znode)
                    .await
                    .map_err(|e| port_error(e, "create the parents of", path))?;
                created = bounded(client.create(&znode, data, &PERSISTENT)).await;
            }
            return match created {
                Ok((stat, _)) => Ok(version_of(&stat)),
                Err(zkc::Error::NodeExists) => Err(PortError::Conflict(format!(
                    "{path} already exists: re-read it and decide again"
                ))),
                Err(e) => Err(port_error(e, "create", path)),
            };
        };
        let Ok(version) = u32::try_from(expected) else {
            return Err(PortError::Conflict(format!(
                "{path} cannot be at version {expected} (ZooKeeper versions are 32-bit): re-read it and decide again"
            )));
        };
        match bounded(client.set_data(&znode, data, Some(version.cast_signed()))).await {
            Ok(stat) => Ok(version_of(&stat)),
            Err(zkc::Error::BadVersion) => Err(PortError::Conflict(format!(
                "{path} is no longer at version {expected}: re-read it and decide again"
            ))),
            Err(zkc::Error::NoNode) => Err(PortError::Conflict(format!(
                "{path} no longer exists (expected version {expected}): re-read it and decide again"
            ))),
            Err(e) => Err(port_error(e, "update", path)),
        }
    }

    async fn watch(&self, path: &str) -> Result<watch::Receiver<Option<Versioned>>> {
        let znode = self.znode(path)?;
        let client = self.session.client().await?;
        let (current, watcher) = self
            .session
            .read_and_watch(&client, &znode)
            .await
            .map_err(|e| port_error(e, "watch", path))?;
        let (tx, rx) = watch::channel(current);
        let span = tracing::info_span!("zk_watch", path = %path);
        let task = keep_current(self.session.clone(), path.to_string(), znode, tx, watcher);
        tokio::spawn(task.instrument(span));
        Ok(rx)
    }

    async fn append_sequential(&self, prefix: &str, data: &[u8]) -> Result<String> {
        let znode = self.znode(prefix)?;
        let client = self.session.client().await?;
        let mut created = bounded(client.create(&znode, data, &SEQUENTIAL)).await;
        if matches!(created, Err(zkc::Error::NoNode)) {
            self.session
                .create_parents(&client, &znode)
                .await
                .map_err(|e| port_error(e, "create the parents of", prefix))?;
            created = bounded(client.create(&znode, data, &SEQUENTIAL)).await;
        }
        match created {
            Ok((_, sequence)) => Ok(format!("{prefix}{sequence}")),
            Err(e) => Err(port_error(e, "append under", prefix)),
        }
    }

    async fn children(&self, prefix: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>> {
        let znode = self.znode(prefix)?;
        // `/a/flips/` lists the children of `/a/flips`; `/a/flips/x-` those named `x-…`.
        let slash = znode.rfind('/').unwrap_or(0);
        let (parent, name_prefix) = (&znode[..slash.max(1)], &znode[slash + 1..]);
        let client = self.session.client().await?;
        let names = match bounded(client.list_children(parent)).await {
            Ok(names) => names,
            Err(zkc::Error::NoNode) => return Ok(Vec::new()),
            Err(e) => return Err(port_error(e, "list the children of", prefix)),
        };
        let mut sequences: Vec<&str> = names
            .iter()
            .filter_map(|n| n.strip_prefix(name_prefix))
            .collect();
        // Sequence numbers are 10 digits, 19 once past i32::MAX: shorter sorts first.
        sequences.sort_by_key(|s| (s.len(), *s));
        let newest = &sequences[sequences.len().saturating_sub(limit)..];
        let base = if parent == "/" { "" } else { parent };
        // Each request is sent when its future is made: the reads are pipelined.
        let reads: Vec<_> = newest
            .iter()
            .map(|s| client.get_data(&format!("{base}/{name_prefix}{s}")))
            .collect();
        let mut out = Vec::with_capacity(reads.len());
        for (sequence, read) in newest.iter().zip(reads) {
            match bounded(read).await {
                Ok((data, _)) => out.push((format!("{prefix}{sequence}"), data)),
                // Deleted since the listing: it is no longer a child.
                Err(zkc::Error::NoNode) => {}
                Err(e) => return Err(port_error(e, "read the children of", prefix)),
            }
        }
        Ok(out)
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}

/// Keeps `tx` equal to the znode: waits for the one-shot watch to fire, reads the znode again
/// with a new watch, publishes the value if it changed, and repeats, until every receiver is
/// gone. A session event (expiry) fires the watch too; the next read then opens a new session.
async fn keep_current(
    session: Arc<Session>,
    path: String,
    znode: String,
    tx: watch::Sender<Option<Versioned>>,
    watcher: zkc::OneshotWatcher,
) {
    let mut watcher = Some(watcher);
    let mut backoff = REARM_BACKOFF.0;
    loop {
        if let Some(armed) = watcher.take() {
            tokio::select! {
                _ = tx.closed() => return,
                event = armed.changed() => {
                    tracing::debug!(event = ?event.event_type, state = ?event.session_state, "The watched znode changed.");
                }
            }
        }
        let rearmed = async {
            let client = session.client().await?;
            session
                .read_and_watch(&client, &znode)
                .await
                .map_err(|e| port_error(e, "watch", &path))
        };
        let failed = tokio::select! {
            _ = tx.closed() => return,
            r = rearmed => match r {
                Ok((value, armed)) => {
                    tx.send_if_modified(|current| {
                        let changed = *current != value;
                        if changed {
                            *current = value;
                        }
                        changed
                    });
                    watcher = Some(armed);
                    backoff = REARM_BACKOFF.0;
                    None
                }
                Err(error) => Some(error),
            }
        };
        if let Some(error) = failed {
            tracing::warn!(%error, retry_in = ?backoff, "Could not re-arm the ZooKeeper watch; retrying.");
            tokio::select! {
                _ = tx.closed() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(REARM_BACKOFF.1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    /// The server address from `LT_IT_ZK` (see `ports::conformance::server_address`).
    fn zk_address() -> Option<String> {
        ports::conformance::server_address("LT_IT_ZK", "ZooKeeper")
    }

    async fn wait_for(w: &mut watch::Receiver<Option<Versioned>>, data: &[u8]) {
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                if w.borrow_and_update()
                    .as_ref()
                    .is_some_and(|v| v.data == data)
                {
                    return;
                }
                w.changed().await.expect("the watch task is alive");
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the watch never saw {:?}", String::from_utf8_lossy(data)));
    }

    #[tokio::test]
    async fn bad_urls_fail_before_connecting() {
        // No server needed: the URL is parsed before connecting, and a bad one never connects.
        assert!(matches!(
            ZkCoordinator::connect("zk://127.0.0.1:2181/a//b").await,
            Err(PortError::Invalid(_))
        ));
        assert!(matches!(
            ZkCoordinator::connect("kafka://127.0.0.1:9092").await,
            Err(PortError::Invalid(_))
        ));
    }

    /// A TCP proxy to `upstream` that can cut the network: it drops its connections and
    /// refuses new ones while `cut` is true.
    async fn proxy(upstream: String) -> (String, watch::Sender<bool>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local = listener.local_addr().unwrap().to_string();
        let (cut, cut_rx) = watch::channel(false);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if *cut_rx.borrow() {
                    continue;
                }
                let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                let mut cut_rx = cut_rx.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut_rx.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        (local, cut)
    }

    /// A network partition longer than the session timeout expires the session, which is
    /// terminal for the client. The coordinator must open a new session for requests, and its
    /// watch must resume on the new session, catching up with a write made during the outage.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_expired_session_is_replaced_and_watches_resume() {
        let Some(addr) = zk_address() else { return };
        let chroot = format!("/lt-test-{:016x}", rand::random::<u64>());
        let (via_proxy, cut) = proxy(addr.clone()).await;
        let timeout = Duration::from_secs(4);
        let coord = ZkCoordinator::connect_with(&format!("zk://{via_proxy}{chroot}"), timeout)
            .await
            .expect("connect through the proxy");
        let direct = ZkCoordinator::connect(&format!("zk://{addr}{chroot}"))
            .await
            .expect("connect directly");
        let path = "/lambda-trends/doc";
        let mut w = coord.watch(path).await.expect("watch");
        let v0 = coord.compare_and_set(path, b"before", None).await.unwrap();
        wait_for(&mut w, b"before").await;

        let old = coord.client().await.unwrap();
        let mut state = old.state_watcher();
        cut.send_replace(true);
        tokio::time::timeout(timeout * 5, async {
            while state.changed().await != zkc::SessionState::Expired {}
        })
        .await
        .expect("the client declares its session expired");
        let v1 = direct
            .compare_and_set(path, b"during", Some(v0))
            .await
            .expect("written by another process during the outage");
        assert!(
            matches!(coord.get(path).await, Err(PortError::Unavailable(_))),
            "while the network is cut, requests are unavailable (retry later)"
        );
        cut.send_replace(false);

        // The watch catches up on a new session...
        wait_for(&mut w, b"during").await;
        let new = coord.client().await.unwrap();
        assert_ne!(new.session_id(), old.session_id());
        assert_eq!(
            old.get_data("/").await.unwrap_err(),
            zkc::Error::SessionExpired,
            "the expired client cannot be used again"
        );
        // ...and requests go through it, and the watch sees them.
        coord
            .compare_and_set(path, b"after", Some(v1))
            .await
            .expect("a request after expiry uses the new session");
        wait_for(&mut w, b"after").await;

        for p in [
            format!("{chroot}{path}"),
            format!("{chroot}/lambda-trends"),
            chroot,
        ] {
            let _ = new.delete(&p, None).await;
        }
    }
}
