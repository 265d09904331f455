//! The Jetstream source against a fake Jetstream: a WebSocket server on 127.0.0.1:0 that
//! records every request's query string and plays a script per connection.

use collector::jetstream::{JetstreamConfig, JetstreamSource};
use collector::publisher::{CollectorConfig, run_live};
use collector::source::{LiveSource, SourceEvent};
use futures::{SinkExt, StreamExt};
use model::{POSTS_TOPIC, Post};
use ports::{BackendUrls, Backends, ConsumerEvent};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_util::sync::CancellationToken;

/// What the fake server does on one connection: the frames to send, then whether to close.
struct Play {
    frames: Vec<String>,
    close: bool,
}

/// A fake Jetstream: `script(connection index, query string)` says what to play.
struct FakeJetstream {
    url: String,
    queries: Arc<Mutex<Vec<String>>>,
}

impl FakeJetstream {
    // The handshake callback's error type is tungstenite's, not ours.
    #[allow(clippy::result_large_err)]
    async fn start(script: impl Fn(usize, &str) -> Play + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/subscribe", listener.local_addr().unwrap());
        let queries = Arc::new(Mutex::new(Vec::new()));
        let seen = queries.clone();
        let script = Arc::new(script);
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((tcp, _)) = listener.accept().await {
                let seen = seen.clone();
                let script = script.clone();
                let index = n;
                n += 1;
                tokio::spawn(async move {
                    let query = Arc::new(Mutex::new(String::new()));
                    let q = query.clone();
                    let Ok(mut ws) =
                        tokio_tungstenite::accept_hdr_async(tcp, move |req: &Request, resp| {
                            assert_eq!(req.uri().path(), "/subscribe");
                            *q.lock().unwrap() = req.uri().query().unwrap_or("").to_string();
                            Ok::<Response, _>(resp)
                        })
                        .await
                    else {
                        return;
                    };
                    let query = query.lock().unwrap().clone();
                    seen.lock().unwrap().push(query.clone());
                    let play = script(index, &query);
                    for f in play.frames {
                        if ws.send(Message::text(f)).await.is_err() {
                            return;
                        }
                    }
                    if play.close {
                        let _ = ws.close(None).await;
                    } else {
                        while let Some(Ok(_)) = ws.next().await {}
                    }
                });
            }
        });
        FakeJetstream { url, queries }
    }

    fn queries(&self) -> Vec<String> {
        self.queries.lock().unwrap().clone()
    }
}

/// The `cursor` parameter of a query string.
fn cursor_of(query: &str) -> Option<i64> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("cursor="))
        .map(|c| c.parse().unwrap())
}

/// A post create at `time_us`, with `facets` (JSON) if given.
fn post_frame(time_us: i64, text: &str, facets: Option<&str>) -> String {
    let facets = facets
        .map(|f| format!(r#","facets":{f}"#))
        .unwrap_or_default();
    format!(
        r#"{{"did":"did:plc:user{time_us}","time_us":{time_us},"kind":"commit","commit":{{"rev":"rev{time_us}","operation":"create","collection":"app.bsky.feed.post","rkey":"rk{time_us}","record":{{"$type":"app.bsky.feed.post","createdAt":"2026-07-04T14:38:07.323Z","langs":["en"],"text":{text:?}{facets}}},"cid":"bafy{time_us}"}}}}"#
    )
}

fn tag_facet(tag: &str) -> String {
    format!(
        r#"{{"features":[{{"$type":"app.bsky.richtext.facet#tag","tag":"{tag}"}}],"index":{{"byteStart":0,"byteEnd":3}}}}"#
    )
}

fn config(instances: Vec<String>) -> JetstreamConfig {
    JetstreamConfig {
        instances,
        ..JetstreamConfig::default()
    }
}

async fn next_event(source: &mut JetstreamSource) -> SourceEvent {
    let never = CancellationToken::new();
    tokio::time::timeout(Duration::from_secs(10), source.next(&never))
        .await
        .expect("an event within 10 s")
        .unwrap()
        .expect("not shut down")
}

async fn next_post(source: &mut JetstreamSource) -> Post {
    match next_event(source).await {
        SourceEvent::Post(p) => p,
        other => panic!("expected a post, got {other:?}"),
    }
}

#[tokio::test]
async fn posts_with_and_without_tag_facets_and_skipped_events() {
    let frames = vec![
        r#"{"did":"did:plc:a","time_us":1,"kind":"identity","identity":{"did":"did:plc:a","seq":1,"time":"2026-07-04T14:38:07.323Z"}}"#.to_string(),
        r#"{"did":"did:plc:a","time_us":2,"kind":"account","account":{"active":true,"did":"did:plc:a","seq":2,"time":"2026-07-04T14:38:07.323Z"}}"#.to_string(),
        post_frame(
            3,
            "#Rust and #Bluesky",
            Some(&format!("[{},{}]", tag_facet("Rust"), tag_facet("Bluesky"))),
        ),
        r#"{"did":"did:plc:a","time_us":4,"kind":"commit","commit":{"rev":"x","operation":"delete","collection":"app.bsky.feed.post","rkey":"rk3"}}"#.to_string(),
        r#"{"did":"did:plc:a","time_us":5,"kind":"commit","commit":{"rev":"y","operation":"update","collection":"app.bsky.feed.post","rkey":"rk3","record":{"text":"edited","createdAt":"2026-07-04T14:38:07.323Z"}}}"#.to_string(),
        r#"{"did":"did:plc:a","time_us":6,"kind":"commit","commit":{"rev":"z","operation":"create","collection":"app.bsky.feed.like","rkey":"l1","record":{"createdAt":"2026-07-04T14:38:07.323Z"}}}"#.to_string(),
        post_frame(7, "no facets but #Hashtags in #text", None),
    ];
    let server = FakeJetstream::start(move |_, _| Play {
        frames: frames.clone(),
        close: false,
    })
    .await;
    let mut source = JetstreamSource::new(config(vec![server.url.clone()])).unwrap();
    assert_eq!(source.name(), "jetstream");

    let tagged = next_post(&mut source).await;
    assert_eq!(
        tagged.hashtags,
        Some(vec!["Rust".to_string(), "Bluesky".to_string()])
    );
    assert_eq!(tagged.username, "did:plc:user3");
    assert_eq!(tagged.source.as_deref(), Some("bluesky"));
    assert_eq!(tagged.lang.as_deref(), Some("en"));
    assert_eq!(tagged.tweet, "#Rust and #Bluesky");
    assert_eq!(tagged.timestamp, 1_783_175_887_323);
    assert!(tagged.tweetid >= 0 && tagged.userid >= 0);
    assert_eq!(
        tagged.tweetid,
        collector::jetstream::stable_id("at://did:plc:user3/app.bsky.feed.post/rk3")
    );
    assert_eq!(
        tagged.userid,
        collector::jetstream::stable_id("did:plc:user3")
    );

    // The identity, account, delete, update and like events were skipped.
    let plain = next_post(&mut source).await;
    assert_eq!(plain.hashtags, None);
    assert_eq!(plain.hashtag_keys(), vec!["hashtags", "text"]);
    assert_eq!(source.cursor(), Some(7));
    assert_eq!(
        server.queries(),
        vec!["wantedCollections=app.bsky.feed.post".to_string()]
    );
}

#[tokio::test]
async fn malformed_frames_become_malformed_events() {
    let server = FakeJetstream::start(|_, _| Play {
        frames: vec![
            "this is not json".into(),
            r#"{"time_us":1}"#.into(),
            r#"{"did":"did:plc:a","time_us":2,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r","record":{"createdAt":"2026-07-04T14:38:07.323Z"}}}"#.into(),
            post_frame(3, "fine", None),
        ],
        close: false,
    })
    .await;
    let mut source = JetstreamSource::new(config(vec![server.url.clone()])).unwrap();
    let mut codes = Vec::new();
    for _ in 0..3 {
        match next_event(&mut source).await {
            SourceEvent::Malformed { raw, code, reason } => {
                assert!(!raw.is_empty() && !reason.is_empty());
                codes.push(code);
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
    }
    assert_eq!(
        codes,
        vec!["invalid_json", "missing_field", "missing_field"]
    );
    assert_eq!(next_post(&mut source).await.tweet, "fine");
}

#[tokio::test]
async fn reconnects_with_the_last_cursor_and_loses_or_repeats_nothing() {
    // The first connection sends events 1..=5 and closes; later ones replay from the cursor,
    // inclusive (as a real instance may), up to event 10.
    let server = FakeJetstream::start(|index, query| {
        let from = if index == 0 {
            1
        } else {
            cursor_of(query).expect("a reconnection carries a cursor")
        };
        let to = if index == 0 { 5 } else { 10 };
        Play {
            frames: (from..=to)
                .map(|t| post_frame(t, &format!("post {t}"), None))
                .collect(),
            close: index == 0,
        }
    })
    .await;
    let mut source = JetstreamSource::new(config(vec![server.url.clone()])).unwrap();
    let mut texts = Vec::new();
    for _ in 0..10 {
        texts.push(next_post(&mut source).await.tweet);
    }
    let expected: Vec<String> = (1..=10).map(|t| format!("post {t}")).collect();
    assert_eq!(texts, expected, "nothing missing, nothing repeated");
    let queries = server.queries();
    assert_eq!(queries.len(), 2, "{queries:?}");
    assert_eq!(cursor_of(&queries[0]), None);
    assert_eq!(cursor_of(&queries[1]), Some(5));
    assert!(queries[1].contains("wantedCollections=app.bsky.feed.post"));
}

#[tokio::test]
async fn a_stalled_connection_is_replaced() {
    // The first connection sends one event and then nothing, not even pings.
    let server = FakeJetstream::start(|index, _| Play {
        frames: vec![post_frame(index as i64 + 1, "x", None)],
        close: false,
    })
    .await;
    let mut source = JetstreamSource::new(JetstreamConfig {
        stall_timeout_ms: 300,
        ..config(vec![server.url.clone()])
    })
    .unwrap();
    assert_eq!(next_post(&mut source).await.username, "did:plc:user1");
    assert_eq!(next_post(&mut source).await.username, "did:plc:user2");
    assert_eq!(cursor_of(&server.queries()[1]), Some(1));
}

#[tokio::test]
async fn fails_over_to_the_next_instance() {
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("ws://{}/subscribe", l.local_addr().unwrap())
    };
    let server = FakeJetstream::start(|_, _| Play {
        frames: vec![post_frame(1, "from the second instance", None)],
        close: false,
    })
    .await;
    let mut source = JetstreamSource::new(config(vec![closed, server.url.clone()])).unwrap();
    assert_eq!(
        next_post(&mut source).await.tweet,
        "from the second instance"
    );
    assert_eq!(server.queries().len(), 1);
}

#[tokio::test]
async fn a_new_source_resumes_from_the_cursor_file() {
    let dir = tempfile::tempdir().unwrap();
    let cursor_file = dir.path().join("jetstream.cursor");
    let server = FakeJetstream::start(|_, query| {
        let from = cursor_of(query).map_or(1, |c| c + 1);
        Play {
            frames: (from..from + 3)
                .map(|t| post_frame(t, &format!("post {t}"), None))
                .collect(),
            close: false,
        }
    })
    .await;
    let cfg = JetstreamConfig {
        cursor_file: Some(cursor_file.clone()),
        ..config(vec![server.url.clone()])
    };
    let mut first = JetstreamSource::new(cfg.clone()).unwrap();
    assert_eq!(first.cursor(), None);
    for _ in 0..3 {
        next_post(&mut first).await;
    }
    let stop = CancellationToken::new();
    stop.cancel();
    assert_eq!(first.next(&stop).await.unwrap(), None);
    assert!(
        !cursor_file.exists(),
        "read but not acknowledged by the event log: no cursor is saved"
    );
    first.acknowledged(true);
    drop(first);
    assert_eq!(
        std::fs::read_to_string(&cursor_file).unwrap().trim(),
        "3",
        "the cursor of the last acknowledged post is saved"
    );

    let mut second = JetstreamSource::new(cfg).unwrap();
    assert_eq!(second.cursor(), Some(3));
    assert_eq!(next_post(&mut second).await.tweet, "post 4");
    assert_eq!(cursor_of(&server.queries()[1]), Some(3));

    // A corrupt cursor file is a configuration error, not a silent restart from the tip.
    std::fs::write(&cursor_file, "garbage").unwrap();
    assert!(
        JetstreamSource::new(JetstreamConfig {
            cursor_file: Some(cursor_file),
            ..JetstreamConfig::default()
        })
        .is_err()
    );
}

#[tokio::test]
async fn shutdown_ends_next_promptly() {
    // Connected to a silent server.
    let server = FakeJetstream::start(|_, _| Play {
        frames: vec![],
        close: false,
    })
    .await;
    let mut source = JetstreamSource::new(config(vec![server.url.clone()])).unwrap();
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        s.cancel();
    });
    let got = tokio::time::timeout(Duration::from_secs(2), source.next(&stop)).await;
    assert_eq!(got.expect("prompt").unwrap(), None);
    assert_eq!(server.queries().len(), 1);

    // Waiting out a reconnection backoff on an instance that refuses connections.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("ws://{}/subscribe", l.local_addr().unwrap())
    };
    let mut source = JetstreamSource::new(config(vec![closed])).unwrap();
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        s.cancel();
    });
    let got = tokio::time::timeout(Duration::from_secs(3), source.next(&stop)).await;
    assert_eq!(got.expect("prompt").unwrap(), None);
}

#[tokio::test]
async fn next_is_cancel_safe() {
    // Dropping `next` often (as the publisher's linger timeout does) loses nothing.
    let server = FakeJetstream::start(|_, _| Play {
        frames: (1..=50).map(|t| post_frame(t, "p", None)).collect(),
        close: false,
    })
    .await;
    let mut source = JetstreamSource::new(config(vec![server.url.clone()])).unwrap();
    let never = CancellationToken::new();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.len() < 50 && tokio::time::Instant::now() < deadline {
        if let Ok(e) = tokio::time::timeout(Duration::from_micros(50), source.next(&never)).await
            && let Some(SourceEvent::Post(p)) = e.unwrap()
        {
            seen.push(p.username);
        }
    }
    let expected: Vec<String> = (1..=50).map(|t| format!("did:plc:user{t}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn run_live_writes_jetstream_posts_to_the_log() {
    let server = FakeJetstream::start(|_, _| Play {
        frames: std::iter::once("garbage".to_string())
            .chain((1..=5).map(|t| post_frame(t, &format!("#live post {t}"), None)))
            .collect(),
        close: false,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let backends = Backends::open(&BackendUrls::default(), dir.path()).unwrap();
    let cfg = CollectorConfig {
        max_posts: 5,
        batch_size: 2,
        ..CollectorConfig::default()
    };
    let mut source = JetstreamSource::new(config(vec![server.url.clone()])).unwrap();
    let stats = tokio::time::timeout(
        Duration::from_secs(20),
        run_live(
            backends.log.clone(),
            backends.codec.clone(),
            &cfg,
            &mut source,
            CancellationToken::new(),
        ),
    )
    .await
    .expect("run_live finishes at max_posts")
    .unwrap();
    assert_eq!(stats.posts, 5);
    assert_eq!(stats.rejected, 1);

    let mut consumer = backends.log.consumer(POSTS_TOPIC, "check").await.unwrap();
    let mut texts = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while texts.len() < 5 && tokio::time::Instant::now() < deadline {
        if let ConsumerEvent::Records(rs) = consumer
            .poll(100, Duration::from_millis(200))
            .await
            .unwrap()
        {
            for r in rs {
                let post = backends.codec.decode(&r.value).unwrap();
                assert_eq!(post.source.as_deref(), Some("bluesky"));
                texts.push(post.tweet);
            }
        }
    }
    texts.sort();
    let expected: Vec<String> = (1..=5).map(|t| format!("#live post {t}")).collect();
    assert_eq!(texts, expected);
}

/// Against the real public instances (`wss://`, so this also checks the TLS set-up). Needs the
/// internet: `cargo test -p lambda-trends-collector --test jetstream -- --ignored`.
#[tokio::test]
#[ignore = "needs the internet"]
async fn live_public_jetstream_delivers_posts() {
    let mut source = JetstreamSource::new(JetstreamConfig::default()).unwrap();
    let mut posts = 0;
    while posts < 5 {
        if let SourceEvent::Post(p) = next_event(&mut source).await {
            assert_eq!(p.source.as_deref(), Some("bluesky"));
            posts += 1;
        }
    }
    assert!(source.cursor().is_some());
}
