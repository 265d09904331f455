//! Helpers shared by the command-line tests: the binary in a clean environment, and its status.
// Each test binary uses some of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// `lambda-trends` with no `LT_*` variable or `RUST_LOG` inherited from the caller.
pub fn lambda_trends() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lambda-trends"));
    for (k, _) in std::env::vars() {
        if k.starts_with("LT_") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c
}

/// [`lambda_trends`] on the embedded backends in `data`.
pub fn lambda_trends_in(data: &Path) -> Command {
    let mut c = lambda_trends();
    c.arg("--data-dir").arg(data);
    c
}

/// `lambda-trends status --json` of the embedded backends in `data`.
pub fn status_json(data: &Path) -> serde_json::Value {
    let out = lambda_trends_in(data)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The sum of a status field holding per-partition offsets.
pub fn offsets_sum(status: &serde_json::Value, field: &str) -> u64 {
    status[field]
        .as_object()
        .map(|m| m.values().filter_map(serde_json::Value::as_u64).sum())
        .unwrap_or(0)
}
