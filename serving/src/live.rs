//! Live pushes over socket.io: `trending` to everyone, and `series_update` to the room of each
//! subscribed hashtag. Each is computed once per tick, whatever the number of clients.

use crate::api::compute_trending;
use crate::{AppState, merge};
use chrono::Utc;
use model::{SlotStart, normalize_hashtag};
use socketioxide::SocketIo;
use socketioxide::extract::{Data, SocketRef};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const ROOM_PREFIX: &str = "tag:";
/// Slots included in a `series_update`: the current one and the two before.
const UPDATE_SLOTS: i64 = 3;

/// Each websocket connection's read buffer (larger messages still arrive, in several reads).
const WS_READ_BUFFER_BYTES: usize = 1024;

/// The socket.io layer and handle. Clients emit `subscribe` / `unsubscribe` with a hashtag.
pub fn socket_layer(state: Arc<AppState>) -> (SocketIoLayer, SocketIo) {
    // Clients only send short events (`subscribe`, `unsubscribe`, pongs): a 1 KiB websocket
    // read buffer instead of the default 4 KiB, kept per connection for its whole life.
    let (layer, io) = SocketIo::builder()
        .ws_read_buffer_size(WS_READ_BUFFER_BYTES)
        .build_layer();
    // The event handlers are registered by a connect middleware, which socketioxide awaits
    // before it acknowledges the connection; the connect handler itself is spawned after the
    // acknowledgement, so a `subscribe` sent the moment the client is connected could otherwise
    // arrive before the handlers exist, and be dropped.
    let register = async |s: SocketRef| -> Result<(), std::convert::Infallible> {
        metrics::gauge!("lambda_serving_clients").increment(1.0);
        s.on_disconnect(async |_s: SocketRef| {
            metrics::gauge!("lambda_serving_clients").decrement(1.0);
        });
        s.on("subscribe", async |s: SocketRef, Data::<String>(tag)| {
            let key = normalize_hashtag(tag.trim_start_matches(['#', '＃']));
            if !key.is_empty() {
                s.join(format!("{ROOM_PREFIX}{key}"));
            }
        });
        s.on("unsubscribe", async |s: SocketRef, Data::<String>(tag)| {
            let key = normalize_hashtag(tag.trim_start_matches(['#', '＃']));
            s.leave(format!("{ROOM_PREFIX}{key}"));
        });
        Ok(())
    };
    let greet = async move |s: SocketRef| {
        // A new client gets the current list at once instead of waiting for the next tick.
        let st = state.clone();
        if let Ok(t) = compute_trending(&st, st.cfg.trending_minutes, st.cfg.trending_limit).await {
            let _ = s.emit("trending", &*t);
        }
    };
    io.ns("/", greet.with(register));
    (layer, io)
}

/// Every `push_interval_ms`: one trending computation broadcast to all, one series update per
/// subscribed hashtag broadcast to its room. Stops with `shutdown`.
pub async fn push_loop(state: Arc<AppState>, io: SocketIo, shutdown: CancellationToken) {
    let mut tick =
        tokio::time::interval(Duration::from_millis(state.cfg.push_interval_ms.max(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        // Keep the posts/s sample fresh for the status endpoint.
        if let Ok(ends) = state.backends.log.end_offsets(model::POSTS_TOPIC).await {
            let total: u64 = ends.values().sum();
            state
                .rate
                .lock()
                .expect("rate sampler poisoned")
                .sample(total);
        }
        match compute_trending(&state, state.cfg.trending_minutes, state.cfg.trending_limit).await {
            Ok(t) => {
                if let Err(error) = io.emit("trending", &*t).await {
                    tracing::debug!(%error, "Could not push trending.");
                }
                metrics::counter!("lambda_serving_pushes_total", "event" => "trending")
                    .increment(1);
            }
            Err(error) => tracing::warn!(%error, "Could not compute trending for the push."),
        }
        let rooms = match io.rooms().await {
            Ok(r) => r,
            Err(error) => {
                tracing::debug!(%error, "Could not list rooms.");
                continue;
            }
        };
        let pair = state.active.borrow().clone();
        let to = SlotStart::containing(Utc::now().timestamp_millis());
        let from = to.minus(UPDATE_SLOTS - 1);
        for room in rooms {
            let Some(tag) = room.strip_prefix(ROOM_PREFIX) else {
                continue;
            };
            match merge::series(state.backends.views.as_ref(), &pair, tag, from, to).await {
                Ok(points) => {
                    let body = serde_json::json!({ "hashtag": tag, "epoch": pair.epoch.0, "points": points });
                    let _ = io.to(room.to_string()).emit("series_update", &body).await;
                    metrics::counter!("lambda_serving_pushes_total", "event" => "series_update")
                        .increment(1);
                }
                Err(error) => tracing::warn!(%error, tag, "Could not compute a series update."),
            }
        }
    }
}
