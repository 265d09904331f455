// Two serving replicas without sticky sessions: `lambda-trends up` (replica A, LT_URL) and a
// `lambda-trends serve` on the same data directory (replica B, LT_URL_2), as
// scripts/browser-test.sh starts them.
//
//   LT_URL=http://127.0.0.1:8080/ LT_URL_2=http://127.0.0.1:8081/ npm run test:replicas
//
// Env: LT_URL and LT_URL_2 (required); LT_BIN and LT_DATA_DIR for the flip test (it runs
// `$LT_BIN --data-dir $LT_DATA_DIR recompute`; skipped without them); CHROMIUM_PATH (default
// /usr/bin/chromium) for the two page tests.
//
// What "the same numbers" means here: both replicas read one store, and within one epoch and
// one 5-minute slot (the trending window is whole slots) a hashtag's count only grows. So a
// reading from one replica must lie between the readings of the other taken before and after
// it: every later reading (by `as_of`, at least MARGIN_MS later, for the time a computation
// takes) has each count at least the earlier one's (less TOLERANCE), and a hashtag that left
// the later top list had no more than that list's last count. Only "arrives within N seconds"
// is asserted about time, with generous deadlines.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { io } from 'socket.io-client';

const URL_A = process.env.LT_URL;
const URL_B = process.env.LT_URL_2;
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const { LT_BIN, LT_DATA_DIR } = process.env;

const SLOT_MS = 5 * 60_000;
const PUSH_MS = 2_000; // the servers push every 2 s
/** A later reading is compared with an earlier one only when their `as_of` are this far apart. */
const MARGIN_MS = 1_500;
/** Posts a count may fall short of the ordering above (none expected; a reading straddling a write). */
const TOLERANCE = 2;
const ITEM = '[data-testid="trending-list"] [data-testid="trending-item"]';

/** Every socket opened, closed in `after`. */
const sockets = [];
let browser;
const pageErrors = [];

// ------------------------------------------------------------------ helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves when `pred()` holds, polling; rejects with `message()` after `ms`. */
async function until(pred, ms, message) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(typeof message === 'function' ? message() : message);
    await sleep(100);
  }
}

async function getJson(base, path) {
  const res = await fetch(new URL(path, base));
  assert.ok(res.ok, `GET ${new URL(path, base)} answered ${res.status}`);
  return res.json();
}

/** A socket.io client on one replica, websocket only (as the dashboard), recording what it gets. */
function connect(url, replica) {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 30_000 });
  sockets.push(socket);
  const c = { replica, socket, trending: [], updates: [], events: [], errors: [] };
  socket.on('connect_error', (e) => c.errors.push(e.message));
  socket.on('trending', (data) => {
    const e = { kind: 'trending', at: Date.now(), data };
    c.trending.push(e);
    c.events.push(e);
  });
  socket.on('series_update', (data) => {
    const e = { kind: 'series_update', at: Date.now(), data };
    c.updates.push(e);
    c.events.push(e);
  });
  return c;
}

async function connected(...clients) {
  await until(
    () => clients.every((c) => c.socket.connected && c.trending.length > 0),
    30_000,
    () => `not connected with a first trending push within 30 s: ${clients.map((c) => `${c.replica} ${c.socket.connected} ${c.errors.join('; ')}`).join(', ')}`,
  );
}

function checkTrending(data, who) {
  assert.ok(data && typeof data === 'object', `${who}: trending is an object`);
  assert.ok(Number.isInteger(data.epoch) && data.epoch >= 0, `${who}: trending.epoch ${data.epoch}`);
  assert.ok(Array.isArray(data.hashtags), `${who}: trending.hashtags is an array`);
  assert.ok(!Number.isNaN(Date.parse(data.as_of)), `${who}: trending.as_of ${data.as_of}`);
  for (const h of data.hashtags) {
    assert.ok(typeof h.hashtag === 'string' && h.hashtag.length > 0 && Number.isInteger(h.count) && h.count > 0, `${who}: ${JSON.stringify(h)}`);
  }
}

function checkUpdate(u, tag, who) {
  assert.equal(u.hashtag, tag, `${who}: series_update for #${tag}`);
  assert.ok(Number.isInteger(u.epoch), `${who}: series_update.epoch ${u.epoch}`);
  assert.ok(Array.isArray(u.points) && u.points.length > 0, `${who}: series_update.points ${JSON.stringify(u.points)}`);
  for (const p of u.points) {
    assert.ok(Number.isInteger(p.t) && p.t % SLOT_MS === 0, `${who}: point t ${p.t} is a 5-minute slot`);
    assert.ok(Number.isInteger(p.count) && p.count >= 0 && p.count === p.batch + p.speed, `${who}: point ${JSON.stringify(p)}`);
  }
}

/** A trending payload as a reading: who, when (`as_of`), which epoch and slot, the counts. */
function reading(replica, via, data) {
  checkTrending(data, `${replica} ${via}`);
  const asOf = Date.parse(data.as_of);
  const counts = new Map(data.hashtags.map((h) => [h.hashtag, h.count]));
  return {
    replica,
    via,
    epoch: data.epoch,
    asOf,
    slot: Math.floor(asOf / SLOT_MS),
    counts,
    last: Math.min(...counts.values()),
    name: `${replica}/${via}@${data.as_of.slice(11, 23)}/e${data.epoch}`,
  };
}

/**
 * Checks every pair of readings of one epoch and slot, `MARGIN_MS` or more apart: the later
 * one's counts are at least the earlier one's, and a hashtag missing from a full later list
 * had no more than its last count. Returns the problems and how many pairs were compared.
 */
function checkOrder(readings) {
  const full = Math.max(...readings.map((r) => r.counts.size));
  const problems = [];
  let pairs = 0;
  let cross = 0;
  for (const x of readings) {
    for (const y of readings) {
      if (x.epoch !== y.epoch || x.slot !== y.slot || y.asOf < x.asOf + MARGIN_MS) continue;
      pairs++;
      if (x.replica !== y.replica) cross++;
      for (const [tag, c] of x.counts) {
        const later = y.counts.get(tag);
        if (later !== undefined) {
          if (later < c - TOLERANCE) problems.push(`#${tag}: ${c} in ${x.name}, ${later} in the later ${y.name}`);
        } else if (y.counts.size >= full && c > y.last + TOLERANCE) {
          problems.push(`#${tag}: ${c} in ${x.name}, not in the later ${y.name} whose last count is ${y.last}`);
        }
      }
    }
  }
  return { problems, pairs, cross };
}

/** Nearest readings of A and B (same epoch): hashtags in common and the largest difference. */
function nearest(readings) {
  const as = readings.filter((r) => r.replica === 'A');
  const bs = readings.filter((r) => r.replica === 'B');
  let worst = { dt: 0, common: 0, diff: 0 };
  const rows = [];
  for (const b of bs) {
    const a = as.filter((x) => x.epoch === b.epoch).sort((x, y) => Math.abs(x.asOf - b.asOf) - Math.abs(y.asOf - b.asOf))[0];
    if (!a) continue;
    const common = [...b.counts.keys()].filter((t) => a.counts.has(t));
    const diff = Math.max(0, ...common.map((t) => Math.abs(a.counts.get(t) - b.counts.get(t))));
    rows.push({ dt: b.asOf - a.asOf, common: common.length, diff });
    if (diff > worst.diff) worst = { dt: b.asOf - a.asOf, common: common.length, diff };
  }
  return { rows, worst };
}

/**
 * A TCP load balancer with no session affinity, in front of the replicas: each new connection
 * goes to the pinned replica, or round robin. `dropAll()` cuts every connection (the balancer
 * moving its clients). It notes which replica each connection went to and whether it was a
 * socket.io websocket upgrade.
 */
async function balancer(backends) {
  const targets = Object.fromEntries(
    Object.entries(backends).map(([name, url]) => {
      const u = new URL(url);
      return [name, { host: u.hostname, port: Number(u.port) }];
    }),
  );
  const names = Object.keys(targets);
  let pinned = null;
  let next = 0;
  const open = new Set();
  const log = [];
  const server = net.createServer((client) => {
    const backend = pinned ?? names[next++ % names.length];
    const entry = { at: Date.now(), backend, websocket: false };
    log.push(entry);
    const upstream = net.connect(targets[backend]);
    const pair = { client, upstream };
    open.add(pair);
    client.once('data', (d) => {
      entry.websocket = /^GET \/socket\.io\/\?\S*transport=websocket/.test(d.toString('latin1'));
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', close);
      s.on('close', close);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    log,
    pin: (name) => (pinned = name),
    roundRobin: () => (pinned = null),
    dropAll: () => {
      for (const { client, upstream } of open) {
        client.destroy();
        upstream.destroy();
      }
      open.clear();
    },
    close: () =>
      new Promise((resolve) => {
        for (const { client, upstream } of open) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

async function newPage() {
  browser ??= await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const p = await context.newPage();
  p.on('pageerror', (e) => pageErrors.push(e.message));
  // Every websocket the page opens, with the frames it sends and receives.
  p.__sockets = [];
  p.on('websocket', (ws) => {
    const w = { url: ws.url(), openedAt: Date.now(), sent: [], received: [], closed: false };
    p.__sockets.push(w);
    ws.on('framesent', (f) => w.sent.push(String(f.payload)));
    ws.on('framereceived', (f) => w.received.push(String(f.payload)));
    ws.on('close', () => (w.closed = true));
  });
  p.__polls = [];
  p.on('request', (r) => {
    if (/\/socket\.io\/.*transport=polling/.test(r.url())) p.__polls.push(r.url());
  });
  return p;
}

/** socket.io frames: `42["event",payload]`. */
const sentSubscribe = (w, tag) => w.sent.some((f) => f === `42${JSON.stringify(['subscribe', tag])}`);
const gotUpdate = (w, tag) =>
  w.received.some((f) => {
    if (!f.startsWith('42["series_update"')) return false;
    const [, u] = JSON.parse(f.slice(2));
    return u?.hashtag === tag;
  });

function pageState(p) {
  return p.evaluate(() => {
    const q = (id) => document.querySelector(`[data-testid="${id}"]`);
    return {
      conn: q('connection-status')?.dataset.state,
      rows: document.querySelectorAll('[data-testid="trending-list"] [data-testid="trending-item"]').length,
      total: Number(q('series-total')?.dataset.total ?? NaN),
      totalTag: q('series-total')?.dataset.hashtag ?? '',
      epoch: q('status-epoch')?.dataset.epoch,
      banner: [...document.querySelectorAll('[data-testid="error-banner"] li')].map((li) => li.textContent),
    };
  });
}

async function waitPage(p, pred, ms, message) {
  let last = null;
  await until(
    async () => {
      last = await pageState(p);
      return pred(last);
    },
    ms,
    () => `${message}; page: ${JSON.stringify(last)}`,
  );
  return last;
}

before(async () => {
  assert.ok(URL_A && URL_B, 'LT_URL and LT_URL_2 must both be set (two replicas on one data directory): see scripts/browser-test.sh');
  const [a, b] = await Promise.all([getJson(URL_A, '/api/v1/trending'), getJson(URL_B, '/api/v1/trending')]);
  assert.ok(a.hashtags.length > 0 && b.hashtags.length > 0, 'both replicas serve trending hashtags');
});

after(async () => {
  for (const s of sockets) s.disconnect();
  await browser?.close();
});

// ------------------------------------------------------------------ tests

test('both replicas push the same trending: one epoch, counts ordered by time across replicas', { timeout: 90_000 }, async (t) => {
  const a = connect(URL_A, 'A');
  const b = connect(URL_B, 'B');
  await connected(a, b);

  // Pushes from both, and the HTTP endpoint of both, for a dozen seconds.
  const http = [];
  const mark = Date.now();
  let turn = 0;
  while (Date.now() - mark < 12_000 || a.trending.length < 5 || b.trending.length < 5) {
    if (Date.now() - mark > 40_000) break;
    const [replica, url] = turn++ % 2 ? ['B', URL_B] : ['A', URL_A];
    http.push(reading(replica, 'http', await getJson(url, '/api/v1/trending')));
    await sleep(600);
  }
  assert.ok(a.trending.length >= 5 && b.trending.length >= 5, `pushes in ${Date.now() - mark} ms: A ${a.trending.length}, B ${b.trending.length}`);
  const [sa, sb] = await Promise.all([getJson(URL_A, '/api/v1/status'), getJson(URL_B, '/api/v1/status')]);

  const readings = [
    ...a.trending.map((e) => reading('A', 'push', e.data)),
    ...b.trending.map((e) => reading('B', 'push', e.data)),
    ...http,
  ].sort((x, y) => x.asOf - y.asOf);

  // One epoch everywhere (nothing flips during this test), the one both statuses name.
  assert.equal(sa.active.epoch, sb.active.epoch, 'both replicas report the same active pair');
  assert.equal(sa.active.batch, sb.active.batch);
  assert.equal(sa.active.speed, sb.active.speed);
  const epochs = [...new Set(readings.map((r) => r.epoch))];
  assert.deepEqual(epochs, [sa.active.epoch], `epochs of every reading: ${readings.map((r) => r.name).join(' ')}`);

  const { problems, pairs, cross } = checkOrder(readings);
  assert.deepEqual(problems, [], 'counts out of order across readings');
  assert.ok(cross >= 10, `only ${cross} pairs of readings from different replicas in one slot to compare`);
  const near = nearest(readings);
  t.diagnostic(
    `${readings.length} readings (A ${a.trending.length} pushes, B ${b.trending.length} pushes, ${http.length} GETs), epoch ${sa.active.epoch}; ` +
      `${pairs} ordered pairs checked (${cross} across replicas); nearest A/B readings: ` +
      `${near.rows.map((r) => `${r.dt} ms ${r.common} common Δ≤${r.diff}`).join(', ')}`,
  );
});

test('a socket moved from replica A to replica B subscribes again and gets series_update from B', { timeout: 90_000 }, async (t) => {
  const tag = (await getJson(URL_A, '/api/v1/trending')).hashtags[0]?.hashtag;
  assert.ok(tag, 'needs a trending hashtag');

  const a = connect(URL_A, 'A');
  await connected(a);
  a.socket.emit('subscribe', tag);
  await until(() => a.updates.some((u) => u.data?.hashtag === tag), 20_000, `no series_update for #${tag} from A within 20 s`);
  const fromA = a.updates[a.updates.length - 1].data;
  checkUpdate(fromA, tag, 'A');

  // The connection to A is lost; the balancer sends the new one to B.
  a.socket.disconnect();
  const b = connect(URL_B, 'B');
  await connected(b);
  // Rooms belong to a connection on one replica: B sends nothing until asked again.
  await sleep(2 * PUSH_MS + 500);
  assert.equal(b.updates.length, 0, 'series_update from B before subscribing there');
  const subscribedAt = Date.now();
  b.socket.emit('subscribe', tag);
  await until(() => b.updates.some((u) => u.data?.hashtag === tag), 20_000, `no series_update for #${tag} from B within 20 s of subscribing`);
  const u = b.updates.find((x) => x.data?.hashtag === tag);
  checkUpdate(u.data, tag, 'B');
  const sb = await getJson(URL_B, '/api/v1/status');
  assert.ok(u.data.epoch >= fromA.epoch && u.data.epoch <= sb.active.epoch, `B's update is of epoch ${u.data.epoch} (A's was ${fromA.epoch}, B's status ${sb.active.epoch})`);
  if (u.data.epoch === fromA.epoch) {
    // The same pair, read later: no slot went down.
    for (const p of fromA.points) {
      const q = u.data.points.find((x) => x.t === p.t);
      if (q) assert.ok(q.count >= p.count - TOLERANCE, `slot ${new Date(p.t).toISOString()}: ${p.count} from A, later ${q.count} from B`);
    }
  }
  t.diagnostic(`#${tag}: series_update from B ${u.at - subscribedAt} ms after subscribing; last slot A ${fromA.points.at(-1)?.count}, B ${u.data.points.at(-1)?.count}`);
});

test('the dashboard behind a balancer without affinity: moved from A to B, it subscribes again and stays live', { timeout: 150_000 }, async (t) => {
  const lb = await balancer({ A: URL_A, B: URL_B });
  const p = await newPage();
  try {
    const tag = (await getJson(URL_A, '/api/v1/trending')).hashtags[0]?.hashtag;
    assert.ok(tag, 'needs a trending hashtag');

    // All of the page on A first.
    lb.pin('A');
    const res = await p.goto(`${lb.url}#tag=${encodeURIComponent(tag)}`, { waitUntil: 'domcontentloaded', timeout: 30_000 });
    assert.ok(res?.ok(), `GET ${lb.url} answered ${res?.status()}`);
    await waitPage(p, (s) => s.conn === 'connected' && s.rows >= 2 && s.totalTag === tag && s.total > 0, 45_000, 'the page did not go live with a chart');
    await until(
      () => p.__sockets.some((w) => sentSubscribe(w, tag) && gotUpdate(w, tag)),
      20_000,
      () => `no subscribe/series_update for #${tag} on the page's websocket within 20 s: ${JSON.stringify(p.__sockets.map((w) => ({ url: w.url, sent: w.sent.slice(0, 5) })))}`,
    );
    assert.ok(lb.log.some((e) => e.websocket && e.backend === 'A'), 'the websocket went to A');

    // The balancer moves everyone to B: every connection is cut, new ones go to B.
    lb.pin('B');
    const movedAt = Date.now();
    lb.dropAll();
    await until(
      () => p.__sockets.some((w) => w.openedAt >= movedAt && sentSubscribe(w, tag) && gotUpdate(w, tag)),
      30_000,
      () => `after the move, no new websocket that subscribed to #${tag} and got its series_update within 30 s: ${JSON.stringify(p.__sockets.filter((w) => w.openedAt >= movedAt).map((w) => ({ sent: w.sent.slice(0, 5), received: w.received.length })))}`,
    );
    const after = lb.log.filter((e) => e.at >= movedAt);
    assert.ok(after.some((e) => e.websocket), 'a websocket reconnected through the balancer');
    assert.deepEqual([...new Set(after.map((e) => e.backend))], ['B'], 'after the move every connection went to B');
    const reconnect = p.__sockets.find((w) => w.openedAt >= movedAt);
    const moved = await waitPage(p, (s) => s.conn === 'connected' && s.total > 0, 20_000, 'the page is not live again on B');
    // The series keeps growing from B's pushes.
    await waitPage(p, (s) => s.total > moved.total && s.totalTag === tag, 30_000, `the total of #${tag} did not grow on B`);
    const subscribes = reconnect ? reconnect.sent.filter((f) => f === `42${JSON.stringify(['subscribe', tag])}`).length : 0;
    t.diagnostic(`moved to B: new websocket ${reconnect.openedAt - movedAt} ms after the cut, subscribe sent ${subscribes}× on it`);

    // No affinity at all: connections spread over both replicas, cut once more.
    lb.roundRobin();
    const spreadAt = Date.now();
    lb.dropAll();
    await until(
      () => p.__sockets.some((w) => w.openedAt >= spreadAt && sentSubscribe(w, tag) && gotUpdate(w, tag)),
      30_000,
      () =>
        `round robin: no new websocket that subscribed to #${tag} and got its series_update within 30 s: ` +
        JSON.stringify({
          sockets: p.__sockets.filter((w) => w.openedAt >= spreadAt).map((w) => ({ at: w.openedAt - spreadAt, closed: w.closed, sent: w.sent.slice(0, 5), received: w.received.slice(0, 3).map((f) => f.slice(0, 60)) })),
          connections: lb.log.filter((e) => e.at >= spreadAt).map((e) => ({ at: e.at - spreadAt, backend: e.backend, websocket: e.websocket })),
        }),
    );
    const spread = await waitPage(p, (s) => s.conn === 'connected' && s.rows >= 2 && s.total > 0, 20_000, 'the page is not live under round robin');
    await waitPage(p, (s) => s.total > spread.total, 30_000, `the total of #${tag} did not grow under round robin`);
    // Websocket only: the page never long-polls (which would need affinity).
    assert.deepEqual(p.__polls, [], 'socket.io long-polling requests');
    const byBackend = lb.log.filter((e) => e.at >= spreadAt).reduce((m, e) => ({ ...m, [e.backend]: (m[e.backend] ?? 0) + 1 }), {});
    t.diagnostic(`round robin: connections ${JSON.stringify(byBackend)}; error banner now: ${JSON.stringify((await pageState(p)).banner)}`);
  } finally {
    await p.context().close();
    await lb.close();
  }
});

test('the dashboard served by replica B loads, shows trending and goes live over a websocket', { timeout: 60_000 }, async () => {
  const p = await newPage();
  try {
    const res = await p.goto(URL_B, { waitUntil: 'domcontentloaded', timeout: 30_000 });
    assert.ok(res?.ok(), `GET ${URL_B} answered ${res?.status()}`);
    const s = await waitPage(p, (x) => x.rows >= 2 && x.conn === 'connected' && x.epoch !== undefined, 45_000, 'no live trending list from B');
    const rows = await p.locator(ITEM).evaluateAll((els) => els.map((el) => Number(el.querySelector('[data-testid="trending-count"]')?.textContent?.replace(/[^\d]/g, ''))));
    assert.ok(rows.every((n) => n > 0), `trending counts ${rows}`);
    const status = await getJson(URL_B, '/api/v1/status');
    assert.ok(Number(s.epoch) <= status.active.epoch, `shown epoch ${s.epoch}, B's ${status.active.epoch}`);
    assert.ok(p.__sockets.some((w) => /\/socket\.io\/\?.*transport=websocket/.test(w.url)), 'a socket.io websocket was opened');
    assert.deepEqual(p.__polls, [], 'socket.io long-polling requests');
  } finally {
    await p.context().close();
  }
});

test('a flip with clients on both replicas: both push the new epoch, neither goes back', { timeout: 240_000, skip: !(LT_BIN && LT_DATA_DIR) && 'LT_BIN and LT_DATA_DIR are not set' }, async (t) => {
  const tag = (await getJson(URL_A, '/api/v1/trending')).hashtags[0]?.hashtag;
  assert.ok(tag, 'needs a trending hashtag');
  const a = connect(URL_A, 'A');
  const b = connect(URL_B, 'B');
  await connected(a, b);
  for (const c of [a, b]) c.socket.emit('subscribe', tag);
  await until(() => a.updates.length > 0 && b.updates.length > 0, 20_000, `no series_update for #${tag} from both within 20 s`);
  const [sa, sb] = await Promise.all([getJson(URL_A, '/api/v1/status'), getJson(URL_B, '/api/v1/status')]);
  assert.equal(sa.active.epoch, sb.active.epoch, 'both replicas on one epoch before the flip');
  const before = sa.active.epoch;

  const started = Date.now();
  const out = await new Promise((resolve, reject) => {
    const child = spawn(LT_BIN, ['--data-dir', LT_DATA_DIR, 'recompute'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, text });
    });
  });
  const done = Date.now();
  assert.equal(out.code, 0, `recompute failed:\n${out.text}`);
  t.diagnostic(`recompute took ${((done - started) / 1000).toFixed(1)} s: ${out.text.trim().split('\n').pop()}`);

  const [na, nb] = await Promise.all([getJson(URL_A, '/api/v1/status'), getJson(URL_B, '/api/v1/status')]);
  const epoch = na.active.epoch;
  assert.ok(epoch > before, `the active epoch went from ${before} to ${epoch}`);
  assert.equal(nb.active.epoch, epoch, 'both replicas report the new pair');
  const newer = (c, kind) => c.events.find((e) => e.kind === kind && e.data?.epoch >= epoch);
  await until(
    () => [a, b].every((c) => newer(c, 'trending') && newer(c, 'series_update')),
    30_000,
    () => `not every replica pushed epoch ${epoch} within 30 s of the recompute: ${[a, b].map((c) => `${c.replica} trending ${!!newer(c, 'trending')} series_update ${!!newer(c, 'series_update')}`).join(', ')}`,
  );
  await sleep(2 * PUSH_MS + 500); // a few more pushes of the new pair

  for (const c of [a, b]) {
    assert.ok(c.socket.connected, `${c.replica} still connected`);
    const first = c.events.findIndex((e) => e.data?.epoch >= epoch);
    const back = c.events.slice(first).filter((e) => e.data?.epoch < epoch);
    assert.deepEqual(back.map((e) => `${e.kind} epoch ${e.data.epoch}`), [], `${c.replica} went back to an older epoch after pushing ${epoch}`);
    const epochs = c.events.map((e) => e.data?.epoch);
    assert.deepEqual(epochs, [...epochs].sort((x, y) => x - y), `${c.replica}: epochs in push order`);
    assert.ok(epochs.every((e) => e === before || e === epoch), `${c.replica}: epochs ${[...new Set(epochs)]}, expected ${before} and ${epoch}`);
    for (const e of c.updates) checkUpdate(e.data, tag, c.replica);
  }
  // Within each epoch the two replicas agree as in the first test.
  const readings = [...a.trending.map((e) => reading('A', 'push', e.data)), ...b.trending.map((e) => reading('B', 'push', e.data))];
  const { problems, cross } = checkOrder(readings);
  assert.deepEqual(problems, [], 'counts out of order across readings');
  const firstNew = Object.fromEntries([a, b].map((c) => [c.replica, newer(c, 'trending').at - done]));
  t.diagnostic(
    `epoch ${before} → ${epoch}; first trending of the new pair after recompute exit: A ${firstNew.A} ms, B ${firstNew.B} ms; ` +
      `${a.events.length + b.events.length} payloads, ${cross} cross-replica pairs checked`,
  );
});

test('no uncaught page errors', () => {
  assert.deepEqual(pageErrors, [], `uncaught errors in the pages: ${pageErrors.join(' | ')}`);
});
