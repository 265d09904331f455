//! A client may `subscribe` the moment its socket.io connection is acknowledged: no subscription
//! is lost (each of many sockets that subscribes at once receives its `series_update`).
//! socketioxide spawns an async connect handler after the acknowledgement, so handlers
//! registered there could miss the first events; ours are registered by a connect middleware.
//! (With them in the handler this test failed about one run in three on a loaded machine.)

use futures::{SinkExt, StreamExt};
use model::SlotStart;
use ports::{BackendUrls, Backends, SlotCount, SpeedTable};
use serving::ServingConfig;
use serving::admin::AdminActions;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribe_sent_with_the_connect_is_never_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let backends = Backends::open(&BackendUrls::default(), dir.path()).unwrap();
    // Enough counts that the trending list a new client is sent takes a while to compute (the
    // connect handler sends it; the `subscribe` handler must be in place before that).
    let now = SlotStart::containing(chrono::Utc::now().timestamp_millis());
    let cells: Vec<SlotCount> = (0..20_000)
        .map(|i| SlotCount {
            hashtag: format!("h{i}"),
            slot: now.minus(i % 3),
            count: 1 + i % 7,
        })
        .collect();
    backends
        .views
        .add_increments(SpeedTable::Zero, &cells)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(serving::serve(
        listener,
        backends,
        ServingConfig {
            push_interval_ms: 200,
            assets_dir: dir.path().join("none").display().to_string(),
            ..ServingConfig::default()
        },
        None,
        AdminActions::default(),
        shutdown.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut clients = Vec::new();
    for i in 0..30 {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        clients.push(tokio::spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
            // Engine.IO open packet, connect to "/", and the moment the connection is
            // acknowledged, subscribe (what socket.io-client does in its `connect` handler).
            let open = ws.next().await.unwrap().unwrap();
            assert!(open.to_text().unwrap().starts_with('0'), "{open:?}");
            let tag = format!("tag{i}");
            ws.send(Message::text("40")).await.unwrap();
            loop {
                let msg = ws.next().await.unwrap().unwrap();
                if msg.to_text().unwrap_or_default().starts_with("40") {
                    break;
                }
            }
            ws.send(Message::text(format!("42[\"subscribe\",\"{tag}\"]")))
                .await
                .unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let msg = tokio::time::timeout_at(deadline, ws.next())
                    .await
                    .unwrap_or_else(|_| panic!("{tag}: no series_update in 10 s"))
                    .unwrap()
                    .unwrap();
                let text = msg.to_text().unwrap_or_default().to_string();
                if text == "2" {
                    ws.send(Message::text("3")).await.unwrap(); // Engine.IO pong
                } else if text.starts_with("42[\"series_update\"")
                    && text.contains(&format!("\"hashtag\":\"{tag}\""))
                {
                    return;
                }
            }
        }));
    }
    for c in clients {
        c.await.unwrap();
    }
    shutdown.cancel();
}
