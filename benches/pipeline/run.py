#!/usr/bin/env python3
"""The whole pipeline on real Kafka + Cassandra + ZooKeeper, one process per component, N posts.

    benches/pipeline/run.py --posts 10000000          # the full run (about 5 minutes here)
    benches/pipeline/run.py --posts 200000 --smoke    # a pass/fail check of the harness

The collector appends N synthetic posts as fast as it can (`collect --rate 0 --max-posts N`)
while a speed worker, the master ingest and the serving layer run beside it, each in its own
process, as on Kubernetes. When the collector is done and `/api/v1/status` says the speed tables
and the master dataset hold every record (lag 0), a recompute rebuilds the batch views from the
whole master dataset and flips. The peak memory of each of our processes is its maximum resident
set size as the kernel reports it when the process ends (wait4's ru_maxrss); each server's process
tree is sampled from /proc every second.

The pipeline's highest sustained rate is N over the time from the first post appended until the
slowest consumer (speed or ingest) has caught up: every component shares the machine's cores, so
this is the rate the whole pipeline keeps up with, end to end.

Needs the servers of scripts/it (`scripts/it/up.sh`, then `source .dev/it/env.sh` for
LT_IT_KAFKA, LT_IT_CASSANDRA, LT_IT_ZK) and a release build of the binary ($LT_BIN, else
$CARGO_TARGET_DIR/release/lambda-trends). Writes JSON to --out (default
benches/results/pipeline-<N>.json) and prints it.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("LT_IT_STATE", ROOT / ".dev" / "it"))
SERVERS = ("kafka", "cassandra", "zookeeper")
PAGE = os.sysconf("SC_PAGE_SIZE")


def log(msg):
    print(f"[pipeline] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(pid):
    """pid and all its descendants."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_bytes(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            pass
    return total


class Sampler(threading.Thread):
    """Samples the RSS of each named process tree every `period` seconds; keeps the peak."""

    def __init__(self, period=1.0):
        super().__init__(daemon=True)
        self.period = period
        self.roots = {}
        self.peak = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def watch(self, name, pid):
        with self.lock:
            self.roots[name] = pid
        self.sample_one(name, pid)

    def sample_one(self, name, pid):
        rss = rss_bytes(tree(pid))
        with self.lock:
            self.peak[name] = max(self.peak.get(name, 0), rss)

    def run(self):
        while not self.stopped.wait(self.period):
            with self.lock:
                roots = dict(self.roots)
            for name, pid in roots.items():
                self.sample_one(name, pid)

    def stop(self):
        self.stopped.set()
        self.join()


class Proc:
    """A child process reaped with wait4, so its exact peak RSS (ru_maxrss) is known when it exits."""

    def __init__(self, popen):
        self.popen = popen
        self.pid = popen.pid
        self.returncode = None
        self.maxrss = 0

    def poll(self):
        if self.returncode is None:
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                self.maxrss = usage.ru_maxrss * 1024
        return self.returncode

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.popen.args, timeout)
            time.sleep(0.05)
        return self.returncode


def status(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/status", timeout=5) as r:
        return json.load(r)


def wait_for(what, predicate, timeout_s, procs):
    deadline = time.monotonic() + timeout_s
    last_err = None
    while time.monotonic() < deadline:
        for name, p in procs.items():
            if p.poll() is not None and name != "collector":
                raise SystemExit(f"pipeline: the {name} process exited ({p.returncode}) while waiting for {what}")
        try:
            if predicate():
                return
        except OSError as e:  # serving not listening yet
            last_err = e
        time.sleep(0.2)
    raise SystemExit(f"pipeline: timed out after {timeout_s} s waiting for {what} ({last_err})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=10_000_000)
    ap.add_argument("--smoke", action="store_true", help="a small run that checks the harness works")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds to wait for catch-up")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--keep", action="store_true", help="keep the run's directory (logs, master)")
    args = ap.parse_args()

    kafka, cassandra, zk = (os.environ.get(k) for k in ("LT_IT_KAFKA", "LT_IT_CASSANDRA", "LT_IT_ZK"))
    if not (kafka and cassandra and zk):
        raise SystemExit("pipeline: start the servers first: scripts/it/up.sh && source .dev/it/env.sh")
    target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/lambda-trends/target"))
    binary = Path(os.environ.get("LT_BIN", target / "release" / "lambda-trends"))
    if not binary.is_file():
        raise SystemExit(f"pipeline: no binary at {binary}: cargo build --release --bin lambda-trends")
    build = next((b for b in ("release", "debug") if b in binary.parts), "custom")
    out = args.out or ROOT / "benches" / "results" / f"pipeline-{args.posts}.json"

    run_id = uuid.uuid4().hex[:8]
    work = Path(tempfile.mkdtemp(prefix="lt-pipeline-"))
    port = free_port()
    config = work / "lambda-trends.toml"
    config.write_text(
        f"""data-dir = "{work / 'data'}"
[backends]
event-log = "kafka://{kafka}/lt-pipe-{run_id}"
views = "cassandra://{cassandra}/lt_pipe_{run_id}"
coordinator = "zk://{zk}/lt-pipe-{run_id}"
[serving]
listen = "127.0.0.1:{port}"
assets-dir = "{work / 'no-dashboard'}"
"""
    )
    log(f"run {run_id} in {work}; {args.posts:,} posts; binary {binary}")
    sampler = Sampler()
    for name in SERVERS:
        pidfile = STATE / name / "pid"
        if pidfile.is_file():
            sampler.watch(name, int(pidfile.read_text().strip()))
        else:
            log(f"no pid file for {name} at {pidfile}: its memory is not measured")
    server_rss_at_start = {n: sampler.peak.get(n) for n in SERVERS}
    sampler.start()

    procs = {}
    logs = {}

    def start(name, *argv):
        env = dict(os.environ, LT__TELEMETRY__LISTEN=f"127.0.0.1:{free_port()}", LT__LOG__FILTER="warn")
        logs[name] = open(work / f"{name}.log", "w")
        p = subprocess.Popen(
            [str(binary), "--config", str(config), *argv],
            stdout=logs[name],
            stderr=subprocess.STDOUT,
            env=env,
            cwd=work,
        )
        procs[name] = Proc(p)
        sampler.watch(name, p.pid)
        return procs[name]

    result = {}
    try:
        # The topics, tables and znodes exist once `serve` is up (it opens every backend).
        start("serve", "serve")
        wait_for("serving to answer", lambda: status(port) is not None, 120, procs)
        start("speed", "speed")
        start("ingest", "ingest")
        time.sleep(2)  # the consumers join their groups
        t0 = time.monotonic()
        collector = start("collector", "collect", "--source", "synthetic", "--rate", "0", "--max-posts", str(args.posts))
        speed_done = master_done = None
        appended = 0
        last_report = t0
        while speed_done is None or master_done is None:
            if time.monotonic() - t0 > args.timeout:
                raise SystemExit(f"pipeline: not caught up after {args.timeout} s")
            for name in ("serve", "speed", "ingest"):
                if procs[name].poll() is not None:
                    raise SystemExit(f"pipeline: {name} exited ({procs[name].returncode}); see {work / (name + '.log')}")
            rc = collector.poll()
            if rc is not None and rc != 0:
                raise SystemExit(f"pipeline: the collector failed ({rc}); see {work / 'collector.log'}")
            s = status(port)
            lag = s["lag"]
            now = time.monotonic()
            if rc == 0 and "collector_s" not in result:
                result["collector_s"] = round(now - t0, 2)
                log(f"collector done: {args.posts:,} posts in {result['collector_s']} s")
            if rc == 0:
                if speed_done is None and lag["speed"]["total"] == 0:
                    speed_done = now - t0
                    log(f"speed layer caught up at {speed_done:.1f} s")
                if master_done is None and lag["master"]["total"] == 0:
                    master_done = now - t0
                    log(f"master ingest caught up at {master_done:.1f} s")
            if now - last_report > 10:
                last_report = now
                log(f"{now - t0:.0f} s: lag speed {lag['speed']['total']:,}, master {lag['master']['total']:,}")
            time.sleep(0.25)
        result["speed_caught_up_s"] = round(speed_done, 2)
        result["master_caught_up_s"] = round(master_done, 2)

        t1 = time.monotonic()
        rec = start("recompute", "recompute")
        rc = rec.wait(timeout=args.timeout)
        if rc != 0:
            raise SystemExit(f"pipeline: the recompute failed ({rc}); see {work / 'recompute.log'}")
        result["recompute_s"] = round(time.monotonic() - t1, 2)
        log(f"recompute done in {result['recompute_s']} s")
        final = status(port)
        time.sleep(1.5)  # one more sample of everything still running
    finally:
        sampler.stop()
        for name, p in procs.items():
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
        for name, p in procs.items():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=30)
        for f in logs.values():
            f.close()

    # Checks: every post is in the log, the speed tables and the master dataset, and the
    # recompute flipped to a new epoch.
    records, rows = final["log"]["records"], final["master"]["rows"]
    if records < args.posts or rows != records:
        raise SystemExit(f"pipeline: {args.posts:,} posts sent, log has {records:,}, master {rows:,}")
    if final["lag"]["speed"]["total"] != 0 or final["lag"]["master"]["total"] != 0:
        raise SystemExit(f"pipeline: lag left after catching up: {final['lag']}")
    if final["active"]["epoch"] < 1 or final["recompute"] is not None:
        raise SystemExit(f"pipeline: the recompute did not flip: {final['active']}, {final['recompute']}")
    caught_up = max(result["speed_caught_up_s"], result["master_caught_up_s"])
    # Our processes: their exact peak (ru_maxrss at exit) when it is known; the servers: sampled.
    for name, p in procs.items():
        sampler.peak[name] = max(sampler.peak.get(name, 0), p.maxrss)
    mib = lambda b: round(b / 2**20, 1) if b else None  # noqa: E731
    result.update(
        {
            "bench": "pipeline",
            "build": build,
            "posts": args.posts,
            "smoke": args.smoke,
            "cores": os.cpu_count(),
            "backends": "kafka + cassandra + zookeeper",
            "epoch_after": final["active"]["epoch"],
            "log_records": records,
            "collector_posts_per_s": round(args.posts / result["collector_s"]),
            "sustained_posts_per_s": round(args.posts / caught_up),
            "speed_posts_per_s": round(args.posts / result["speed_caught_up_s"]),
            "master_posts_per_s": round(args.posts / result["master_caught_up_s"]),
            "peak_rss_mib": {name: mib(b) for name, b in sampler.peak.items()},
            "server_rss_at_start_mib": {n: mib(b) for n, b in server_rss_at_start.items()},
        }
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    if args.keep:
        log(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
