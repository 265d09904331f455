//! Nothing silently lost: a record the speed layer cannot decode goes to `posts-dlq` with the
//! reason in its headers, the good records around it are counted, and the offsets move on.

use model::{POSTS_DLQ_TOPIC, POSTS_TOPIC, Post, SlotStart};
use ports::{BackendUrls, Backends, ConsumerEvent, NewRecord, SpeedTable, ViewTable};
use speed_layer::{SpeedConfig, SpeedWorker};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn undecodable_records_go_to_the_dead_letter_topic_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let backends = Backends::open(
        &BackendUrls {
            partitions: 1,
            ..BackendUrls::default()
        },
        dir.path(),
    )
    .unwrap();
    let post = Post {
        userid: 1,
        username: "a".into(),
        timestamp: 1_700_000_000_000,
        tweetid: 1,
        tweet: "#rust".into(),
        source: None,
        lang: None,
        hashtags: None,
    };
    let good = NewRecord {
        key: b"1".to_vec(),
        value: backends.codec.encode(&post),
        headers: vec![],
    };
    let garbage = NewRecord {
        key: b"1".to_vec(),
        value: b"{\"not\": \"avro\"}".to_vec(),
        headers: vec![],
    };
    backends
        .log
        .append(POSTS_TOPIC, vec![good.clone(), garbage.clone(), good])
        .await
        .unwrap();

    let mut w = SpeedWorker::start(&backends, SpeedConfig::default(), CancellationToken::new())
        .await
        .unwrap();
    let mut read = 0;
    while read < 3 {
        read += w.poll_once(Duration::from_millis(100)).await.unwrap();
    }
    w.flush().await.unwrap();

    let slot = SlotStart::containing(post.timestamp);
    let counted = backends
        .views
        .read_series(ViewTable::Speed(SpeedTable::Zero), "rust", slot, slot)
        .await
        .unwrap();
    assert_eq!(counted[0].count, 2, "the good records are counted");
    assert_eq!(
        backends
            .log
            .committed_offsets(POSTS_TOPIC, "speed")
            .await
            .unwrap()[&0],
        3,
        "the bad record does not stop the offsets"
    );

    let mut dlq = backends
        .log
        .consumer(POSTS_DLQ_TOPIC, "check")
        .await
        .unwrap();
    let dead = loop {
        if let ConsumerEvent::Records(rs) = dlq.poll(10, Duration::from_millis(200)).await.unwrap()
            && !rs.is_empty()
        {
            break rs;
        }
    };
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].value, garbage.value, "the record is kept as it was");
    let header = |name: &str| {
        dead[0]
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(header("lt-reason-code").as_deref(), Some("bad_header"));
    assert!(
        header("lt-reason").is_some_and(|r| r.contains("header")),
        "{:?}",
        header("lt-reason")
    );
    assert_eq!(header("lt-source-offset").as_deref(), Some("1"));
}
