// The reference side of the fan-out benchmark: a plain socket.io 4 server that broadcasts a
// `trending` event to every client every `--interval-ms`, with a payload of the same shape and
// size as lambda-trends' (`TrendingResponse` in serving/src/api.rs):
//
//   { window_minutes, as_of, epoch, hashtags: [{ hashtag, count, burst }] }
//
// `as_of` is the wall-clock time taken just before the emit (RFC 3339 with nine fractional digits,
// like chrono's), which the harness uses as the send time. Like ours, a new client gets the current
// list at once on connect. Websocket transport only, no compression (socketioxide has none).
//
//   node node-server.mjs [--port 0] [--host 127.0.0.1] [--interval-ms 2000] [--items 20]
//                        [--burst null|number]
//
// Prints `listening <port>` on stdout once it accepts connections.

import { createServer } from "node:http";
import { Server } from "socket.io";

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  const env = process.env[`FANOUT_${name.toUpperCase().replaceAll("-", "_")}`];
  return env ?? fallback;
}

const host = flag("host", "127.0.0.1");
const port = Number(flag("port", "0"));
const intervalMs = Number(flag("interval-ms", "2000"));
const items = Number(flag("items", "20"));
// A fresh lambda-trends data dir has no hour of history, so its burst scores are null; `number`
// sends z-scores instead (a few bytes more per item).
const burstMode = flag("burst", "null");

// Hashtags like the synthetic source's vocabulary (words and word+year compounds).
const WORDS = [
  "pythonopen2025", "goalrobot", "rustlang", "danceplants", "baking", "jobkids2030", "anime",
  "schoolpizza", "worldcup2026", "writing", "ai", "music", "travelphoto", "coffee", "gamedev",
  "football", "sunset", "bookclub", "weekendvibes", "openscience", "climate2030", "photography",
  "running", "catsofbluesky",
];

// RFC 3339 with nanoseconds from the high-resolution wall clock (same length as chrono's output).
function rfc3339Nanos() {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  const frac = Math.round((ms - whole) * 1e6); // nanoseconds below the millisecond
  const iso = new Date(whole).toISOString(); // ...T12:34:56.789Z
  return `${iso.slice(0, -1)}${String(Math.min(frac, 999999)).padStart(6, "0")}Z`;
}

let tick = 0;
function payload() {
  tick += 1;
  const hashtags = [];
  for (let i = 0; i < items; i += 1) {
    const hashtag = WORDS[i % WORDS.length] + (i >= WORDS.length ? String(i) : "");
    // Zipf-like counts that grow a little every tick.
    const count = Math.round(4000 / (i + 1) ** 1.1) + tick * (items - i);
    const burst = burstMode === "null" ? null : Math.round(((i % 7) - 2.5) * 1e6 * Math.PI) / 1e6;
    hashtags.push({ hashtag, count, burst });
  }
  return { window_minutes: 15, as_of: rfc3339Nanos(), epoch: 0, hashtags };
}

const http = createServer((req, res) => {
  res.writeHead(req.url === "/healthz" ? 200 : 404, { "content-type": "text/plain" });
  res.end(req.url === "/healthz" ? "ok\n" : "not found\n");
});
const io = new Server(http, {
  transports: ["websocket"],
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  cors: { origin: "*" },
});

let current = payload();
io.on("connection", (socket) => {
  // Like lambda-trends: a new client gets the current list at once.
  socket.emit("trending", current);
});

setInterval(() => {
  current = payload(); // as_of is taken here, just before the emit
  io.emit("trending", current);
}, intervalMs);

http.listen(port, host, () => {
  process.stdout.write(`listening ${http.address().port}\n`);
});

function stop() {
  io.close();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
