//! The conformance suite on the embedded backends.

use ports::{EmbeddedStore, ObjectStoreMasterDataset, conformance};
use std::sync::Arc;

#[tokio::test]
async fn embedded_event_log_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance::event_log(
        Arc::new(EmbeddedStore::open(dir.path(), 3).unwrap()),
        "posts",
    )
    .await;
}

#[tokio::test]
async fn embedded_view_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance::view_store(Arc::new(EmbeddedStore::open(dir.path(), 3).unwrap())).await;
}

#[tokio::test]
async fn embedded_coordinator_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance::coordinator(
        Arc::new(EmbeddedStore::open(dir.path(), 3).unwrap()),
        "/conformance",
    )
    .await;
}

#[tokio::test]
async fn protocol_conforms_on_embedded_coordinator() {
    let dir = tempfile::tempdir().unwrap();
    conformance::protocol(Arc::new(EmbeddedStore::open(dir.path(), 3).unwrap())).await;
}

#[tokio::test]
async fn local_master_dataset_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance::master_dataset(Arc::new(
        ObjectStoreMasterDataset::local(dir.path()).unwrap(),
    ))
    .await;
}

#[tokio::test]
async fn a_second_process_handle_sees_writes() {
    // Two handles on one file stand in for `lambda-trends recompute` beside `lambda-trends up`.
    use ports::Coordinator;
    let dir = tempfile::tempdir().unwrap();
    let a = EmbeddedStore::open(dir.path(), 1).unwrap();
    let b = EmbeddedStore::open(dir.path(), 1).unwrap();
    let mut w = b.watch("/x").await.unwrap();
    a.compare_and_set("/x", b"1", None).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), w.changed())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w.borrow().as_ref().unwrap().data, b"1");
}

#[tokio::test]
async fn a_group_has_one_member_on_the_embedded_log() {
    use ports::{EventLog, PortError};
    let dir = tempfile::tempdir().unwrap();
    let a = EmbeddedStore::open(dir.path(), 2).unwrap();
    let first = a.consumer("posts", "speed").await.unwrap();
    // A second handle on the same file stands in for a second process.
    let b = EmbeddedStore::open(dir.path(), 2).unwrap();
    match b.consumer("posts", "speed").await {
        Err(PortError::Conflict(msg)) => assert!(msg.contains("one member per group"), "{msg}"),
        other => panic!(
            "a second member must be refused, got {:?}",
            other.map(|_| ())
        ),
    }
    assert!(
        b.consumer("posts", "ingest").await.is_ok(),
        "other groups are independent"
    );
    drop(first);
    assert!(
        b.consumer("posts", "speed").await.is_ok(),
        "the group is free again once the member is gone"
    );
}

#[tokio::test]
async fn a_namespaced_log_conforms_and_keeps_to_its_namespace() {
    use ports::{EventLog, NamespacedLog};
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn EventLog> = Arc::new(EmbeddedStore::open(dir.path(), 3).unwrap());
    conformance::event_log(
        Arc::new(NamespacedLog::new(store.clone(), "run-1").unwrap()),
        "posts",
    )
    .await;
    assert_eq!(
        store
            .end_offsets("run-1.posts")
            .await
            .unwrap()
            .values()
            .sum::<u64>(),
        40
    );
    assert_eq!(
        store
            .end_offsets("posts")
            .await
            .unwrap()
            .values()
            .sum::<u64>(),
        0,
        "nothing outside the namespace"
    );
    assert!(NamespacedLog::new(store, "bad/name").is_err());
}
