"""Writes the chart's Grafana dashboard, helm/lambda-trends/dashboards/lambda-trends.json.

    python3 scripts/helm/gen_dashboard.py

Edit the panels here, not the JSON. scripts/test-helm.sh checks that every lambda_* metric the
dashboard queries is emitted somewhere in the Rust sources (so a renamed metric fails the test)
and that the committed JSON is what this script writes.
"""
import json
import pathlib
import sys

OUT = pathlib.Path(__file__).resolve().parents[2] / "helm" / "lambda-trends" / "dashboards" / "lambda-trends.json"
NS = 'namespace="$namespace"'
RI = '[$__rate_interval]'
panels = []
y = 0
pid = 0
def row(title):
    global y, pid
    pid += 1
    panels.append({"type": "row", "title": title, "id": pid, "collapsed": False,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
    y += 1
x = 0
def panel(title, desc, targets, unit="short", w=8, kind="timeseries"):
    global x, y, pid
    pid += 1
    if x + w > 24:
        x = 0; y += 8
    p = {"type": kind, "title": title, "description": desc, "id": pid,
         "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "gridPos": {"h": 8, "w": w, "x": x, "y": y},
         "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
         "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                     "tooltip": {"mode": "multi", "sort": "desc"}} if kind == "timeseries" else
                    {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                     "colorMode": "value", "graphMode": "area", "textMode": "auto"},
         "targets": [{"refId": chr(65 + i), "expr": e, "legendFormat": l,
                      "datasource": {"type": "prometheus", "uid": "${datasource}"}}
                     for i, (e, l) in enumerate(targets)]}
    panels.append(p)
    x += w
def endrow():
    global x, y
    x = 0; y += 8

row("Overview")
panel("Posts written to the event log", "Posts the collectors appended to the `posts` topic, per second.",
      [(f'sum(rate(lambda_collector_posts_written_total{{{NS}}}{RI}))', "posts/s")], "ops", 6, "stat")
panel("Events counted by the speed layer", "Records the speed workers read from the event log, per second.",
      [(f'sum(rate(lambda_speed_received_events_total{{{NS}}}{RI}))', "events/s")], "ops", 6, "stat")
panel("Rows written to the master dataset", "Rows master ingest appended to the Parquet master dataset, per second.",
      [(f'sum(rate(lambda_ingest_sent_rows_total{{{NS}}}{RI}))', "rows/s")], "ops", 6, "stat")
panel("Dashboard clients", "socket.io clients connected to serving.",
      [(f'sum(lambda_serving_clients{{{NS}}})', "clients")], "short", 6, "stat")
endrow()
panel("Targets up", "Scraped lambda-trends pods (1: up).",
      [(f'up{{{NS}, container=~"collector|speed|ingest|serving"}}', "{{pod}}")], "short", 12)
panel("Backend retries", "Backend operations retried after a failure (an outage shows here and on /readyz).",
      [(f'sum by (operation) (rate(lambda_backend_retries_total{{{NS}}}{RI}))', "{{operation}}")], "ops", 12)
endrow()

row("Collectors")
panel("Received from the source", "Items read from each source, per second.",
      [(f'sum by (source) (rate(lambda_collector_received_total{{{NS}}}{RI}))', "{{source}}")], "ops")
panel("Posts written, by source", "Posts appended to the event log, per second.",
      [(f'sum by (source) (rate(lambda_collector_posts_written_total{{{NS}}}{RI}))', "{{source}}")], "ops")
panel("Source lag", "How far behind real time each live source is.",
      [(f'max by (source) (lambda_collector_lag_seconds{{{NS}}})', "{{source}}")], "s")
endrow()
panel("Malformed input (sent to posts-dlq)", "Input that could not become a post, by source and reason.",
      [(f'sum by (source, reason) (rate(lambda_collector_malformed_total{{{NS}}}{RI}))', "{{source}} {{reason}}"),
       (f'sum by (source) (rate(lambda_collector_truncated_lines_total{{{NS}}}{RI}))', "truncated {{source}}"),
       (f'sum by (source, kind) (rate(lambda_collector_skipped_total{{{NS}}}{RI}))', "skipped {{source}} {{kind}}")], "ops")
panel("Reconnects", "Reconnections to the source, by cause.",
      [(f'sum by (source, cause) (increase(lambda_collector_reconnects_total{{{NS}}}[5m]))', "{{source}} {{cause}}")], "short")
panel("Stream errors", "Errors reported by the source's stream, by kind.",
      [(f'sum by (source, kind) (increase(lambda_collector_stream_errors_total{{{NS}}}[5m]))', "{{source}} {{kind}}")], "short")
endrow()

row("Speed layer")
panel("Events read, by worker", "Records each speed worker read from the event log, per second.",
      [(f'sum by (pod) (rate(lambda_speed_received_events_total{{{NS}}}{RI}))', "{{pod}}")], "ops")
panel("Counter increments written", "Slot-counter increments written, by speed table.",
      [(f'sum by (table) (rate(lambda_speed_sent_increments_total{{{NS}}}{RI}))', "{{table}}")], "ops")
panel("Flush duration", "Time of one commit boundary (write increments, commit offsets, protocol step).",
      [(f'max by (quantile) (lambda_speed_flush_seconds{{{NS}, quantile=~"0.5|0.9|0.99"}})', "p{{quantile}}")], "s")
endrow()
panel("Rejected and dead-lettered", "Undecodable records: rejected (by reason) and sent to posts-dlq.",
      [(f'sum by (reason) (rate(lambda_speed_rejected_events_total{{{NS}}}{RI}))', "rejected {{reason}}"),
       (f'sum(rate(lambda_speed_dead_lettered_events_total{{{NS}}}{RI}))', "dead-lettered")], "ops", 12)
panel("Speed errors", "Failures of the speed loop, by kind.",
      [(f'sum by (kind) (increase(lambda_speed_errors_total{{{NS}}}[5m]))', "{{kind}}")], "short", 12)
endrow()

row("Master ingest")
panel("Events read and rows written", "Records read from the event log and rows written to the master dataset, per second.",
      [(f'sum(rate(lambda_ingest_received_events_total{{{NS}}}{RI}))', "read"),
       (f'sum(rate(lambda_ingest_sent_rows_total{{{NS}}}{RI}))', "written")], "ops")
panel("Rejected events", "Records ingest could not decode, by reason.",
      [(f'sum by (reason) (rate(lambda_ingest_rejected_events_total{{{NS}}}{RI}))', "{{reason}}")], "ops")
panel("Manifest", "The master dataset's manifest version, and lost put-if-absent races between ingest members.",
      [(f'max(lambda_ingest_manifest_version{{{NS}}})', "version"),
       (f'sum(increase(lambda_ingest_manifest_conflicts_total{{{NS}}}[5m]))', "conflicts (5m)")], "short")
endrow()

row("Recompute (CronJob, from kube-state-metrics)")
panel("Since the last successful recompute", "Seconds since the recompute CronJob last succeeded (kube-state-metrics).",
      [(f'time() - max by (cronjob) (kube_cronjob_status_last_successful_time{{{NS}, cronjob=~".*-recompute"}})', "{{cronjob}}")], "s", 12)
panel("Failed recompute Jobs", "Recompute Jobs that failed (kube-state-metrics).",
      [(f'sum by (job_name) (kube_job_status_failed{{{NS}, job_name=~".*-recompute-.*"}})', "{{job_name}}")], "short", 12)
endrow()

row("Serving")
panel("socket.io clients, by pod", "Connected dashboard clients.",
      [(f'sum by (pod) (lambda_serving_clients{{{NS}}})', "{{pod}}")], "short", 12)
panel("Pushes", "trending and series_update pushes to clients, per second.",
      [(f'sum by (event) (rate(lambda_serving_pushes_total{{{NS}}}{RI}))', "{{event}}")], "ops", 12)
endrow()

dash = {
    "title": "lambda-trends",
    "uid": "lambda-trends",
    "description": "lambda-trends: collectors, speed layer, master ingest, recompute and serving.",
    "tags": ["lambda-trends"],
    "timezone": "utc",
    "schemaVersion": 39,
    "version": 1,
    "editable": True,
    "refresh": "30s",
    "time": {"from": "now-6h", "to": "now"},
    "annotations": {"list": []},
    "links": [],
    "templating": {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0, "refresh": 1, "options": []},
        {"name": "namespace", "label": "Namespace", "type": "query",
         "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "query": {"query": "label_values(up{container=~\"collector|speed|ingest|serving\"}, namespace)", "refId": "namespace"},
         "definition": "label_values(up{container=~\"collector|speed|ingest|serving\"}, namespace)",
         "current": {}, "hide": 0, "refresh": 2, "sort": 1, "options": [], "includeAll": False, "multi": False},
    ]},
    "panels": panels,
}
text = json.dumps(dash, indent=2) + "\n"
if sys.argv[1:] == ["--check"]:
    sys.exit(0 if OUT.read_text() == text else f"{OUT} is not what {__file__} writes: run it")
OUT.write_text(text)
print(f"wrote {OUT}")
