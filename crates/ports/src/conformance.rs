//! The conformance suite every implementation of the ports runs: the embedded defaults here,
//! the real servers in their own crates. Each function panics (like `assert!`) on the first
//! behaviour that differs from the trait's contract.
//!
//! Each takes a fresh, empty backend (a new data directory, topic, keyspace or root path).

use crate::protocol::{HandshakeProgress, LambdaSwitch, SpeedPhase};
use crate::{
    BatchTable, ConsumerEvent, Coordinator, EventLog, Manifest, MasterDataset, MasterFile,
    NewMasterFile, NewRecord, PortError, SlotCount, SpeedTable, ViewStore, ViewTable,
};
use model::SlotStart;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The address of a real server for an integration test, from the environment variable `var`
/// (`LT_IT_KAFKA`, `LT_IT_CASSANDRA`, `LT_IT_ZK`; `scripts/it/up.sh` writes them). When it is
/// unset: in CI (`CI` set) the test fails, naming the variable; elsewhere it prints a notice and
/// the test returns early (`None`).
pub fn server_address(var: &str, server: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(addr) if !addr.trim().is_empty() => Some(addr.trim().to_string()),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{var} is not set, but CI is: the {server} integration tests must run in CI. \
                 Start the servers (scripts/it/up.sh), then `source .dev/it/env.sh`."
            );
            eprintln!(
                "note: {var} is not set; skipping this {server} integration test \
                 (start it with scripts/it/up.sh, then `source .dev/it/env.sh`)."
            );
            None
        }
    }
}

/// Store options for the S3-compatible test server at `endpoint` (moto, `scripts/it/s3.sh`),
/// for [`crate::ObjectStoreMasterDataset::from_url_with`].
pub fn s3_test_options(endpoint: &str) -> Vec<(String, String)> {
    [
        ("aws_endpoint", endpoint),
        ("aws_allow_http", "true"),
        ("aws_region", "us-east-1"),
        ("aws_access_key_id", "test"),
        ("aws_secret_access_key", "test"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn rec(key: &str, value: &str) -> NewRecord {
    NewRecord {
        key: key.as_bytes().to_vec(),
        value: value.as_bytes().to_vec(),
        headers: Vec::new(),
    }
}

/// [`EventLog`]: append, per-partition order, dense offsets, group offsets, headers.
pub async fn event_log(log: Arc<dyn EventLog>, topic: &str) {
    let partitions = log.ensure_topic(topic).await.expect("ensure_topic");
    assert!(partitions >= 1);
    assert_eq!(
        log.ensure_topic(topic).await.unwrap(),
        partitions,
        "ensure_topic is idempotent"
    );
    let ends = log.end_offsets(topic).await.unwrap();
    assert!(
        ends.values().all(|e| *e == 0),
        "a new topic is empty: {ends:?}"
    );

    let mut batch: Vec<NewRecord> = (0..40)
        .map(|i| rec(&format!("author-{}", i % 7), &format!("v{i}")))
        .collect();
    batch[3].headers = vec![("reason".into(), b"bad_datum".to_vec())];
    let positions = log.append(topic, batch.clone()).await.expect("append");
    assert_eq!(positions.len(), 40);
    let mut per_key: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
    for (r, p) in batch.iter().zip(&positions) {
        let first = *per_key.entry(r.key.clone()).or_insert(p.partition);
        assert_eq!(first, p.partition, "one key, one partition");
    }
    let ends = log.end_offsets(topic).await.unwrap();
    assert_eq!(ends.values().sum::<u64>(), 40);

    let mut c = log.consumer(topic, "conformance").await.expect("consumer");
    let mut got: Vec<crate::LogRecord> = Vec::new();
    let mut assigned = Vec::new();
    for _ in 0..200 {
        match c.poll(7, Duration::from_millis(200)).await.expect("poll") {
            ConsumerEvent::Assigned(ps) => assigned.extend(ps),
            ConsumerEvent::Revoked(_) => {}
            ConsumerEvent::Records(rs) => got.extend(rs),
        }
        if got.len() >= 40 {
            break;
        }
    }
    assert_eq!(got.len(), 40, "every appended record is consumed once");
    assigned.sort_unstable();
    assert_eq!(
        assigned,
        (0..partitions).collect::<Vec<_>>(),
        "a lone member gets every partition"
    );
    let mut last: BTreeMap<u32, u64> = BTreeMap::new();
    for r in &got {
        let expect = last.get(&r.partition).map_or(0, |o| o + 1);
        assert_eq!(
            r.offset, expect,
            "offsets are dense and in order within a partition"
        );
        last.insert(r.partition, r.offset);
    }
    let with_header = got.iter().find(|r| r.value == b"v3").expect("v3");
    assert_eq!(
        with_header.headers,
        vec![("reason".to_string(), b"bad_datum".to_vec())]
    );

    // Commit part of it; a new member of the group resumes there.
    let commit: BTreeMap<u32, u64> = last.iter().map(|(p, o)| (*p, o / 2 + 1)).collect();
    c.commit(&commit).await.expect("commit");
    drop(c);
    assert_eq!(
        log.committed_offsets(topic, "conformance").await.unwrap(),
        commit
    );
    let mut c2 = log.consumer(topic, "conformance").await.unwrap();
    let mut again = Vec::new();
    for _ in 0..200 {
        if let ConsumerEvent::Records(rs) = c2.poll(100, Duration::from_millis(200)).await.unwrap()
        {
            again.extend(rs);
        }
        let expected: u64 = last.iter().map(|(p, o)| o + 1 - commit[p]).sum();
        if again.len() as u64 >= expected {
            break;
        }
    }
    for r in &again {
        assert!(
            r.offset >= commit[&r.partition],
            "resumes at the committed offset"
        );
    }
    let expected: u64 = last.iter().map(|(p, o)| o + 1 - commit[p]).sum();
    assert_eq!(again.len() as u64, expected);
    assert!(
        log.committed_offsets(topic, "another-group")
            .await
            .unwrap()
            .is_empty(),
        "groups are independent"
    );
}

fn cell(tag: &str, slot: i64, count: i64) -> SlotCount {
    SlotCount {
        hashtag: tag.into(),
        slot: SlotStart(slot * model::SLOT_MILLIS),
        count,
    }
}

/// [`ViewStore`]: counters add, batch rows set, series and totals read, truncate isolates.
pub async fn view_store(views: Arc<dyn ViewStore>) {
    views.migrate().await.expect("migrate");
    views.migrate().await.expect("migrate is idempotent");
    let s0 = SpeedTable::Zero;
    views
        .add_increments(
            s0,
            &[cell("rust", 10, 2), cell("rust", 11, 1), cell("go", 10, 5)],
        )
        .await
        .unwrap();
    views
        .add_increments(s0, &[cell("rust", 10, 3)])
        .await
        .unwrap();
    let series = views
        .read_series(
            ViewTable::Speed(s0),
            "rust",
            SlotStart(0),
            SlotStart(100 * model::SLOT_MILLIS),
        )
        .await
        .unwrap();
    assert_eq!(
        series,
        vec![cell("rust", 10, 5), cell("rust", 11, 1)],
        "counters add up, in time order"
    );
    let only_10 = views
        .read_series(
            ViewTable::Speed(s0),
            "rust",
            SlotStart(10 * model::SLOT_MILLIS),
            SlotStart(10 * model::SLOT_MILLIS),
        )
        .await
        .unwrap();
    assert_eq!(
        only_10,
        vec![cell("rust", 10, 5)],
        "the range is inclusive on both ends"
    );

    views
        .write_batch_rows(
            BatchTable::A,
            &[cell("rust", 9, 7), cell("rustacean", 9, 1)],
        )
        .await
        .unwrap();
    views
        .write_batch_rows(BatchTable::A, &[cell("rust", 9, 4)])
        .await
        .unwrap();
    let batch = views
        .read_series(
            ViewTable::Batch(BatchTable::A),
            "rust",
            SlotStart(0),
            SlotStart(100 * model::SLOT_MILLIS),
        )
        .await
        .unwrap();
    assert_eq!(batch, vec![cell("rust", 9, 4)], "batch rows overwrite");

    let mut totals = views
        .hashtag_totals(
            ViewTable::Speed(s0),
            SlotStart(10 * model::SLOT_MILLIS),
            SlotStart(11 * model::SLOT_MILLIS),
        )
        .await
        .unwrap();
    totals.sort();
    assert_eq!(
        totals,
        vec![
            crate::HashtagCount {
                hashtag: "go".into(),
                count: 5
            },
            crate::HashtagCount {
                hashtag: "rust".into(),
                count: 6
            }
        ]
    );
    let found = views
        .search_hashtags(ViewTable::Batch(BatchTable::A), "rust", 10)
        .await
        .unwrap();
    assert_eq!(found, vec!["rust".to_string(), "rustacean".to_string()]);

    for t in [
        ViewTable::Speed(SpeedTable::One),
        ViewTable::Batch(BatchTable::B),
    ] {
        let empty = views
            .read_series(t, "rust", SlotStart(0), SlotStart(100 * model::SLOT_MILLIS))
            .await
            .unwrap();
        assert!(
            empty.is_empty(),
            "{t} is untouched by writes to other tables"
        );
    }
    views.truncate(ViewTable::Speed(s0)).await.unwrap();
    assert!(
        views
            .read_series(
                ViewTable::Speed(s0),
                "rust",
                SlotStart(0),
                SlotStart(100 * model::SLOT_MILLIS)
            )
            .await
            .unwrap()
            .is_empty(),
        "truncate empties the table"
    );
    assert_eq!(
        views
            .read_series(
                ViewTable::Batch(BatchTable::A),
                "rust",
                SlotStart(0),
                SlotStart(100 * model::SLOT_MILLIS)
            )
            .await
            .unwrap()
            .len(),
        1,
        "truncate leaves the other tables alone"
    );
    views
        .add_increments(s0, &[cell("rust", 10, 1)])
        .await
        .unwrap();
    assert_eq!(
        views
            .read_series(
                ViewTable::Speed(s0),
                "rust",
                SlotStart(0),
                SlotStart(100 * model::SLOT_MILLIS)
            )
            .await
            .unwrap(),
        vec![cell("rust", 10, 1)],
        "a truncated counter table counts from zero"
    );

    // Keys are data, never statement text: view keys carry dimension values that come from
    // posts (a `lang` or `source` field), so quotes, semicolons, comment markers, the key
    // separator and non-ASCII must round-trip exactly and touch nothing else.
    let hostile = [
        "by_lang\u{1f}en'); DROP TABLE batch_view_a; --\u{1f}rust",
        "by_source\u{1f}\" OR 1=1 --\u{1f}go",
        "x'||'y",
        "東京\u{1f}ü\u{1f}%_\\",
    ];
    let (s1, b) = (SpeedTable::One, BatchTable::B);
    for (i, key) in hostile.iter().enumerate() {
        views
            .add_increments(s1, &[cell(key, 20, i as i64 + 1)])
            .await
            .unwrap();
        views
            .write_batch_rows(b, &[cell(key, 21, 10 + i as i64)])
            .await
            .unwrap();
    }
    for (i, key) in hostile.iter().enumerate() {
        let all = SlotStart(100 * model::SLOT_MILLIS);
        assert_eq!(
            views
                .read_series(ViewTable::Speed(s1), key, SlotStart(0), all)
                .await
                .unwrap(),
            vec![cell(key, 20, i as i64 + 1)],
            "{key:?} round-trips in a counter table"
        );
        assert_eq!(
            views
                .read_series(ViewTable::Batch(b), key, SlotStart(0), all)
                .await
                .unwrap(),
            vec![cell(key, 21, 10 + i as i64)],
            "{key:?} round-trips in a batch table"
        );
    }
    let mut totals = views
        .hashtag_totals(
            ViewTable::Batch(b),
            SlotStart(21 * model::SLOT_MILLIS),
            SlotStart(21 * model::SLOT_MILLIS),
        )
        .await
        .unwrap();
    totals.sort();
    let mut want: Vec<_> = hostile
        .iter()
        .enumerate()
        .map(|(i, key)| crate::HashtagCount {
            hashtag: key.to_string(),
            count: 10 + i as i64,
        })
        .collect();
    want.sort();
    assert_eq!(totals, want, "totals list the keys as written");
    assert_eq!(
        views
            .read_series(
                ViewTable::Batch(BatchTable::A),
                "rust",
                SlotStart(0),
                SlotStart(100 * model::SLOT_MILLIS)
            )
            .await
            .unwrap(),
        vec![cell("rust", 9, 4)],
        "batch_view_a is untouched"
    );
    views.truncate(ViewTable::Speed(s1)).await.unwrap();
    views.truncate(ViewTable::Batch(b)).await.unwrap();
}

/// [`Coordinator`]: create, compare-and-set, conflicts, watches, sequential children; and the
/// protocol's handshake on top of it.
pub async fn coordinator(coord: Arc<dyn Coordinator>, root: &str) {
    let path = format!("{root}/doc");
    assert_eq!(coord.get(&path).await.unwrap(), None);
    let mut w = coord.watch(&path).await.expect("watch");
    assert_eq!(*w.borrow_and_update(), None);
    let v0 = coord
        .compare_and_set(&path, b"one", None)
        .await
        .expect("create");
    assert!(
        matches!(
            coord.compare_and_set(&path, b"again", None).await,
            Err(PortError::Conflict(_))
        ),
        "create twice conflicts"
    );
    let v1 = coord
        .compare_and_set(&path, b"two", Some(v0))
        .await
        .expect("cas");
    assert!(v1 > v0);
    assert!(
        matches!(
            coord.compare_and_set(&path, b"stale", Some(v0)).await,
            Err(PortError::Conflict(_))
        ),
        "a stale version conflicts"
    );
    assert_eq!(coord.get(&path).await.unwrap().unwrap().data, b"two");
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if w.borrow_and_update()
                .as_ref()
                .is_some_and(|v| v.data == b"two")
            {
                break;
            }
            w.changed().await.expect("watch alive");
        }
    })
    .await
    .expect("the watch sees the latest value");

    let prefix = format!("{root}/flips/");
    let a = coord.append_sequential(&prefix, b"a").await.unwrap();
    let b = coord.append_sequential(&prefix, b"b").await.unwrap();
    assert!(a < b, "sequential names increase: {a} < {b}");
    let children = coord.children(&prefix, 10).await.unwrap();
    assert_eq!(
        children.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>(),
        vec![b"a".to_vec(), b"b".to_vec()]
    );
    assert_eq!(
        coord.children(&prefix, 1).await.unwrap().len(),
        1,
        "limit keeps the newest"
    );
}

/// The protocol over a coordinator: handshake, flip, rollback. `coord` must be fresh (the
/// protocol documents live at fixed paths under `/lambda-trends`).
pub async fn protocol(coord: Arc<dyn Coordinator>) {
    let switch = LambdaSwitch::new(coord.clone());
    let initial = switch.active().await.unwrap();
    assert_eq!(initial.epoch.0, 0);
    switch.initialize().await.expect("initialize");
    let written = coord
        .get("/lambda-trends/active")
        .await
        .unwrap()
        .expect("initialize writes the active pair");
    switch.initialize().await.expect("initialize twice");
    assert_eq!(
        coord
            .get("/lambda-trends/active")
            .await
            .unwrap()
            .unwrap()
            .version,
        written.version,
        "initialize leaves an existing document alone"
    );
    assert_eq!(switch.active().await.unwrap(), initial);
    let info = switch
        .begin_recompute(2, &model::ViewSet::default(), false)
        .await
        .expect("begin");
    assert_eq!(info.speed, initial.speed.other());
    assert!(
        matches!(
            switch
                .begin_recompute(2, &model::ViewSet::default(), false)
                .await,
            Err(PortError::Conflict(_))
        ),
        "one recompute at a time"
    );
    assert_eq!(
        switch.handshake().await.unwrap(),
        HandshakeProgress::AwaitingAcks(vec![0, 1])
    );
    switch.at_commit_boundary(&[(0, 5)].into()).await.unwrap();
    assert!(
        matches!(switch.mark_restarted().await, Err(PortError::Invalid(_))),
        "cannot restart before every ack"
    );
    switch.at_commit_boundary(&[(1, 9)].into()).await.unwrap();
    assert_eq!(switch.handshake().await.unwrap(), HandshakeProgress::Acked);
    switch.mark_restarted().await.unwrap();
    let state = switch
        .at_commit_boundary(&[(0, 6), (1, 9)].into())
        .await
        .unwrap();
    assert_eq!(
        state.phase(info.speed),
        &SpeedPhase::Restarted {
            start: [(0, 6), (1, 9)].into()
        }
    );
    let HandshakeProgress::Started(cut) = switch.handshake().await.unwrap() else {
        panic!("started")
    };
    let pair = switch.flip(&info, &cut).await.expect("flip");
    assert_eq!(
        (pair.epoch.0, pair.batch, pair.speed),
        (1, info.batch, info.speed)
    );
    assert_eq!(switch.active().await.unwrap(), pair);
    let back = switch.rollback().await.expect("rollback");
    assert_eq!(
        (back.epoch.0, back.batch, back.speed),
        (2, initial.batch, initial.speed)
    );
    let history = switch.history(10).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|h| h.action.as_str())
            .collect::<Vec<_>>(),
        vec!["flip", "rollback"]
    );

    // A recompute whose owner died: its lease expires and the next run takes it over.
    let dead = switch
        .begin_recompute(2, &model::ViewSet::default(), false)
        .await
        .unwrap();
    switch.renew_lease(&dead).await.expect("renew");
    let minute = std::time::Duration::from_secs(60);
    assert!(switch.stale_recompute(minute).await.unwrap().is_none());
    assert!(switch.take_over_stale(minute).await.unwrap().is_none());
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let timeout = std::time::Duration::from_millis(10);
    let (stale, _) = switch
        .stale_recompute(timeout)
        .await
        .unwrap()
        .expect("its lease is older than the timeout");
    assert!(stale.same_run(&dead));
    let taken = switch.take_over_stale(timeout).await.unwrap();
    assert!(taken.is_some_and(|t| t.same_run(&dead)), "taken over");
    assert!(switch.speed_state().await.unwrap().recompute.is_none());
    assert!(
        switch.take_over_stale(timeout).await.unwrap().is_none(),
        "only once"
    );
    // The next run starts; the dead one, were it only paused, can no longer finish.
    let next = switch
        .begin_recompute(2, &model::ViewSet::default(), false)
        .await
        .expect("the next recompute starts");
    assert_eq!(next.epoch, dead.epoch);
    switch
        .renew_lease(&next)
        .await
        .expect("the new run holds the lease");
    assert!(matches!(
        switch.renew_lease(&dead).await,
        Err(PortError::Conflict(_))
    ));
    assert!(matches!(
        switch.mark_batch_ready(&dead, &cut).await,
        Err(PortError::Conflict(_))
    ));
    assert!(matches!(
        switch.flip(&dead, &cut).await,
        Err(PortError::Conflict(_))
    ));
    assert!(
        switch
            .abort_recompute()
            .await
            .unwrap()
            .is_some_and(|a| a.same_run(&next))
    );

    // A shadow pair waiting for its flip has no owner to lose: never stale.
    let shadow = switch
        .begin_recompute(2, &model::ViewSet::default(), true)
        .await
        .unwrap();
    switch.mark_batch_ready(&shadow, &cut).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(switch.take_over_stale(timeout).await.unwrap().is_none());
    switch.abort_recompute().await.unwrap();
    let history = switch.history(10).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|h| h.action.as_str())
            .collect::<Vec<_>>(),
        vec!["flip", "rollback", "abort", "abort", "shadow", "abort"]
    );
}

/// [`MasterDataset`]: appends publish files and offsets atomically; stale bases conflict.
pub async fn master_dataset(master: Arc<dyn MasterDataset>) {
    let m0 = master.manifest().await.expect("manifest");
    assert_eq!(m0, Manifest::default(), "a new dataset is empty");
    let file = |p: u32, first: u64, last: u64| NewMasterFile {
        file: MasterFile {
            path: format!("date=2026-11-23/hour=06/part-{p}-{first}-{last}.parquet"),
            partition: p,
            first_offset: first,
            last_offset: last,
            rows: last - first + 1,
            bytes: 3,
        },
        data: bytes::Bytes::from_static(b"PAR"),
    };
    let m1 = master
        .append(
            &m0,
            vec![file(0, 0, 9), file(1, 0, 4)],
            [(0, 10), (1, 5)].into(),
        )
        .await
        .expect("append");
    assert_eq!(m1.version, 1);
    assert_eq!(master.manifest().await.unwrap(), m1);
    assert!(
        matches!(
            master.append(&m0, vec![], [(0, 11)].into()).await,
            Err(PortError::Conflict(_))
        ),
        "a stale base conflicts"
    );
    // Versions a few milliseconds apart, so each has a time of its own (for `manifest_at`).
    tokio::time::sleep(Duration::from_millis(5)).await;
    let m2 = master
        .append(&m1, vec![file(0, 10, 19)], [(0, 20)].into())
        .await
        .unwrap();
    assert_eq!(m2.rows(), 25);
    assert!(m2.covers(&[(0, 20), (1, 5)].into()));
    assert!(!m2.covers(&[(1, 6)].into()));
    assert_eq!(
        m2.files_before(&[(0, 10)].into()).len(),
        1,
        "only files with rows before the cut"
    );
    let (_, store) = master.object_store();
    let url = master.file_url(&m2.files[0]);
    let path = object_store::path::Path::from_url_path(url.path()).expect("a store path");
    let got = object_store::ObjectStoreExt::get(&store, &path)
        .await
        .expect("the file is readable through the store");
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"PAR");

    // As of a time: the manifest that was newest then.
    let at_m1 = master.manifest_at(m1.updated_at.unwrap()).await.unwrap();
    assert_eq!(at_m1, m1, "as of m1's time, m1");
    let before = master
        .manifest_at(m1.updated_at.unwrap() - chrono::Duration::seconds(3600))
        .await
        .unwrap();
    assert_eq!(
        before,
        Manifest::default(),
        "before the first append, nothing"
    );

    // Compaction: files swapped for one with the same rows, in one version; the old ones
    // retired (still readable) until purged.
    let old_paths: Vec<String> = m2
        .files
        .iter()
        .filter(|f| f.partition == 0)
        .map(|f| f.path.clone())
        .collect();
    assert_eq!(old_paths.len(), 2);
    let merged = file(0, 0, 19);
    let m3 = master
        .compact(
            &m2,
            crate::master::Compaction {
                remove: old_paths.clone(),
                add: vec![merged.clone()],
                purge: vec![],
            },
        )
        .await
        .expect("compact");
    assert_eq!(m3.version, m2.version + 1);
    assert_eq!(m3.rows(), m2.rows(), "the same rows");
    assert_eq!(m3.offsets, m2.offsets, "compaction does not move offsets");
    assert_eq!(m3.files.len(), 2);
    assert_eq!(
        m3.retired
            .iter()
            .map(|r| r.path.clone())
            .collect::<Vec<_>>(),
        old_paths
    );
    assert_eq!(master.manifest().await.unwrap(), m3);
    let retired_path = |rel: &str| {
        let f = MasterFile {
            path: rel.to_string(),
            ..merged.file.clone()
        };
        object_store::path::Path::from_url_path(master.file_url(&f).path()).unwrap()
    };
    assert!(
        object_store::ObjectStoreExt::get(&store, &retired_path(&old_paths[0]))
            .await
            .is_ok(),
        "a retired file stays readable"
    );
    assert!(
        matches!(
            master
                .compact(
                    &m2,
                    crate::master::Compaction {
                        remove: old_paths.clone(),
                        add: vec![merged.clone()],
                        purge: vec![],
                    }
                )
                .await,
            Err(PortError::Conflict(_))
        ),
        "a stale base conflicts"
    );
    assert!(
        matches!(
            master
                .compact(
                    &m3,
                    crate::master::Compaction {
                        remove: vec![merged.file.path.clone()],
                        add: vec![file(0, 0, 18)],
                        purge: vec![],
                    }
                )
                .await,
            Err(PortError::Invalid(_))
        ),
        "a compaction that would change the rows is refused"
    );
    let m4 = master
        .compact(
            &m3,
            crate::master::Compaction {
                purge: old_paths.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("purge");
    assert!(m4.retired.is_empty());
    assert_eq!(m4.rows(), m2.rows());
    assert!(
        object_store::ObjectStoreExt::get(&store, &retired_path(&old_paths[0]))
            .await
            .is_err(),
        "a purged file is deleted"
    );
}
