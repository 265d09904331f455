// socket.io fan-out test against a running lambda-trends server: hundreds of clients at once.
//
//   LT_URL=http://127.0.0.1:8080/ npm run test:fanout
//
// Env: LT_URL (required); LT_FANOUT_CLIENTS (default 300) and LT_FANOUT_SUBSCRIBERS (default 50).
// Each client is a socket of its own (its own TCP connection): mind the open-file limit
// (`ulimit -n`; scripts/browser-test.sh raises it). Only "arrives within N seconds" is asserted,
// with room for a slow two-core machine.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { io } from 'socket.io-client';

const LT_URL = process.env.LT_URL;
const CLIENTS = Number(process.env.LT_FANOUT_CLIENTS || 300);
const SUBSCRIBERS = Math.min(CLIENTS, Number(process.env.LT_FANOUT_SUBSCRIBERS || 50));
const BATCH = 25; // clients dialled at once
const SLOT_MS = 5 * 60_000;
const PUSH_MS = 2_000; // the server pushes every 2 s

/** @type {Array<ReturnType<typeof makeClient>>} */
let clients = [];

function makeClient(i) {
  const socket = io(LT_URL, {
    transports: ['websocket'],
    forceNew: true, // one connection each, not one multiplexed manager
    reconnection: false,
    timeout: 30_000,
    autoConnect: false,
  });
  const c = { i, socket, connectedAt: 0, trending: [], updates: [], errors: [] };
  socket.on('connect', () => (c.connectedAt = Date.now()));
  socket.on('connect_error', (e) => c.errors.push(e.message));
  socket.on('trending', (data) => c.trending.push({ at: Date.now(), data }));
  socket.on('series_update', (data) => c.updates.push({ at: Date.now(), data }));
  return c;
}

/** Resolves when `pred()` holds, polling; rejects with `message()` after `ms`. */
async function until(pred, ms, message) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(typeof message === 'function' ? message() : message);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function checkTrending(data, who) {
  assert.ok(data && typeof data === 'object', `${who}: trending is an object`);
  assert.ok(Number.isInteger(data.epoch) && data.epoch >= 0, `${who}: trending.epoch ${data.epoch}`);
  assert.ok(Array.isArray(data.hashtags), `${who}: trending.hashtags is an array`);
  assert.ok(typeof data.as_of === 'string' && !Number.isNaN(Date.parse(data.as_of)), `${who}: trending.as_of ${data.as_of}`);
  for (const h of data.hashtags) {
    assert.ok(typeof h.hashtag === 'string' && h.hashtag.length > 0, `${who}: hashtag ${JSON.stringify(h)}`);
    assert.ok(Number.isInteger(h.count) && h.count > 0, `${who}: count ${JSON.stringify(h)}`);
  }
}

function quantiles(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `min ${s[0]} ms, median ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${s[s.length - 1]} ms`;
}

before(() => {
  assert.ok(LT_URL, 'LT_URL is not set: e.g. LT_URL=http://127.0.0.1:8080/ npm run test:fanout');
});

after(() => {
  for (const c of clients) c.socket.disconnect();
});

test(`socket.io fan-out: ${CLIENTS} clients`, { timeout: 240_000 }, async (t) => {
  // ------------------------------------------------ connect, in batches
  const started = Date.now();
  clients = Array.from({ length: CLIENTS }, (_, i) => makeClient(i));
  for (let i = 0; i < clients.length; i += BATCH) {
    const batch = clients.slice(i, i + BATCH);
    for (const c of batch) c.socket.connect();
    await until(
      () => batch.every((c) => c.socket.connected || c.errors.length),
      60_000,
      () => `clients ${i}..${i + batch.length - 1} did not connect within 60 s`,
    );
  }
  const failed = clients.filter((c) => !c.socket.connected);
  assert.deepEqual(
    failed.map((c) => `#${c.i}: ${c.errors.join('; ')}`),
    [],
    'clients that could not connect (EMFILE? raise `ulimit -n`)',
  );
  t.diagnostic(`${CLIENTS} clients connected in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // ------------------------------------------------ everyone gets `trending`
  await until(
    () => clients.every((c) => c.trending.length > 0),
    20_000,
    () => `${clients.filter((c) => !c.trending.length).length} of ${CLIENTS} clients got no trending event within 20 s`,
  );
  for (const c of clients) {
    checkTrending(c.trending[0].data, `client ${c.i}`);
    assert.ok(c.trending[0].at - c.connectedAt < 10_000, `client ${c.i}: first trending ${c.trending[0].at - c.connectedAt} ms after connecting`);
  }
  t.diagnostic(`first trending after connect: ${quantiles(clients.map((c) => c.trending[0].at - c.connectedAt))}`);

  // The periodic push reaches everyone too (not only the one on connect).
  const mark = Date.now();
  await until(
    () => clients.every((c) => c.trending.some((e) => e.at > mark)),
    15_000,
    () => `${clients.filter((c) => !c.trending.some((e) => e.at > mark)).length} clients got no periodic trending push within 15 s`,
  );

  // ------------------------------------------------ 50 subscribe to a trending hashtag
  const latest = clients[0].trending[clients[0].trending.length - 1].data;
  const tag = latest.hashtags[0]?.hashtag;
  assert.ok(tag, `no trending hashtag to subscribe to: ${JSON.stringify(latest)}`);
  const subscribers = clients.slice(0, SUBSCRIBERS);
  const others = clients.slice(SUBSCRIBERS);
  for (const c of clients) c.updates.length = 0;
  for (const c of subscribers) c.socket.emit('subscribe', tag);
  await until(
    () => subscribers.every((c) => c.updates.some((u) => u.data?.hashtag === tag)),
    20_000,
    () => `${subscribers.filter((c) => !c.updates.length).length} of ${SUBSCRIBERS} subscribers got no series_update for #${tag} within 20 s`,
  );
  // Two more pushes for the others to (not) receive anything.
  await sleep(2 * PUSH_MS + 500);
  for (const c of subscribers) {
    for (const { data: u } of c.updates) {
      assert.equal(u.hashtag, tag, `client ${c.i} got an update for another hashtag`);
      assert.ok(Number.isInteger(u.epoch), `series_update.epoch ${u.epoch}`);
      assert.ok(Array.isArray(u.points) && u.points.length > 0, `series_update.points ${JSON.stringify(u.points)}`);
      for (const p of u.points) {
        assert.ok(Number.isInteger(p.t) && p.t % SLOT_MS === 0, `point t ${p.t} is a 5-minute slot`);
        assert.ok(Number.isInteger(p.count) && p.count >= 0 && p.count === p.batch + p.speed, `point ${JSON.stringify(p)}`);
        assert.ok(p.t <= Date.now() + 60_000 && p.t >= Date.now() - 4 * SLOT_MS, `point ${new Date(p.t).toISOString()} is recent`);
      }
    }
  }
  const leaked = others.filter((c) => c.updates.length > 0);
  assert.deepEqual(leaked.map((c) => c.i), [], 'clients that did not subscribe got series_update');
  const perSubscriber = subscribers.map((c) => c.updates.length);
  t.diagnostic(`#${tag}: ${SUBSCRIBERS} subscribers got ${Math.min(...perSubscriber)}..${Math.max(...perSubscriber)} updates each, ${others.length} others none`);

  // ------------------------------------------------ unsubscribe stops the updates
  const quitters = subscribers.slice(0, 10);
  for (const c of quitters) c.socket.emit('unsubscribe', tag);
  await sleep(PUSH_MS + 1_000); // an update already on its way may still land
  const counts = quitters.map((c) => c.updates.length);
  const stayed = subscribers.slice(10);
  const stayedCounts = stayed.map((c) => c.updates.length);
  await until(
    () => stayed.every((c, k) => c.updates.length > stayedCounts[k]),
    20_000,
    'the remaining subscribers got no further update within 20 s',
  );
  await sleep(500);
  assert.deepEqual(quitters.map((c) => c.updates.length), counts, 'updates after unsubscribe');

  // ------------------------------------------------ reconnect: `trending` again at once
  const returning = others.slice(0, 10);
  for (const c of returning) c.socket.disconnect();
  await until(() => returning.every((c) => !c.socket.connected), 10_000, 'clients did not disconnect');
  await sleep(500);
  const marks = returning.map((c) => c.trending.length);
  const reconnectAt = returning.map(() => Date.now());
  returning.forEach((c, k) => {
    reconnectAt[k] = Date.now();
    c.socket.connect();
  });
  await until(
    () => returning.every((c, k) => c.socket.connected && c.trending.length > marks[k]),
    15_000,
    () => `${returning.filter((c, k) => c.trending.length <= marks[k]).length} reconnected clients got no trending within 15 s`,
  );
  for (const [k, c] of returning.entries()) {
    const e = c.trending[marks[k]];
    checkTrending(e.data, `reconnected client ${c.i}`);
    assert.ok(e.at - reconnectAt[k] < 10_000, `reconnected client ${c.i}: trending after ${e.at - reconnectAt[k]} ms`);
  }
  t.diagnostic(`trending after reconnect: ${quantiles(returning.map((c, k) => c.trending[marks[k]].at - c.connectedAt))}`);
});
