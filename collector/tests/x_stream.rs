//! The X sampled-stream source against a fake X server (axum on 127.0.0.1:0) that plays a
//! script per connection: chunks, pauses, stalls, aborted connections and HTTP errors.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use collector::publisher::{CollectorConfig, run_live};
use collector::source::{LiveSource, SourceEvent};
use collector::x_stream::{Backoff, XStreamConfig, XStreamSource};
use model::{POSTS_DLQ_TOPIC, POSTS_TOPIC, Post};
use ports::{BackendUrls, Backends, ConsumerEvent};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One step of a streamed body.
#[derive(Clone)]
enum Step {
    /// Send these bytes as one chunk.
    Send(Vec<u8>),
    /// Wait.
    Sleep(u64),
    /// Send nothing more, forever (a stall).
    Hang,
    /// Break the connection (an I/O error mid-body).
    Abort,
}

fn send(s: &str) -> Step {
    Step::Send(s.as_bytes().to_vec())
}

/// What the fake server does with one connection.
enum Reply {
    /// HTTP 200 with a chunked body played from the steps; the body ends after the last one.
    Stream(Vec<Step>),
    /// Another status, with headers and a body.
    Status(u16, Vec<(&'static str, String)>, String),
}

/// A request the fake server saw.
#[derive(Debug, Clone)]
struct Seen {
    auth: String,
    user_agent: String,
    query: String,
}

type Script = Arc<dyn Fn(usize) -> Reply + Send + Sync>;

struct FakeX {
    base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeX {
    async fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = (Arc::new(script) as Script, seen.clone());
        let app = Router::new()
            .route("/2/tweets/sample/stream", axum::routing::get(stream))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeX {
            base_url: format!("http://{addr}"),
            seen,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn stream(
    State((script, seen)): State<(Script, Arc<Mutex<Vec<Seen>>>)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let n = {
        let mut seen = seen.lock().unwrap();
        seen.push(Seen {
            auth: header("authorization"),
            user_agent: header("user-agent"),
            query: query.unwrap_or_default(),
        });
        seen.len() - 1
    };
    match script(n) {
        Reply::Stream(steps) => {
            let body = futures::stream::unfold(steps.into_iter(), |mut steps| async move {
                loop {
                    match steps.next()? {
                        Step::Send(bytes) => {
                            return Some((Ok::<_, std::io::Error>(Bytes::from(bytes)), steps));
                        }
                        Step::Sleep(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                        Step::Hang => futures::future::pending::<()>().await,
                        Step::Abort => return Some((Err(std::io::Error::other("abort")), steps)),
                    }
                }
            });
            Response::builder()
                .header("content-type", "application/json")
                .body(Body::from_stream(body))
                .unwrap()
        }
        Reply::Status(code, headers, body) => {
            let mut r = Response::builder().status(StatusCode::from_u16(code).unwrap());
            for (k, v) in headers {
                r = r.header(k, v);
            }
            r.header("content-type", "application/problem+json")
                .body(Body::from(body))
                .unwrap()
        }
    }
}

/// A stream line holding post `id` by user `u{id}` with the given hashtags.
fn post_line(id: u64, tags: &[&str]) -> String {
    let entities: Vec<String> = tags
        .iter()
        .map(|t| format!(r#"{{"start":0,"end":1,"tag":"{t}"}}"#))
        .collect();
    format!(
        r#"{{"data":{{"id":"{id}","text":"post {id}","created_at":"2025-06-01T10:00:00.000Z","author_id":"{}","lang":"en","entities":{{"hashtags":[{}]}}}},"includes":{{"users":[{{"id":"{}","name":"N","username":"u{id}"}}]}}}}"#,
        id + 1000,
        entities.join(","),
        id + 1000
    ) + "\r\n"
}

const OPERATIONAL_DISCONNECT: &str = "{\"errors\":[{\"title\":\"operational-disconnect\",\"disconnect_type\":\"UpstreamOperationalDisconnect\",\"detail\":\"This stream has been disconnected upstream for operational reasons.\",\"type\":\"https://api.x.com/2/problems/operational-disconnect\"}]}\r\n";

const TOKEN: &str = "test-token-123";

/// A configuration for the fake server, the token in a file; keep the directory alive.
fn config(server: &FakeX) -> (XStreamConfig, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
    let cfg = XStreamConfig {
        base_url: server.base_url.clone(),
        bearer_token_file: Some(path),
        ..XStreamConfig::default()
    };
    (cfg, dir)
}

/// Short delays, for tests.
fn fast() -> Backoff {
    Backoff {
        tcp_step: Duration::from_millis(10),
        tcp_max: Duration::from_millis(50),
        http_start: Duration::from_millis(20),
        http_max: Duration::from_millis(100),
        rate_limit_start: Duration::from_millis(30),
        rate_limit_max: Duration::from_secs(5),
    }
}

async fn next_event(source: &mut XStreamSource) -> SourceEvent {
    let shutdown = CancellationToken::new();
    tokio::time::timeout(Duration::from_secs(10), source.next(&shutdown))
        .await
        .expect("an event within 10 s")
        .expect("no error")
        .expect("not shut down")
}

async fn next_post(source: &mut XStreamSource) -> Post {
    match next_event(source).await {
        SourceEvent::Post(p) => p,
        other => panic!("expected a post, got {other:?}"),
    }
}

#[tokio::test]
async fn posts_arrive_with_hashtags_and_usernames_and_keepalives_are_ignored() {
    // The second post is cut inside a multi-byte character and across several chunks.
    let second = post_line(2, &["東京", "Rust"]).into_bytes();
    let cut = second.iter().position(|&b| b == 0xe6).unwrap() + 1;
    let server = FakeX::start(move |_| {
        Reply::Stream(vec![
            send("\r\n"),
            send(&post_line(1, &["kpop"])),
            send("\r\n\r\n"),
            Step::Send(second[..10].to_vec()),
            Step::Sleep(20),
            Step::Send(second[10..cut].to_vec()),
            Step::Sleep(20),
            Step::Send(second[cut..].to_vec()),
            send("\r\n"),
            send(&(post_line(3, &[]) + &post_line(4, &["a"]))),
            Step::Hang,
        ])
    })
    .await;
    let (cfg, _dir) = config(&server);
    let mut source = XStreamSource::new(cfg).unwrap();
    assert_eq!(source.name(), "x-sample");
    let p = next_post(&mut source).await;
    assert_eq!(
        p,
        Post {
            userid: 1001,
            username: "u1".into(),
            timestamp: 1_748_772_000_000,
            tweetid: 1,
            tweet: "post 1".into(),
            source: Some("x".into()),
            lang: Some("en".into()),
            hashtags: Some(vec!["kpop".into()]),
        }
    );
    let p = next_post(&mut source).await;
    assert_eq!(
        (p.tweetid, p.username.as_str(), p.hashtags),
        (2, "u2", Some(vec!["東京".into(), "Rust".into()]))
    );
    assert_eq!(next_post(&mut source).await.hashtags, Some(vec![]));
    assert_eq!(next_post(&mut source).await.tweetid, 4);
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn a_line_cut_by_a_disconnect_is_discarded_and_the_source_reconnects() {
    let server = FakeX::start(|n| {
        let half = |id| post_line(id, &["cut"])[..40].to_string();
        Reply::Stream(match n {
            // An I/O error in the middle of a line.
            // (The pauses let the server flush before it aborts.)
            0 => vec![
                send(&post_line(1, &[])),
                Step::Sleep(50),
                send(&half(2)),
                Step::Sleep(50),
                Step::Abort,
            ],
            // A clean end of the body in the middle of a line.
            1 => vec![send(&post_line(3, &[])), send(&half(4))],
            _ => vec![send(&post_line(5, &[])), Step::Hang],
        })
    })
    .await;
    let (cfg, _dir) = config(&server);
    let mut source = XStreamSource::new(cfg).unwrap().with_backoff(fast());
    let ids: Vec<i64> = [
        next_post(&mut source).await,
        next_post(&mut source).await,
        next_post(&mut source).await,
    ]
    .iter()
    .map(|p| p.tweetid)
    .collect();
    assert_eq!(ids, vec![1, 3, 5]);
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn a_stall_past_the_timeout_reconnects_but_keepalives_prevent_it() {
    let server = FakeX::start(|n| {
        Reply::Stream(match n {
            0 => {
                let mut steps = vec![send(&post_line(1, &[]))];
                for _ in 0..8 {
                    steps.extend([Step::Sleep(100), send("\r\n")]);
                }
                steps.extend([send(&post_line(2, &[])), Step::Hang]);
                steps
            }
            _ => vec![send(&post_line(3, &[])), Step::Hang],
        })
    })
    .await;
    let (cfg, _dir) = config(&server);
    let cfg = XStreamConfig {
        stall_timeout_ms: 300,
        ..cfg
    };
    let mut source = XStreamSource::new(cfg).unwrap().with_backoff(fast());
    assert_eq!(next_post(&mut source).await.tweetid, 1);
    // 800 ms of keep-alives, more than the stall timeout: the same connection.
    assert_eq!(next_post(&mut source).await.tweetid, 2);
    assert_eq!(server.seen().len(), 1);
    let started = tokio::time::Instant::now();
    assert_eq!(next_post(&mut source).await.tweetid, 3);
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn http_429_waits_for_the_rate_limit_reset_and_5xx_backs_off() {
    let reset = chrono::Utc::now().timestamp() + 2;
    let problem = r#"{"title":"ConnectionException","detail":"This stream is currently at the maximum allowed connection limit.","connection_issue":"TooManyConnections","type":"https://api.x.com/2/problems/streaming-connection"}"#;
    let server = FakeX::start(move |n| match n {
        0 => Reply::Status(503, vec![], "<html>503</html>".into()),
        1 => Reply::Status(429, vec![], problem.into()),
        2 => Reply::Status(
            429,
            vec![
                ("x-rate-limit-limit", "50".into()),
                ("x-rate-limit-remaining", "0".into()),
                ("x-rate-limit-reset", reset.to_string()),
            ],
            problem.into(),
        ),
        _ => Reply::Stream(vec![send(&post_line(1, &[])), Step::Hang]),
    })
    .await;
    let (cfg, _dir) = config(&server);
    let mut source = XStreamSource::new(cfg).unwrap().with_backoff(fast());
    assert_eq!(next_post(&mut source).await.tweetid, 1);
    assert_eq!(server.seen().len(), 4);
    // The third connection came no sooner than the reset second.
    assert!(
        chrono::Utc::now().timestamp() >= reset,
        "reconnected before x-rate-limit-reset"
    );
}

#[tokio::test]
async fn malformed_lines_become_malformed_events_and_operational_disconnect_reconnects() {
    let server = FakeX::start(|n| {
        Reply::Stream(match n {
            0 => vec![
                send("garbage\r\n"),
                send("{\"data\":{\"id\":\"1\"\r\n"),
                send("{}\r\n"),
                send("{\"data\":{\"id\":\"7\",\"text\":\"x\"}}\r\n"),
                Step::Send(b"\xff\xfe\r\n".to_vec()),
                send(&post_line(1, &[])),
                send(OPERATIONAL_DISCONNECT),
                Step::Hang,
            ],
            _ => vec![send(&post_line(2, &[])), Step::Hang],
        })
    })
    .await;
    let (cfg, _dir) = config(&server);
    let mut source = XStreamSource::new(cfg).unwrap().with_backoff(fast());
    let mut codes = Vec::new();
    for _ in 0..5 {
        match next_event(&mut source).await {
            SourceEvent::Malformed { raw, reason, code } => {
                assert!(!raw.is_empty() && !reason.is_empty());
                assert!(!raw.ends_with('\r'), "{raw:?}");
                codes.push(code);
            }
            other => panic!("expected a malformed line, got {other:?}"),
        }
    }
    assert_eq!(
        codes,
        vec![
            "invalid_json",
            "truncated_json",
            "unknown_message",
            "missing_created_at",
            "invalid_utf8"
        ]
    );
    assert_eq!(next_post(&mut source).await.tweetid, 1);
    // The stream hangs after the operational-disconnect: the source does not wait for the
    // stall timeout (21 s) but reconnects at once.
    assert_eq!(next_post(&mut source).await.tweetid, 2);
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn http_401_is_an_error_that_says_how_to_fix_it() {
    let server = FakeX::start(|_| {
        Reply::Status(
            401,
            vec![],
            r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#
                .into(),
        )
    })
    .await;
    let (cfg, _dir) = config(&server);
    let mut source = XStreamSource::new(cfg).unwrap().with_backoff(fast());
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        source.next(&CancellationToken::new()),
    )
    .await
    .unwrap()
    .unwrap_err()
    .to_string();
    assert!(err.contains("401"), "{err}");
    assert!(err.contains("X_BEARER_TOKEN"), "{err}");
    assert!(err.contains("bearer-token-file"), "{err}");
    assert_eq!(server.seen().len(), 1, "no retry on 401");
}

#[tokio::test]
async fn a_missing_token_is_a_clear_configuration_error() {
    let err = XStreamSource::new(XStreamConfig {
        bearer_token_env: "LAMBDA_TRENDS_TEST_SURELY_UNSET_TOKEN".into(),
        ..XStreamConfig::default()
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("LAMBDA_TRENDS_TEST_SURELY_UNSET_TOKEN"),
        "{err}"
    );
    assert!(err.contains("bearer-token-file"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let err = XStreamSource::new(XStreamConfig {
        bearer_token_file: Some(empty),
        ..XStreamConfig::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("is empty"), "{err}");
}

#[tokio::test]
async fn the_bearer_token_user_agent_and_fields_are_sent() {
    let server = FakeX::start(|_| Reply::Stream(vec![send(&post_line(1, &[])), Step::Hang])).await;
    // From a file.
    let (cfg, _dir) = config(&server);
    let mut source = XStreamSource::new(XStreamConfig {
        backfill_minutes: 2,
        ..cfg
    })
    .unwrap();
    next_post(&mut source).await;
    // From an environment variable (cargo sets CARGO_PKG_NAME for tests).
    let mut source = XStreamSource::new(XStreamConfig {
        base_url: server.base_url.clone(),
        bearer_token_env: "CARGO_PKG_NAME".into(),
        ..XStreamConfig::default()
    })
    .unwrap();
    next_post(&mut source).await;
    let seen = server.seen();
    assert_eq!(seen[0].auth, format!("Bearer {TOKEN}"));
    assert_eq!(seen[1].auth, "Bearer lambda-trends-collector");
    assert!(seen[0].user_agent.starts_with("lambda-trends/"));
    assert_eq!(
        seen[0].query,
        "tweet.fields=created_at,lang,entities,author_id,note_tweet&expansions=author_id&user.fields=username&backfill_minutes=2"
    );
    assert!(!seen[1].query.contains("backfill"));
}

#[tokio::test]
async fn shutdown_ends_next_promptly_while_streaming_and_while_backing_off() {
    let server = FakeX::start(|n| match n {
        0 => Reply::Stream(vec![Step::Hang]),
        _ => Reply::Status(503, vec![], String::new()),
    })
    .await;
    let (cfg, _dir) = config(&server);
    // X's real delays: after the 503, the second source waits 5 s.
    for _ in 0..2 {
        let mut source = XStreamSource::new(cfg.clone()).unwrap();
        let shutdown = CancellationToken::new();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            trigger.cancel();
        });
        let started = tokio::time::Instant::now();
        let got = tokio::time::timeout(Duration::from_secs(3), source.next(&shutdown))
            .await
            .expect("next ends promptly at shutdown")
            .unwrap();
        assert!(got.is_none());
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn next_is_cancel_safe() {
    // Posts trickle in a few bytes at a time; `next` is dropped every few milliseconds.
    let server = FakeX::start(|_| {
        let mut steps = Vec::new();
        for id in 1..=20 {
            for piece in post_line(id, &["t"]).as_bytes().chunks(17) {
                steps.extend([Step::Send(piece.to_vec()), Step::Sleep(1)]);
            }
        }
        steps.push(Step::Hang);
        Reply::Stream(steps)
    })
    .await;
    let (cfg, _dir) = config(&server);
    let mut source = XStreamSource::new(cfg).unwrap();
    let shutdown = CancellationToken::new();
    let mut ids = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while ids.len() < 20 && tokio::time::Instant::now() < deadline {
        if let Ok(event) =
            tokio::time::timeout(Duration::from_millis(3), source.next(&shutdown)).await
        {
            match event.unwrap().unwrap() {
                SourceEvent::Post(p) => ids.push(p.tweetid),
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(ids, (1..=20).collect::<Vec<i64>>());
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn run_live_writes_x_posts_to_the_log_and_malformed_lines_to_the_dlq() {
    let server = FakeX::start(|_| {
        let mut steps = vec![send("garbage\r\n"), send("\r\n")];
        steps.extend((1..=5).map(|id| send(&post_line(id, &["live"]))));
        steps.push(Step::Hang);
        Reply::Stream(steps)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let backends = Backends::open(&BackendUrls::default(), dir.path()).unwrap();
    let cfg = CollectorConfig {
        max_posts: 5,
        batch_size: 2,
        ..CollectorConfig::default()
    };
    let (xcfg, _token_dir) = config(&server);
    let mut source = XStreamSource::new(xcfg).unwrap();
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
    assert_eq!((stats.posts, stats.rejected), (5, 1));

    let mut consumer = backends.log.consumer(POSTS_TOPIC, "check").await.unwrap();
    let mut ids = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ids.len() < 5 && tokio::time::Instant::now() < deadline {
        if let ConsumerEvent::Records(rs) = consumer
            .poll(100, Duration::from_millis(200))
            .await
            .unwrap()
        {
            for r in rs {
                let post = backends.codec.decode(&r.value).unwrap();
                assert_eq!(post.source.as_deref(), Some("x"));
                assert_eq!(post.hashtags, Some(vec!["live".to_string()]));
                ids.push(post.tweetid);
            }
        }
    }
    ids.sort();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);

    let mut dlq = backends
        .log
        .consumer(POSTS_DLQ_TOPIC, "check")
        .await
        .unwrap();
    let mut rejected = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while rejected.is_empty() && tokio::time::Instant::now() < deadline {
        if let ConsumerEvent::Records(rs) = dlq.poll(100, Duration::from_millis(200)).await.unwrap()
        {
            rejected.extend(rs);
        }
    }
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].value, b"garbage");
    let code = rejected[0]
        .headers
        .iter()
        .find(|(k, _)| k == "lt-reason-code")
        .map(|(_, v)| v.clone());
    assert_eq!(code.as_deref(), Some(&b"invalid_json"[..]));
}
