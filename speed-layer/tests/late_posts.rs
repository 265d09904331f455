//! Late posts: counted in the slot of their own time, and counted as late when they arrive
//! `late-after-secs` or more behind the newest post time seen on their partition.

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use model::{POSTS_TOPIC, Post, SLOT_MILLIS, SlotStart};
use ports::{BackendUrls, Backends, NewRecord, SpeedTable, ViewTable};
use speed_layer::{SpeedConfig, SpeedWorker};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn late_posts_land_in_their_own_slot_and_are_counted_as_late() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this binary");

    let dir = tempfile::tempdir().unwrap();
    let backends = Backends::open(
        &BackendUrls {
            partitions: 1,
            ..BackendUrls::default()
        },
        dir.path(),
    )
    .unwrap();
    let t0 = 1_700_000_100_000 - 1_700_000_100_000 % SLOT_MILLIS;
    let minute = 60_000;
    // Arrival order on the one partition; the watermark is the newest time seen so far.
    let times = [
        t0,
        t0 + 10 * minute, // watermark t0+10m
        t0,               // 10 min behind: late
        t0 + 9 * minute,  // 1 min behind: within the allowed 5
        t0 - 60 * minute, // 70 min behind: late
        t0 + 11 * minute, // ahead: the watermark moves
    ];
    let records = times
        .iter()
        .enumerate()
        .map(|(i, ts)| NewRecord {
            key: b"1".to_vec(),
            value: backends.codec.encode(&Post {
                userid: 1,
                username: "a".into(),
                timestamp: *ts,
                tweetid: i as i64,
                tweet: "#rust".into(),
                source: None,
                lang: None,
                hashtags: None,
            }),
            headers: vec![],
        })
        .collect();
    backends.log.append(POSTS_TOPIC, records).await.unwrap();

    let mut w = SpeedWorker::start(&backends, SpeedConfig::default(), CancellationToken::new())
        .await
        .unwrap();
    let mut read = 0;
    for _ in 0..100 {
        read += w.poll_once(Duration::from_millis(50)).await.unwrap();
        if read == times.len() {
            break;
        }
    }
    assert_eq!(read, times.len());
    w.flush().await.unwrap();

    let late: u64 = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(k, _, _, _)| k.key().name() == "lambda_speed_late_posts_total")
        .map(|(_, _, _, v)| match v {
            DebugValue::Counter(n) => n,
            _ => 0,
        })
        .sum();
    assert_eq!(late, 2, "two posts arrived five minutes or more behind");

    // Every post is counted in the slot of its own time, the late ones included.
    let series = backends
        .views
        .read_series(
            ViewTable::Speed(SpeedTable::Zero),
            "rust",
            SlotStart(t0 - 60 * minute),
            SlotStart(t0 + 11 * minute),
        )
        .await
        .unwrap();
    let counts: Vec<(i64, i64)> = series.iter().map(|c| (c.slot.0 - t0, c.count)).collect();
    assert_eq!(
        counts,
        vec![(-60 * minute, 1), (0, 2), (5 * minute, 1), (10 * minute, 2)]
    );
}
