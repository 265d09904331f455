//! The ZooKeeper coordinator against a real server: the port's conformance suite, the
//! batch/speed protocol on top of it, and two coordinators racing and watching each other.
//!
//! The server address comes from `LT_IT_ZK` (`host:port`; `scripts/it/up.sh` starts ZooKeeper
//! on 127.0.0.1:2181). Unset, the tests print a notice and pass, except in CI (`CI` set), where
//! they fail. Each test works under its own random chroot (`/lt-test-<random>`), removed at the
//! end when the test passes.

use ports::{Coordinator, PortError, conformance};
use std::sync::Arc;
use std::time::Duration;
use zk::ZkCoordinator;
use zookeeper_client as zkc;
/// The server address from `LT_IT_ZK` (see `ports::conformance::server_address`).
fn zk_address() -> Option<String> {
    ports::conformance::server_address("LT_IT_ZK", "ZooKeeper")
}

/// A fresh chroot on the server at `addr`: its URL and its path.
fn fresh_chroot(addr: &str) -> (String, String) {
    let chroot = format!("/lt-test-{:016x}", rand::random::<u64>());
    (format!("zk://{addr}{chroot}"), chroot)
}

async fn connect(url: &str) -> Arc<ZkCoordinator> {
    let coord = ZkCoordinator::connect(url)
        .await
        .expect("connect to ZooKeeper");
    assert_eq!(coord.describe(), url);
    coord
}

/// A plain client on the server, outside any chroot, to look at the znodes themselves.
async fn raw_client(addr: &str) -> zkc::Client {
    zkc::Client::connect(addr)
        .await
        .expect("connect a raw client")
}

/// Deletes `path` and everything below it.
async fn remove_tree(client: &zkc::Client, path: &str) {
    let mut order = vec![path.to_string()];
    let mut i = 0;
    while i < order.len() {
        let children = client.list_children(&order[i]).await.unwrap_or_default();
        let parent = order[i].clone();
        order.extend(children.into_iter().map(|c| format!("{parent}/{c}")));
        i += 1;
    }
    for p in order.iter().rev() {
        let _ = client.delete(p, None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zookeeper_coordinator_conforms() {
    let Some(addr) = zk_address() else { return };
    let (url, chroot) = fresh_chroot(&addr);
    let coord = connect(&url).await;
    conformance::coordinator(coord.clone(), "/conformance").await;
    assert!(
        matches!(coord.get("relative").await, Err(PortError::Invalid(_))),
        "paths are absolute"
    );

    let raw = raw_client(&addr).await;
    let (data, _) = raw
        .get_data(&format!("{chroot}/conformance/doc"))
        .await
        .expect("documents live under the chroot");
    assert_eq!(data, b"two");
    assert!(
        raw.check_stat("/conformance").await.unwrap().is_none(),
        "nothing is written outside the chroot"
    );
    remove_tree(&raw, &chroot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_conforms_on_zookeeper() {
    let Some(addr) = zk_address() else { return };
    let (url, chroot) = fresh_chroot(&addr);
    let coord = connect(&url).await;
    conformance::protocol(coord.clone()).await;

    let raw = raw_client(&addr).await;
    for doc in ["active", "speed", "recompute-lease"] {
        assert!(
            raw.check_stat(&format!("{chroot}/lambda-trends/{doc}"))
                .await
                .unwrap()
                .is_some(),
            "{doc} is a znode under the chroot"
        );
    }
    let flips = raw
        .list_children(&format!("{chroot}/lambda-trends/flips"))
        .await
        .unwrap();
    assert_eq!(
        flips.len(),
        6,
        "one sequential znode per flip, rollback, shadow pair or abort"
    );
    let history = coord
        .children(&format!("{}/", ports::protocol::FLIPS_PREFIX), 10)
        .await
        .unwrap();
    for (path, _) in &history {
        assert!(
            path.starts_with("/lambda-trends/flips/"),
            "children are named by protocol paths, without the chroot: {path}"
        );
    }
    remove_tree(&raw, &chroot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_sees_a_write_by_another_coordinator() {
    let Some(addr) = zk_address() else { return };
    let (url, chroot) = fresh_chroot(&addr);
    // Two independent coordinators (two sessions) stand in for two processes.
    let (writer, reader) = (connect(&url).await, connect(&url).await);
    let path = "/lambda-trends/active";
    let mut w = reader.watch(path).await.expect("watch");
    assert_eq!(
        *w.borrow_and_update(),
        None,
        "a missing document reads as None"
    );

    let v0 = writer.compare_and_set(path, b"1", None).await.unwrap();
    let v1 = writer.compare_and_set(path, b"2", Some(v0)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(v) = &*w.borrow_and_update()
                && v.data == b"2"
            {
                assert_eq!(v.version, v1, "the watch carries the version to name next");
                return;
            }
            w.changed().await.expect("watch alive");
        }
    })
    .await
    .expect("the reader's watch sees the writer's latest value");

    // The watcher can act on what it saw: its compare-and-set wins, and the writer's stale one
    // conflicts.
    let seen = w.borrow().clone().unwrap();
    reader
        .compare_and_set(path, b"3", Some(seen.version))
        .await
        .expect("the watched version is current");
    assert!(matches!(
        writer.compare_and_set(path, b"stale", Some(v1)).await,
        Err(PortError::Conflict(_))
    ));
    drop(w);
    remove_tree(&raw_client(&addr).await, &chroot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_compare_and_set_race_conflicts() {
    let Some(addr) = zk_address() else { return };
    let (url, chroot) = fresh_chroot(&addr);
    let (a, b) = (connect(&url).await, connect(&url).await);
    let path = "/lambda-trends/speed";

    // Both create at once: exactly one wins.
    let (ra, rb) = tokio::join!(
        a.compare_and_set(path, b"from a", None),
        b.compare_and_set(path, b"from b", None)
    );
    let created = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
    assert_eq!(created, 1, "one create wins: {ra:?} {rb:?}");
    for r in [&ra, &rb] {
        assert!(
            matches!(r, Ok(0) | Err(PortError::Conflict(_))),
            "the loser conflicts: {r:?}"
        );
    }

    // Both read the same version, both write: the second loses.
    let va = a.get(path).await.unwrap().unwrap().version;
    let vb = b.get(path).await.unwrap().unwrap().version;
    assert_eq!(va, vb);
    let won = a.compare_and_set(path, b"a wins", Some(va)).await.unwrap();
    assert_eq!(won, va + 1, "versions grow by one per write");
    match b.compare_and_set(path, b"b loses", Some(vb)).await {
        Err(PortError::Conflict(msg)) => assert!(msg.contains("re-read"), "{msg}"),
        other => panic!("the lost race must conflict, got {other:?}"),
    }
    assert_eq!(b.get(path).await.unwrap().unwrap().data, b"a wins");

    // A deleted document conflicts too: the expected version no longer exists.
    let raw = raw_client(&addr).await;
    raw.delete(&format!("{chroot}{path}"), None).await.unwrap();
    assert!(matches!(
        b.compare_and_set(path, b"gone", Some(won)).await,
        Err(PortError::Conflict(_))
    ));
    remove_tree(&raw, &chroot).await;
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    // Port 1 on localhost refuses connections: no server needed.
    match ZkCoordinator::connect("zk://127.0.0.1:1/lt").await {
        Err(PortError::Unavailable(msg)) => assert!(msg.contains("retry"), "{msg}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
