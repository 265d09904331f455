//! `lambda-trends collect` as operators run it: SIGTERM flushes and stops cleanly, and every
//! post it reports as collected is in the event log.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn lambda_trends(data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lambda-trends"));
    for (k, _) in std::env::vars() {
        if k.starts_with("LT_") {
            c.env_remove(k);
        }
    }
    c.arg("--data-dir").arg(data);
    c
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

    let out = lambda_trends(dir.path())
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let in_log: u64 = status["log_end_offsets"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        in_log, collected,
        "the log holds exactly the posts collect reported"
    );
}
