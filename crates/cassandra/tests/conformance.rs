//! The Cassandra view store against a real node: the port's conformance suite, a series across
//! midnight (two date partitions), and counter batches of hundreds of increments.
//!
//! The node's address comes from `LT_IT_CASSANDRA` (`host:port`; `scripts/it/up.sh cassandra`
//! starts one on 127.0.0.1:9042). Unset, the tests print a notice and pass, except in CI (`CI`
//! set), where they fail. Each test uses its own random keyspace and drops it at the end, also
//! when the test fails.

use cassandra::{CassandraOptions, CassandraViewStore};
use futures::FutureExt;
use model::{SLOT_MILLIS, SlotStart};
use ports::{
    BatchTable, HashtagCount, PortError, SlotCount, SpeedTable, ViewStore, ViewTable, conformance,
};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};
/// The node address from `LT_IT_CASSANDRA` (see `ports::conformance::server_address`).
fn cassandra_addr() -> Option<String> {
    ports::conformance::server_address("LT_IT_CASSANDRA", "Cassandra")
}

/// Runs `test` on a store in a fresh random keyspace, then drops the keyspace (also when the
/// test panics, before the panic goes on).
async fn with_keyspace<F, Fut>(options: CassandraOptions, test: F)
where
    F: FnOnce(Arc<CassandraViewStore>, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(addr) = cassandra_addr() else { return };
    let keyspace = format!("lt_it_{:016x}", rand::random::<u64>());
    let url = format!("cassandra://{addr}/{keyspace}");
    let views = CassandraViewStore::connect_with(&url, options)
        .await
        .expect("connect to Cassandra");
    let outcome = AssertUnwindSafe(test(views.clone(), url))
        .catch_unwind()
        .await;
    let dropped = views
        .session()
        .query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ())
        .await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    dropped.expect("drop the test keyspace");
}

fn cell(tag: &str, slot: SlotStart, count: i64) -> SlotCount {
    SlotCount {
        hashtag: tag.into(),
        slot,
        count,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cassandra_view_store_conforms() {
    with_keyspace(CassandraOptions::default(), |views, url| async move {
        assert_eq!(views.describe(), url);
        conformance::view_store(views).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_series_across_midnight_reads_both_date_partitions() {
    with_keyspace(CassandraOptions::default(), |views, _| async move {
        views.migrate().await.expect("migrate");
        // 2026-11-23T00:00:00Z, a midnight; the slots around it sit in two date partitions.
        let midnight = SlotStart(1_795_392_000_000);
        assert_eq!((midnight.key().hour, midnight.key().min_5), (0, 0));
        let at = |n: i64| SlotStart(midnight.0 + n * SLOT_MILLIS);
        let speed = SpeedTable::One;
        views
            .add_increments(
                speed,
                &[
                    cell("rust", at(-2), 1),
                    cell("rust", at(-1), 2),
                    cell("rust", at(0), 3),
                    cell("rust", at(1), 4),
                    cell("go", at(-1), 10),
                    cell("go", at(0), 20),
                ],
            )
            .await
            .unwrap();
        let series = views
            .read_series(ViewTable::Speed(speed), "rust", at(-3), at(3))
            .await
            .unwrap();
        assert_eq!(
            series,
            vec![
                cell("rust", at(-2), 1),
                cell("rust", at(-1), 2),
                cell("rust", at(0), 3),
                cell("rust", at(1), 4),
            ],
            "both days, in time order"
        );
        assert_eq!(
            views
                .read_series(ViewTable::Speed(speed), "rust", at(-1), at(0))
                .await
                .unwrap(),
            vec![cell("rust", at(-1), 2), cell("rust", at(0), 3)],
            "23:55 to 00:00 is inclusive on both sides of midnight"
        );
        assert_eq!(
            views
                .read_series(ViewTable::Speed(speed), "rust", at(-300), at(-3))
                .await
                .unwrap(),
            vec![],
            "a range over more than one day with no cells"
        );
        let mut totals = views
            .hashtag_totals(ViewTable::Speed(speed), at(-1), at(0))
            .await
            .unwrap();
        totals.sort();
        assert_eq!(
            totals,
            vec![
                HashtagCount {
                    hashtag: "go".into(),
                    count: 30
                },
                HashtagCount {
                    hashtag: "rust".into(),
                    count: 5
                },
            ]
        );

        // The batch tables key the same way.
        let batch = BatchTable::B;
        views
            .write_batch_rows(
                batch,
                &[
                    cell("rust", at(-1), 7),
                    cell("rust", at(0), 8),
                    cell("rust", at(-1), 9),
                ],
            )
            .await
            .unwrap();
        assert_eq!(
            views
                .read_series(ViewTable::Batch(batch), "rust", at(-2), at(2))
                .await
                .unwrap(),
            vec![cell("rust", at(-1), 9), cell("rust", at(0), 8)],
            "the last row of a cell wins"
        );
        // A series three days long reads three partitions.
        views
            .write_batch_rows(batch, &[cell("rust", at(288 + 5), 1)])
            .await
            .unwrap();
        assert_eq!(
            views
                .read_series(ViewTable::Batch(batch), "rust", at(-288), at(2 * 288))
                .await
                .unwrap()
                .len(),
            3
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_batches_of_hundreds_of_increments_add_up() {
    let options = CassandraOptions {
        max_batch_statements: 100,
        concurrency: 8,
        ..CassandraOptions::default()
    };
    with_keyspace(options, |views, _| async move {
        views.migrate().await.expect("migrate");
        let speed = SpeedTable::Zero;
        let day = SlotStart(1_795_392_000_000);
        let at = |n: i64| SlotStart(day.0 + n * SLOT_MILLIS);
        // One hashtag in every slot of a day: 288 cells in one (hashtag, date) partition, so
        // three counter batches there. Plus 300 hashtags in one slot: 300 cells in one slot
        // partition. Plus every cell of "dup" twice in the same call.
        let mut increments: Vec<SlotCount> =
            (0..288).map(|n| cell("daily", at(n), n + 1)).collect();
        increments.extend((0..300).map(|i| cell(&format!("tag{i:03}"), at(100), i % 7 + 1)));
        for _ in 0..2 {
            increments.extend((0..50).map(|n| cell("dup", at(n), 1)));
        }
        assert_eq!(increments.len(), 688);
        views.add_increments(speed, &increments).await.unwrap();
        views.add_increments(speed, &increments).await.unwrap();

        let daily = views
            .read_series(ViewTable::Speed(speed), "daily", at(0), at(287))
            .await
            .unwrap();
        assert_eq!(daily.len(), 288);
        for (n, c) in daily.iter().enumerate() {
            let n = n as i64;
            assert_eq!(
                (c.slot, c.count),
                (at(n), 2 * (n + 1)),
                "twice every increment"
            );
        }
        let dup = views
            .read_series(ViewTable::Speed(speed), "dup", at(0), at(287))
            .await
            .unwrap();
        assert_eq!(dup.len(), 50);
        assert!(dup.iter().all(|c| c.count == 4), "2 per call, 2 calls");

        let totals = views
            .hashtag_totals(ViewTable::Speed(speed), at(100), at(100))
            .await
            .unwrap();
        assert_eq!(totals.len(), 301, "300 tags and daily; dup ends at slot 49");
        for t in &totals {
            let expected = match t.hashtag.as_str() {
                "daily" => 2 * 101,
                tag => 2 * (tag[3..].parse::<i64>().unwrap() % 7 + 1),
            };
            assert_eq!(t.count, expected, "{}", t.hashtag);
        }
        let whole_day = views
            .hashtag_totals(ViewTable::Speed(speed), at(0), at(287))
            .await
            .unwrap();
        let daily_sum = whole_day
            .iter()
            .find(|t| t.hashtag == "daily")
            .unwrap()
            .count;
        assert_eq!(daily_sum, 2 * (1..=288).sum::<i64>());

        // Negative increments bring a cell to zero, and zero cells are left out.
        let undo: Vec<SlotCount> = (0..50).map(|n| cell("dup", at(n), -4)).collect();
        views.add_increments(speed, &undo).await.unwrap();
        assert!(
            views
                .read_series(ViewTable::Speed(speed), "dup", at(0), at(287))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            !views
                .hashtag_totals(ViewTable::Speed(speed), at(0), at(287))
                .await
                .unwrap()
                .iter()
                .any(|t| t.hashtag == "dup")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_prefixes_in_order_up_to_the_limit() {
    with_keyspace(CassandraOptions::default(), |views, _| async move {
        views.migrate().await.expect("migrate");
        let slot = SlotStart(1_795_392_000_000);
        let rows: Vec<SlotCount> = ["rust", "rustacean", "rustc", "ruby", "go", "rusty"]
            .iter()
            .flat_map(|t| [cell(t, slot, 1), cell(t, SlotStart(slot.0 + 86_400_000), 1)])
            .collect();
        views.write_batch_rows(BatchTable::A, &rows).await.unwrap();
        let t = ViewTable::Batch(BatchTable::A);
        assert_eq!(
            views.search_hashtags(t, "rust", 10).await.unwrap(),
            vec!["rust", "rustacean", "rustc", "rusty"],
            "each hashtag once, although it has two date partitions"
        );
        assert_eq!(
            views.search_hashtags(t, "rust", 2).await.unwrap(),
            vec!["rust", "rustacean"]
        );
        assert_eq!(views.search_hashtags(t, "", 100).await.unwrap().len(), 6);
        assert!(
            views
                .search_hashtags(t, "zig", 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            views
                .search_hashtags(t, "rust", 0)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_before_migrate_are_invalid_and_name_the_fix() {
    with_keyspace(CassandraOptions::default(), |views, _| async move {
        match views
            .read_series(
                ViewTable::Speed(SpeedTable::Zero),
                "rust",
                SlotStart(0),
                SlotStart(0),
            )
            .await
        {
            Err(PortError::Invalid(msg)) => assert!(msg.contains("migrate"), "{msg}"),
            other => panic!("expected Invalid, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_cluster_is_unavailable() {
    let options = CassandraOptions {
        connect_timeout_ms: 1_000,
        ..CassandraOptions::default()
    };
    let started = Instant::now();
    match CassandraViewStore::connect_with("cassandra://127.0.0.1:1/trends", options).await {
        Err(PortError::Unavailable(msg)) => {
            assert!(
                msg.contains("cannot reach Cassandra at cassandra://127.0.0.1:1/trends"),
                "{msg}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn malformed_urls_are_invalid() {
    for bad in ["cassandra://127.0.0.1:9042", "kafka://127.0.0.1:9042/ks"] {
        assert!(
            matches!(
                CassandraViewStore::connect(bad).await,
                Err(PortError::Invalid(_))
            ),
            "{bad}"
        );
    }
}
