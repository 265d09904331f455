//! Shared by the serving tests: a serving layer on fresh embedded backends, on a free port.
#![allow(dead_code)] // each test binary uses its part

use ports::{BackendUrls, Backends};
use serving::ServingConfig;
use serving::admin::AdminActions;
use tokio_util::sync::CancellationToken;

/// A running serving layer: its data directory (deleted on drop), its backends, its base URL
/// (`http://127.0.0.1:PORT`) and the token that stops it.
pub struct TestServer {
    /// Holds the embedded backends' files.
    pub dir: tempfile::TempDir,
    /// The backends it serves from (write to them to change what it answers).
    pub backends: Backends,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Cancel to stop it.
    pub shutdown: CancellationToken,
}

/// Starts serving on fresh embedded backends with `cfg` (no dashboard assets) and `actions`.
pub async fn start_with(cfg: ServingConfig, actions: AdminActions) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let backends = Backends::open(&BackendUrls::default(), dir.path()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let cfg = ServingConfig {
        assets_dir: dir.path().join("no-dashboard").display().to_string(),
        ..cfg
    };
    tokio::spawn(serving::serve(
        listener,
        backends.clone(),
        cfg,
        None,
        actions,
        shutdown.clone(),
    ));
    TestServer {
        dir,
        backends,
        base,
        shutdown,
    }
}
