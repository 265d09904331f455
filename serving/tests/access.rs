//! Access to the API: the optional read token (HTTP and socket.io) and the per-client rate limit.

mod common;

use ports::Secret;
use serde_json::Value;
use serving::ServingConfig;
use serving::admin::AdminActions;
use tokio_util::sync::CancellationToken;

async fn start(cfg: ServingConfig) -> (tempfile::TempDir, String, CancellationToken) {
    let s = common::start_with(cfg, AdminActions::default()).await;
    (s.dir, s.base, s.shutdown)
}

async fn get(url: &str, bearer: Option<&str>) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

#[tokio::test]
async fn a_read_token_guards_the_read_api_and_socket_io_but_not_probes() {
    let (_dir, base, shutdown) = start(ServingConfig {
        read_token: Secret::new("reader-s3cret"),
        admin_token: Secret::new("admin-s3cret"),
        ..ServingConfig::default()
    })
    .await;
    let trending = format!("{base}/api/v1/trending");

    let (status, body, headers) = get(&trending, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "unauthorized");
    assert_eq!(headers["www-authenticate"], "Bearer");
    assert_eq!(get(&trending, Some("wrong")).await.0, 401);
    assert_eq!(get(&trending, Some("reader-s3cre")).await.0, 401);
    assert_eq!(get(&trending, Some("reader-s3cret")).await.0, 200);
    assert_eq!(
        get(&trending, Some("admin-s3cret")).await.0,
        200,
        "the admin token reads too"
    );
    assert_eq!(
        get(&format!("{trending}?access_token=reader-s3cret"), None)
            .await
            .0,
        200
    );
    for path in ["/api/v1/status", "/api/v1/hashtags?prefix=r"] {
        assert_eq!(get(&format!("{base}{path}"), None).await.0, 401, "{path}");
    }
    // The socket.io handshake (what a websocket upgrade starts with) needs it as well.
    let handshake = format!("{base}/socket.io/?EIO=4&transport=polling");
    assert_eq!(get(&handshake, None).await.0, 401);
    let r = reqwest::get(format!("{handshake}&access_token=reader-s3cret"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("\"sid\""));
    // Probes, scrapers and the API description stay open; the admin token is not a read token
    // (the reader's token does not open the admin API).
    for path in ["/healthz", "/metrics", "/api/v1/openapi.json"] {
        let r = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_ne!(r.status().as_u16(), 401, "{path}");
    }
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/admin/rollback"))
        .bearer_auth("reader-s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    shutdown.cancel();
}

#[tokio::test]
async fn without_a_read_token_the_read_api_is_open() {
    let (_dir, base, shutdown) = start(ServingConfig::default()).await;
    assert_eq!(get(&format!("{base}/api/v1/trending"), None).await.0, 200);
    shutdown.cancel();
}

#[tokio::test]
async fn a_client_past_its_rate_gets_429_with_retry_after() {
    let (_dir, base, shutdown) = start(ServingConfig {
        rate_limit_per_second: 1,
        rate_limit_burst: 5,
        ..ServingConfig::default()
    })
    .await;
    let url = format!("{base}/api/v1/openapi.json");
    let mut codes = Vec::new();
    for _ in 0..8 {
        codes.push(get(&url, None).await.0);
    }
    let ok = codes.iter().filter(|c| **c == 200).count();
    assert!(
        (5..=6).contains(&ok),
        "the burst (5, plus at most one refill) passes: {codes:?}"
    );
    assert_eq!(*codes.last().unwrap(), 429, "{codes:?}");
    let (_, body, headers) = get(&url, None).await;
    assert_eq!(body["code"], "rate_limited");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait >= 1, "{wait}");
    // Probes are never limited.
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    shutdown.cancel();
}
