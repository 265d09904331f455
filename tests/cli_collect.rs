//! `lambda-trends collect` as operators run it: SIGTERM flushes and stops cleanly, and every
//! post it reports as collected is in the event log; `--source jetstream` against a live-like
//! Jetstream server.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::lambda_trends_in as lambda_trends;

/// Records in the event log of the data directory `data`, as `lambda-trends status --json` reports.
fn posts_in_log(data: &std::path::Path) -> u64 {
    common::offsets_sum(&common::status_json(data), "log_end_offsets")
}

#[test]
fn sigterm_flushes_and_every_collected_post_is_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = lambda_trends(dir.path())
        .args(["collect", "--source", "synthetic", "--rate", "3000"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "collect did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "collect exited with {status}: {stderr}");
    let collected: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("collected "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'collected N posts' line in: {stderr}"));
    assert!(collected > 0, "{stderr}");

    assert_eq!(
        posts_in_log(dir.path()),
        collected,
        "the log holds exactly the posts collect reported"
    );
}

/// A Jetstream-like server on a WebSocket: plays `frames` to every connection, then stays open
/// (as the real one does between events).
async fn fake_jetstream(frames: Vec<String>) -> String {
    use futures::{SinkExt, StreamExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/subscribe", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let frames = frames.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                for f in frames {
                    if ws
                        .send(tokio_tungstenite::tungstenite::Message::text(f))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    url
}

fn bluesky_post(time_us: i64, text: &str, tag: Option<&str>) -> String {
    let facets = tag
        .map(|t| {
            format!(
                r#","facets":[{{"features":[{{"$type":"app.bsky.richtext.facet#tag","tag":"{t}"}}],"index":{{"byteStart":0,"byteEnd":1}}}}]"#
            )
        })
        .unwrap_or_default();
    format!(
        r#"{{"did":"did:plc:u{time_us}","time_us":{time_us},"kind":"commit","commit":{{"rev":"r{time_us}","operation":"create","collection":"app.bsky.feed.post","rkey":"k{time_us}","record":{{"$type":"app.bsky.feed.post","createdAt":"2026-11-23T10:00:00.000Z","langs":["en"],"text":{text:?}{facets}}},"cid":"c{time_us}"}}}}"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn collect_jetstream_from_a_live_like_server() {
    let t0 = 1_795_000_000_000_000_i64;
    let mut frames = vec![
        r#"{"did":"did:plc:x","time_us":1795000000000001,"kind":"identity","identity":{}}"#
            .to_owned(),
        "this is not JSON".to_owned(),
    ];
    frames.extend(
        (0..5).map(|i| bluesky_post(t0 + 10 + i, &format!("post {i} #Rust"), Some("Rust"))),
    );
    frames.push(format!(
        r#"{{"did":"did:plc:d","time_us":{},"kind":"commit","commit":{{"rev":"r","operation":"delete","collection":"app.bsky.feed.post","rkey":"k"}}}}"#,
        t0 + 20
    ));
    let url = fake_jetstream(frames).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lambda-trends.toml");
    std::fs::write(
        &config,
        format!(
            "[collector.jetstream]\ninstances = [\"{url}\"]\ncursor-file = \"{}\"\n",
            dir.path().join("cursor").display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let mut cmd = lambda_trends(&data);
    cmd.arg("--config")
        .arg(&config)
        .args(["collect", "--source", "jetstream", "--max-posts", "5"]);
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::from(cmd).output(),
    )
    .await
    .expect("collect stops at --max-posts")
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("collected 5 posts (1 rejected)"),
        "{stderr}"
    );
    let cursor: i64 = std::fs::read_to_string(dir.path().join("cursor"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        cursor >= t0 + 14,
        "the cursor file holds the last acknowledged event: {cursor}"
    );
    assert_eq!(posts_in_log(&data), 5);
}
