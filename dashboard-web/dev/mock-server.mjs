// Development-only mock of the lambda-trends serving API (HTTP + socket.io), serving dist/.
// Counts are synthetic and change every tick. Not used in production: the Rust `serving`
// crate implements the real contract.
//
//   npm run build && npm run mock          # http://127.0.0.1:8787
//   PORT=9000 HOST=0.0.0.0 npm run mock
//   LT_API=http://127.0.0.1:8787 npm run dev   # vite dev server proxying to the mock
//   READ_TOKEN=s3cret npm run mock             # the API and socket.io need the token (like serving.read-token)
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';

const PORT = Number(process.env.PORT ?? 8787);
const HOST = process.env.HOST ?? '127.0.0.1';
const READ_TOKEN = process.env.READ_TOKEN ?? '';
const DIST = resolve(process.env.DIST ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist'));

const SLOT = 5 * 60_000;
const DAY = 86_400_000;
const TAGS = {
  rust: 9, ai: 14, worldcup: 11, election: 8, music: 6, climate: 5, gaming: 7, crypto: 6.5,
  football: 7.5, nba: 4, f1: 3.5, movies: 4.5, tech: 5.5, bitcoin: 3, science: 2.5,
  travel: 2, food: 2.2, photography: 1.6, webdev: 1.2, haskell: 0.15,
};
const started = Date.now();
const HISTORY_DAYS = 90;
const startSlot = Math.floor(started / SLOT) * SLOT;

// ------------------------------------------------------------------ synthetic data

function hash(str) {
  let h = 2166136261;
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 16777619);
  return ((h >>> 0) % 100_000) / 100_000;
}

/** Posts of `tag` in the 5-minute slot starting at `t` before the mock started. */
function synthetic(tag, t) {
  if (t < started - HISTORY_DAYS * DAY) return 0; // the mock's history begins 90 days back
  const w = TAGS[tag];
  const hour = (t % DAY) / 3_600_000;
  const daily = 1 + 0.6 * Math.sin(((hour - 8) / 24) * 2 * Math.PI + hash(tag) * 2);
  const trend = 1 + 0.3 * Math.sin(t / (9 * DAY) + hash(tag + 'p') * 6);
  const noise = hash(`${tag}:${t}`);
  if (w < 0.5 && noise < 0.8) return 0; // rare tags: mostly empty slots (missing points)
  return Math.max(0, Math.round(w * 40 * daily * trend * (0.7 + 0.6 * noise)));
}

const live = new Map(Object.keys(TAGS).map((tag) => [tag, new Map()]));
for (const tag of Object.keys(TAGS)) {
  live.get(tag).set(startSlot, Math.round(synthetic(tag, startSlot) * ((started - startSlot) / SLOT)));
}
const heat = Object.fromEntries(Object.keys(TAGS).map((t) => [t, 1]));
let recentPosts = [];

function tick() {
  const now = Date.now();
  const slot = Math.floor(now / SLOT) * SLOT;
  let total = 0;
  for (const tag of Object.keys(TAGS)) {
    heat[tag] = Math.min(4, Math.max(0.25, heat[tag] * (0.89 + Math.random() * 0.22)));
    // ~w * 40 posts per 5-minute slot on average, like the synthetic history
    const n = Math.floor((TAGS[tag] * 40 * heat[tag] * 2 * Math.random()) / 600 + Math.random());
    const m = live.get(tag);
    m.set(slot, (m.get(slot) ?? 0) + n);
    total += n * 25; // pretend most posts carry no trending tag
  }
  recentPosts.push([now, total]);
  logRecords += total;
  recentPosts = recentPosts.filter(([t]) => now - t <= 5_000);
}
setInterval(tick, 500).unref();

function count(tag, t) {
  if (t >= startSlot) return live.get(tag)?.get(t) ?? 0;
  return synthetic(tag, t);
}

function trending(minutes, limit) {
  const now = Date.now();
  const first = Math.floor((now - minutes * 60_000) / SLOT) * SLOT + SLOT;
  const hashtags = Object.keys(TAGS)
    .map((hashtag) => {
      let c = 0;
      for (let t = first; t <= now; t += SLOT) c += count(hashtag, t);
      return { hashtag, count: c };
    })
    .filter((h) => h.count > 0)
    .sort((a, b) => b.count - a.count || a.hashtag.localeCompare(b.hashtag))
    .slice(0, limit);
  return { window_minutes: minutes, as_of: new Date(now).toISOString(), epoch: epochNow(), hashtags };
}

function point(tag, t, slotMs) {
  let c = 0;
  for (let s = t; s < t + slotMs; s += SLOT) c += count(tag, s);
  const batchPart = t + slotMs <= Date.now() - 30 * 60_000 ? c : Math.floor(c * 0.3);
  return { t, count: c, batch: batchPart, speed: c - batchPart };
}

function series(tag, from, to, step) {
  const span = to - from;
  const slotMs = /^\d+$/.test(step ?? '') ? Number(step) * 60_000 : span <= 2 * DAY ? SLOT : span <= 31 * DAY ? 12 * SLOT : DAY;
  from = Math.max(from, Math.floor((started - HISTORY_DAYS * DAY) / slotMs) * slotMs);
  const points = [];
  for (let t = Math.ceil(from / slotMs) * slotMs; t < to; t += slotMs) {
    const p = point(tag, t, slotMs);
    if (p.count > 0) points.push(p);
  }
  return {
    hashtag: tag,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    slot_minutes: slotMs / 60_000,
    epoch: epochNow(),
    points,
  };
}

/** The mock "flips" once a minute. */
function epochNow() {
  return 1 + Math.floor((Date.now() - started) / 60_000);
}

let logRecords = 0;

function status() {
  const now = Date.now();
  const age = now - started;
  const epoch = epochNow();
  const inMinute = age % 60_000;
  const pps = recentPosts.reduce((s, [, n]) => s + n, 0) / 5;
  return {
    active: {
      epoch,
      batch: epoch % 2 ? 'batch_view_a' : 'batch_view_b',
      speed: `speed_view_${epoch % 2}`,
      cut: { 0: 1000 + epoch * 5123, 1: 990 + epoch * 4987 },
      view_version: 1,
      flipped_at: new Date(started + (epoch - 1) * 60_000).toISOString(),
    },
    posts_per_second: Math.round(pps * 10) / 10,
    log: { records: logRecords, end_offsets: { 0: Math.ceil(logRecords / 2), 1: Math.floor(logRecords / 2) } },
    master: {
      rows: Math.max(0, logRecords - Math.round(pps * 3)),
      ingested: { 0: Math.max(0, Math.ceil(logRecords / 2) - Math.round(pps * 1.5)), 1: Math.max(0, Math.floor(logRecords / 2) - Math.round(pps * 1.5)) },
    },
    recompute: inMinute > 40_000 ? { phase: 'batch_running', epoch: epoch + 1 } : null,
  };
}

// ------------------------------------------------------------------ HTTP

function parseTime(s) {
  if (s == null) return NaN;
  return /^\d+$/.test(s) ? Number(s) : Date.parse(s);
}

/** Whether a request carries the read token (`Authorization: Bearer …` or `access_token=`), when one is set. */
function allowed(req, url) {
  if (!READ_TOKEN) return true;
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]?.trim();
  return (bearer || url.searchParams.get('access_token')) === READ_TOKEN;
}

function json(res, code, body) {
  res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.map': 'application/json',
};

function serveStatic(url, res) {
  const rel = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, '');
  let file = join(DIST, rel);
  if (!file.startsWith(DIST) || !existsSync(file) || statSync(file).isDirectory()) file = join(DIST, 'index.html');
  if (!existsSync(file)) {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end(`dist/ not built: run npm run build (looked in ${DIST})\n`);
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://mock');
  const p = url.pathname;
  if (req.method !== 'GET') return json(res, 405, { error: 'method not allowed' });
  if (p.startsWith('/api/v1/') && !allowed(req, url)) return json(res, 401, { error: 'this API needs its read token', code: 'unauthorized' });
  if (p === '/api/v1/trending') {
    const minutes = Number(url.searchParams.get('minutes') ?? 15);
    const limit = Number(url.searchParams.get('limit') ?? 10);
    if (!(minutes > 0 && minutes <= 1440) || !(limit > 0 && limit <= 100)) return json(res, 404, { error: 'bad minutes or limit' });
    return json(res, 200, trending(minutes, limit));
  }
  if (p === '/api/v1/status') return json(res, 200, status());
  if (p === '/api/v1/hashtags') {
    const prefix = (url.searchParams.get('prefix') ?? '').replace(/^#+/, '').toLowerCase();
    const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 20)));
    // Like the server: the busiest of the last hour first, then the rest by name.
    const recent = new Map(trending(60, Infinity).hashtags.map((h) => [h.hashtag, h.count]));
    const matches = Object.keys(TAGS)
      .filter((t) => t.startsWith(prefix))
      .map((t) => [t, recent.get(t) ?? 0])
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, limit);
    return json(res, 200, { prefix, hashtags: matches.map((m) => m[0]), counts: matches.map((m) => m[1]) });
  }
  const m = p.match(/^\/api\/v1\/hashtags\/([^/]+)\/series$/);
  if (m) {
    const tag = decodeURIComponent(m[1]);
    if (!(tag in TAGS)) return json(res, 404, { error: `unknown hashtag: ${tag}` });
    const to = url.searchParams.has('to') ? parseTime(url.searchParams.get('to')) : Date.now();
    const from = url.searchParams.has('from') ? parseTime(url.searchParams.get('from')) : to - DAY;
    if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) return json(res, 404, { error: 'bad from/to' });
    return json(res, 200, series(tag, from, to, url.searchParams.get('step')));
  }
  if (p.startsWith('/api/')) return json(res, 404, { error: 'not found' });
  serveStatic(url, res);
});

// ------------------------------------------------------------------ socket.io

const io = new Server(server, {
  allowRequest: (req, callback) => callback(null, allowed(req, new URL(req.url ?? '/', 'http://mock'))),
});
io.on('connection', (socket) => {
  socket.on('subscribe', (tag) => {
    if (typeof tag === 'string' && tag in TAGS) socket.join(`tag:${tag}`);
  });
  socket.on('unsubscribe', (tag) => {
    if (typeof tag === 'string') socket.leave(`tag:${tag}`);
  });
});
setInterval(() => {
  io.emit('trending', trending(15, 10));
  const now = Math.floor(Date.now() / SLOT) * SLOT;
  for (const room of io.of('/').adapter.rooms.keys()) {
    if (!room.startsWith('tag:')) continue;
    const tag = room.slice(4);
    io.to(room).emit('series_update', {
      hashtag: tag,
      points: [now - 2 * SLOT, now - SLOT, now].map((t) => {
        const { t: tt, slot, count: c } = point(tag, t, SLOT);
        return { t: tt, slot, count: c };
      }),
      epoch: epochNow(),
    });
  }
}, 2_000).unref();

server.listen(PORT, HOST, () => console.log(`mock lambda-trends serving on http://${HOST}:${PORT} (dist: ${DIST})`));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { io.close(); server.close(() => process.exit(0)); });
