"""Markdown tables of the Spark results in benches/spark/results/ (for RESULTS.md and README.md).

    python3 benches/spark/summarize.py [results/*.json]
"""

import glob
import json
import os
import sys


def fmt(x, nd=2):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:,.{nd}f}"
    return f"{x:,}"


def dataset(r):
    h = r.get("spread_hours")
    return f"{r['posts']:,} posts" + (f", spread over {h:g} h" if h else ", one slot")


def main(paths):
    batch = [json.load(open(p)) for p in paths if os.path.basename(p).startswith("batch-")]
    stream = [json.load(open(p)) for p in paths if os.path.basename(p).startswith("streaming-")]
    if batch:
        print("| dataset | files | groups out | session start | first run | warm runs (median) | best | equal to ours / reference | load avg (1 min) start → end |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in sorted(batch, key=lambda r: (r["posts"], r.get("spread_hours") or 0)):
            s = r["spark"]
            warm = s["runs_s"][1:]
            print(f"| {dataset(r)} | {s['parquet_files_in']} | {fmt(s['rows_out'])} | {fmt(s['session_startup_s'])} s "
                  f"| {fmt(s['first_s'])} s | {', '.join(fmt(x) for x in warm)} s ({fmt(s.get('warm_median_s'))} s) "
                  f"| {fmt(s['best_s'])} s ({fmt(s['rows_in_per_s_best'])} posts/s) "
                  f"| {r.get('equal_to_ours')} / {r.get('equal_to_reference')} "
                  f"| {fmt(r['machine']['loadavg_at_start'][0])} → {fmt(s.get('loadavg_at_end', [None])[0])} |")
        print()
    for r in sorted(stream, key=lambda r: (r["posts"], r.get("spread_hours") or 0)):
        print(f"Streaming, {dataset(r)} (topic `{r['topic']}`), load average at start "
              f"{fmt(r['machine']['loadavg_at_start'][0])}:")
        print()
        print("| maxOffsetsPerTrigger | batches (steady) | steady records/s | steady batch time median / p95 | first batch | records/s, whole query | equal to ours / reference |")
        print("|---|---|---|---|---|---|---|")
        for run in r["runs"]:
            s = run["summary"]
            fb = (s.get("first_batch") or {}).get("trigger_ms")
            print(f"| {fmt(s['max_offsets_per_trigger'])} | {s['batches']} ({s['steady_batches']}) "
                  f"| {fmt(s['steady_records_per_s'], 0)} | {fmt(s['steady_batch_ms_median'], 0)} ms / {fmt(s['steady_batch_ms_p95'], 0)} ms "
                  f"| {fmt(fb / 1000 if fb is not None else None, 1)} s | {fmt(s['records_per_s_query_wall'], 0)} "
                  f"| {run.get('equal_to_ours')} / {run.get('equal_to_reference')} |")
        print()


if __name__ == "__main__":
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    main(sys.argv[1:] or sorted(glob.glob(os.path.join(here, "*.json"))))
