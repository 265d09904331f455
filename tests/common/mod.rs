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

/// Child processes, each logging to `<dir>/<name>.log`, killed when the test ends however it
/// ends.
pub struct Children {
    dir: std::path::PathBuf,
    children: Vec<(String, std::process::Child)>,
}

impl Children {
    /// No children yet; their logs will go to `dir`.
    pub fn new(dir: &Path) -> Children {
        Children {
            dir: dir.to_path_buf(),
            children: Vec::new(),
        }
    }

    /// Starts `command` as `name`, its standard output and error in `<dir>/<name>.log`.
    pub fn spawn(&mut self, name: &str, mut command: Command) {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log"))).unwrap();
        let child = command
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.children.push((name.to_string(), child));
    }

    /// The last lines of every child's log, for a failure message.
    pub fn logs(&self) -> String {
        self.children
            .iter()
            .map(|(name, _)| {
                let log = std::fs::read_to_string(self.dir.join(format!("{name}.log")))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                format!(
                    "--- {name} ---\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The process id of the child `name`.
    pub fn pid(&self, name: &str) -> u32 {
        self.children
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.id())
            .unwrap_or_else(|| panic!("no child named {name}"))
    }

    /// How the child `name` exited, if it has.
    pub fn exit_status(&mut self, name: &str) -> Option<std::process::ExitStatus> {
        self.children
            .iter_mut()
            .find(|(n, _)| n == name)
            .and_then(|(_, c)| c.try_wait().ok().flatten())
    }

    /// Panics, with its log, if a child other than those in `finishing` has exited.
    pub fn assert_alive(&mut self, finishing: &[&str]) {
        for (name, child) in &mut self.children {
            if finishing.contains(&name.as_str()) {
                continue;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(self.dir.join(format!("{name}.log")))
                    .unwrap_or_default();
                panic!("`{name}` exited early ({status}):\n{log}");
            }
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
