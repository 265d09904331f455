// Assembles the harness's JSON lines into results.json and prints the markdown tables.
//
//   node report.mjs --assemble runs.jsonl --out results.json [--profile release] [--smoke 1] ...
//   node report.mjs [results.json]          # print the tables of an existing results file
//
// With --smoke 1, exits 1 unless every run connected every client, measured every broadcast and
// lost no message.

import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};

let results;
if (flag("assemble")) {
  const runs = readFileSync(flag("assemble"), "utf8")
    .split("\n")
    .filter((l) => l.trim().startsWith("{"))
    .map((l) => JSON.parse(l));
  results = {
    generated_at: new Date().toISOString(),
    machine: {
      cores: cpus().length,
      cpu_model: cpus()[0]?.model ?? null,
      mem_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      load_avg_at_end: loadavg().map((x) => Math.round(x * 100) / 100),
      note: "clients and servers on one machine, sharing its cores",
    },
    lambda_trends: { binary: flag("bin", null), profile: flag("profile", null), synthetic_rate: flag("rate", "default") },
    push_interval_ms: Number(flag("interval-ms", "2000")),
    items: Number(flag("items", "20")),
    smoke: flag("smoke", "0") === "1",
    runs,
  };
  writeFileSync(flag("out", "results.json"), `${JSON.stringify(results, null, 2)}\n`);
} else {
  results = JSON.parse(readFileSync(args[0] ?? new URL("results.json", import.meta.url), "utf8"));
}

const f = (x, d = 1) => (x == null ? "–" : Number(x).toFixed(d));
const ratio = (a, b) => (a == null || b == null || b === 0 ? "–" : `${(a / b).toFixed(2)}×`);
const byN = new Map();
for (const r of results.runs) {
  if (!byN.has(r.clients)) byN.set(r.clients, {});
  byN.get(r.clients)[r.label] = r;
}

const lines = [];
const m = results.machine;
lines.push(
  `socket.io fan-out, ${results.push_interval_ms} ms push interval, ${results.items}-item trending payload; ` +
    `${m.cores} cores (${m.cpu_model}), clients and servers on the same machine; ` +
    `lambda-trends: ${results.lambda_trends.profile} build${results.lambda_trends.profile === "debug" ? " (NOT representative)" : ""}.`,
);
lines.push("");
lines.push("| N | p99 delay ours (ms) | p99 delay node (ms) | ratio ours/node | VmRSS ours (MiB) | VmRSS node (MiB) | ratio ours/node |");
lines.push("|---:|---:|---:|---:|---:|---:|---:|");
for (const [n, s] of [...byN].sort((a, b) => a[0] - b[0])) {
  const o = s.ours;
  const nd = s.node;
  lines.push(
    `| ${n} | ${f(o?.delay_ms?.p99)} | ${f(nd?.delay_ms?.p99)} | ${ratio(o?.delay_ms?.p99, nd?.delay_ms?.p99)} ` +
      `| ${f(o?.server?.vm_rss_mib)} | ${f(nd?.server?.vm_rss_mib)} | ${ratio(o?.server?.vm_rss_mib, nd?.server?.vm_rss_mib)} |`,
  );
}
lines.push("");
lines.push(
  "| N | server | connected | received / expected (lost) | delay p50 / p95 / p99 / max (ms) | first client p50 (ms) | spread p99 (ms) | VmRSS / VmHWM (MiB) | KiB per client | server CPU idle → measured (cores) | client CPU (cores) | payload (B) |",
);
lines.push("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of results.runs) {
  const d = r.delay_ms ?? {};
  const sv = r.server ?? {};
  lines.push(
    `| ${r.clients} | ${r.label} | ${r.connected}/${r.clients} | ${r.received ?? "–"} / ${r.expected ?? "–"} (${r.lost ?? "–"}) ` +
      `| ${f(d.p50)} / ${f(d.p95)} / ${f(d.p99)} / ${f(d.max)} | ${f(r.first_delay_ms_p50)} | ${f(r.spread_ms?.p99)} ` +
      `| ${f(sv.vm_rss_mib)} / ${f(sv.vm_hwm_mib)} | ${f(sv.rss_per_client_kib)} ` +
      `| ${f(sv.cpu_util_idle, 2)} → ${f(sv.cpu_util_measure, 2)} | ${f(r.client?.cpu_util_measure, 2)} | ${r.payload_bytes ?? "–"} |`,
  );
}
process.stdout.write(`${lines.join("\n")}\n`);

if (results.smoke) {
  const problems = [];
  if (results.runs.length === 0) problems.push("no run produced results");
  for (const r of results.runs) {
    const who = `${r.label} N=${r.clients}`;
    if (r.error) problems.push(`${who}: ${r.error}`);
    if (r.connected !== r.clients) problems.push(`${who}: ${r.connected}/${r.clients} connected`);
    if (r.broadcasts !== r.broadcasts_wanted) problems.push(`${who}: ${r.broadcasts}/${r.broadcasts_wanted} broadcasts`);
    if (r.lost !== 0) problems.push(`${who}: lost ${r.lost} messages`);
    if (!(r.payload_items > 0)) problems.push(`${who}: empty trending payload`);
  }
  if (problems.length) {
    process.stderr.write(`smoke: FAILED\n  ${problems.join("\n  ")}\n`);
    process.exit(1);
  }
  process.stderr.write(`smoke: passed (${results.runs.map((r) => `${r.label} N=${r.clients}`).join(", ")})\n`);
}
