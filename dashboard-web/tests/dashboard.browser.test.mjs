// Browser test of the analyst dashboard against a running `lambda-trends up` (scripts/browser-test.sh
// starts one on a fresh data directory and sets the variables below).
//
//   LT_URL=http://127.0.0.1:8080/ npm run test:browser
//
// Env: LT_URL (required) base URL of the dashboard; CHROMIUM_PATH (default /usr/bin/chromium);
// LT_ARTIFACTS (default /tmp) where dashboard.png and dashboard-narrow.png are written;
// LT_BIN and LT_DATA_DIR (the server's binary and data directory) for the flip test, which runs
// `$LT_BIN --data-dir $LT_DATA_DIR recompute` while the page shows a series (skipped without them).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

const LT_URL = process.env.LT_URL;
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = process.env.LT_ARTIFACTS || '/tmp';
const { LT_BIN, LT_DATA_DIR } = process.env;

const LIST = '[data-testid="trending-list"]';
const ITEM = `${LIST} [data-testid="trending-item"]`;
const CHART = '[data-testid="series-chart"]';
const HOUR = 3_600_000;

let browser;
/** The main page, shared by the tests in order (like an analyst's session). */
let page;
const pageErrors = [];

async function newPage(viewport = { width: 1280, height: 800 }, contextOptions = {}) {
  const context = await browser.newContext({ viewport, ...contextOptions });
  const p = await context.newPage();
  p.on('pageerror', (e) => pageErrors.push(`${e.message}`));
  p.on('console', (m) => {
    if (m.type() === 'error' && !/ERR_FAILED|Failed to load resource/.test(m.text())) console.error(`[page console] ${m.text()}`);
  });
  return p;
}

/** Trending rows and the last-update text, as the page shows them. */
function snapshot(p = page) {
  return p.evaluate(() => ({
    items: [...document.querySelectorAll('[data-testid="trending-list"] [data-testid="trending-item"]')].map((el) => ({
      tag: el.getAttribute('data-hashtag'),
      count: Number((el.querySelector('[data-testid="trending-count"]')?.textContent ?? '').replace(/[^\d.-]/g, '')),
    })),
    lastUpdate: document.querySelector('[data-testid="last-update"]')?.textContent?.trim() ?? '',
  }));
}

/** What the chart shows: hashtags, x range (ms), totals, the epoch its main series comes from. */
function chartState(p = page) {
  return p.evaluate(() => {
    const chart = document.querySelector('[data-testid="series-chart"]');
    const total = document.querySelector('[data-testid="series-total"]');
    return {
      title: document.querySelector('[data-testid="series-title"]')?.textContent ?? '',
      series: Number(chart?.dataset.seriesCount ?? 0),
      uplotSeries: chart?.querySelectorAll('.u-legend .u-series').length ?? 0,
      canvas: !!chart?.querySelector('canvas'),
      xMin: Number(chart?.dataset.xMin ?? NaN),
      xMax: Number(chart?.dataset.xMax ?? NaN),
      slotMinutes: Number(chart?.dataset.slotMinutes ?? NaN),
      total: Number(total?.dataset.total ?? NaN),
      totalTag: total?.dataset.hashtag ?? '',
      epoch: Number(total?.dataset.epoch ?? NaN),
      chips: [...document.querySelectorAll('[data-testid="series-chip"]')].map((c) => ({
        tag: c.getAttribute('data-hashtag'),
        total: Number(c.getAttribute('data-total')),
      })),
    };
  });
}

function waitFor(p, fn, arg, timeout, message) {
  return p.waitForFunction(fn, arg, { timeout, polling: 200 }).catch(async (e) => {
    assert.fail(`${message} (${e.message.split('\n')[0]}); chart: ${JSON.stringify(await chartState(p).catch(() => null))}`);
  });
}

/** Shows `tag` alone on the chart by clicking its trending row, and waits for its series. */
async function showFromTrending(p, tag) {
  await p.locator(ITEM).filter({ has: p.locator(`[data-testid="trending-count"]`) }).first().waitFor({ timeout: 30_000 });
  await p.evaluate((t) => {
    const row = [...document.querySelectorAll('[data-testid="trending-item"]')].find((el) => el.dataset.hashtag === t);
    if (!row) throw new Error(`#${t} is not in the trending list`);
    row.click();
  }, tag);
  await waitFor(
    p,
    (t) => {
      const c = document.querySelector('[data-testid="series-chart"]');
      const total = document.querySelector('[data-testid="series-total"]');
      return c?.querySelector('canvas') && c.dataset.seriesCount === '1' && total?.dataset.hashtag === t && Number(total.dataset.total) > 0;
    },
    tag,
    30_000,
    `no chart with a positive total for #${tag}`,
  );
}

before(async () => {
  assert.ok(
    LT_URL,
    'LT_URL is not set: point it at a running lambda-trends server, e.g. LT_URL=http://127.0.0.1:8080/ npm run test:browser',
  );
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
  page = await newPage();
});

after(async () => {
  await browser?.close();
});

let first; // the first trending snapshot

test('the page loads and the trending list fills', { timeout: 90_000 }, async () => {
  const res = await page.goto(LT_URL, { waitUntil: 'domcontentloaded', timeout: 30_000 });
  assert.ok(res && res.ok(), `GET ${LT_URL} answered ${res?.status()}`);
  assert.equal(await page.locator('header').getByText('lambda-trends').count(), 1, 'header shows the product name');
  await waitFor(page, (sel) => document.querySelectorAll(sel).length >= 2, ITEM, 60_000, 'trending list has fewer than 2 rows after 60 s');
  first = await snapshot();
  assert.ok(first.items.every((i) => i.tag && Number.isFinite(i.count) && i.count > 0), `bad rows: ${JSON.stringify(first.items)}`);
  const counts = first.items.map((i) => i.count);
  assert.deepEqual(counts, [...counts].sort((a, b) => b - a), 'rows are ordered by count');
  assert.ok(first.lastUpdate && first.lastUpdate !== '—', 'last-update shows a time');
  // Every row has a burst badge element that is shown exactly when the score is >= 3.
  const badges = await page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="trending-item"]')].map((el) => ({
      burst: Number(el.dataset.burst),
      shown: !!el.querySelector('[data-testid="burst-badge"]') && !el.querySelector('[data-testid="burst-badge"]').hidden,
    })),
  );
  for (const b of badges) assert.equal(b.shown, b.burst >= 3, `burst badge for score ${b.burst}`);
});

test('the status bar shows epoch, freshness, posts/s, lag and a live connection', { timeout: 60_000 }, async () => {
  await waitFor(
    page,
    () => {
      const q = (id) => document.querySelector(`[data-testid="${id}"]`);
      return (
        q('connection-status')?.dataset.state === 'connected' &&
        q('status-epoch')?.dataset.epoch !== undefined &&
        q('status-freshness')?.dataset.ageSeconds !== undefined &&
        q('status-lag')?.dataset.lag !== undefined &&
        /\d/.test(q('posts-per-second')?.textContent ?? '')
      );
    },
    null,
    30_000,
    'status bar incomplete',
  );
  const s = await page.evaluate(() => {
    const q = (id) => document.querySelector(`[data-testid="${id}"]`);
    return {
      epoch: Number(q('status-epoch').dataset.epoch),
      age: Number(q('status-freshness').dataset.ageSeconds),
      freshness: q('status-freshness').textContent,
      pps: q('posts-per-second').textContent,
      lag: Number(q('status-lag').dataset.lag),
      conn: q('connection-status').textContent.trim(),
    };
  });
  assert.ok(Number.isInteger(s.epoch) && s.epoch >= 0, `epoch ${s.epoch}`);
  assert.ok(s.age >= 0 && s.age < 60, `the numbers are ${s.age} s old`);
  assert.match(s.freshness, /\d+ s ago/);
  assert.ok(Number(s.pps.replace(/,/g, '')) > 0, `posts/s "${s.pps}"`);
  assert.ok(Number.isInteger(s.lag) && s.lag >= 0, `lag ${s.lag}`);
  assert.match(s.conn, /live/);
  // The same numbers the API reports.
  const status = await (await fetch(new URL('/api/v1/status', LT_URL))).json();
  assert.ok(status.active.epoch >= s.epoch, `API epoch ${status.active.epoch} < shown ${s.epoch}`);
});

test('the trending list updates live', { timeout: 60_000 }, async () => {
  assert.ok(first, 'needs the first snapshot');
  const changed = await page
    .waitForFunction(
      (prev) => {
        const items = [...document.querySelectorAll('[data-testid="trending-list"] [data-testid="trending-item"]')].map(
          (el) => `${el.getAttribute('data-hashtag')}=${(el.querySelector('[data-testid="trending-count"]')?.textContent ?? '').replace(/[^\d.-]/g, '')}`,
        );
        const last = document.querySelector('[data-testid="last-update"]')?.textContent?.trim() ?? '';
        return last !== prev.lastUpdate && items.join(',') !== prev.items.map((i) => `${i.tag}=${i.count}`).join(',');
      },
      first,
      { timeout: 30_000, polling: 250 },
    )
    .then(() => true, () => false);
  const now = await snapshot();
  assert.ok(changed, `trending did not update within 30 s: before ${JSON.stringify(first)}, now ${JSON.stringify(now)}`);
  // Counts of a 15-minute window on a server minutes old only grow.
  const grew = now.items.filter((i) => first.items.some((f) => f.tag === i.tag && i.count > f.count));
  assert.ok(grew.length >= 1, `no count grew: before ${JSON.stringify(first)}, now ${JSON.stringify(now)}`);
});

test('picking a hashtag shows its chart', { timeout: 60_000 }, async () => {
  const tag = await page.locator(ITEM).first().getAttribute('data-hashtag');
  await page.locator(ITEM).first().click();
  await waitFor(
    page,
    () => !!document.querySelector('[data-testid="series-chart"] canvas') && Number(document.querySelector('[data-testid="series-total"]')?.dataset.total) > 0,
    null,
    30_000,
    `no chart with a positive total after clicking #${tag}`,
  );
  const c = await chartState();
  assert.equal(c.title, `#${tag}`);
  assert.equal(c.series, 1);
  assert.equal(c.totalTag, tag);
  assert.equal(await page.locator(`${ITEM}[aria-selected="true"]`).getAttribute('data-hashtag'), tag, 'the row is marked selected');
  assert.ok(c.xMax - c.xMin > 20 * HOUR, `the default range (24 h) spans ${(c.xMax - c.xMin) / HOUR} h`);
  assert.ok(new URL(page.url()).hash.includes(`tag=${encodeURIComponent(tag)}`), `URL hash keeps the view: ${page.url()}`);
});

test('a range change refetches and changes the x range', { timeout: 90_000 }, async () => {
  const before = await chartState();
  const tag = before.totalTag;
  assert.ok(tag, 'needs a hashtag on the chart');

  const request = page.waitForRequest((r) => r.url().includes(`/api/v1/hashtags/${encodeURIComponent(tag)}/series`), { timeout: 15_000 });
  await page.getByRole('button', { name: 'Last hour' }).click();
  const url = new URL((await request).url());
  const span = Date.parse(url.searchParams.get('to')) - Date.parse(url.searchParams.get('from'));
  assert.ok(Math.abs(span - HOUR) < 60_000, `the request asks for one hour: ${url.search}`);
  await waitFor(page, (x) => Number(document.querySelector('[data-testid="series-chart"]').dataset.xMin) > x + 20 * 3_600_000, before.xMin, 20_000, 'x range did not move to the last hour');
  const hour = await chartState();
  const hourSpan = hour.xMax - hour.xMin;
  assert.ok(hourSpan >= 0.75 * HOUR && hourSpan <= 1.25 * HOUR, `1 h range spans ${hourSpan / 60_000} min`);
  assert.ok(hour.xMax >= before.xMax - 5 * 60_000, 'the range still ends now');
  assert.ok(hour.total > 0, 'the data of the last hour is shown');
  assert.equal(await page.getByRole('button', { name: 'Last hour' }).getAttribute('aria-pressed'), 'true');

  // All history: the server is minutes old, so the chart starts within the last hour and its
  // x range is narrower than one hour's; the data is the same.
  const requests = [];
  const onRequest = (r) => r.url().includes('/series?') && requests.push(new URL(r.url()));
  page.on('request', onRequest);
  await page.getByRole('button', { name: 'All history' }).click();
  await waitFor(page, (x) => Number(document.querySelector('[data-testid="series-chart"]').dataset.xMin) > x, hour.xMin, 20_000, 'x range did not change for all history');
  page.off('request', onRequest);
  const all = await chartState();
  assert.ok(requests.some((u) => u.searchParams.get('step') === '10080'), `all history looks back in 7-day buckets: ${requests.map((u) => u.search)}`);
  assert.ok(all.xMax - all.xMin < HOUR, `all history (minutes of data) spans ${(all.xMax - all.xMin) / 60_000} min`);
  assert.ok(all.total >= hour.total, `all history total ${all.total} < last hour ${hour.total}`);

  await page.getByRole('button', { name: 'Last 24 hours' }).click();
  await waitFor(page, () => {
    const c = document.querySelector('[data-testid="series-chart"]').dataset;
    return Number(c.xMax) - Number(c.xMin) > 20 * 3_600_000;
  }, null, 20_000, 'x range did not return to 24 h');
});

test('comparing two hashtags shows two series', { timeout: 90_000 }, async () => {
  const { items } = await snapshot();
  const main = (await chartState()).totalTag;
  const other = items.map((i) => i.tag).find((t) => t !== main);
  assert.ok(other, 'needs a second trending hashtag');

  // Autocomplete from GET /api/v1/hashtags?prefix=…, then pick the suggestion.
  const input = page.getByRole('combobox', { name: 'Add a hashtag to compare' });
  const search = page.waitForResponse((r) => r.url().includes('/api/v1/hashtags?') && r.ok(), { timeout: 15_000 });
  await input.fill(other);
  await search;
  const option = page.locator('[data-testid="compare-suggestions"] [data-testid="suggestion"]').filter({ hasText: `#${other}` });
  await option.first().waitFor({ state: 'visible', timeout: 15_000 });
  assert.equal(await input.getAttribute('aria-expanded'), 'true');
  await input.press('ArrowDown');
  assert.ok(await input.getAttribute('aria-activedescendant'), 'arrow keys move through the suggestions');
  await option.first().click();

  await waitFor(
    page,
    () => {
      const c = document.querySelector('[data-testid="series-chart"]');
      const chips = [...document.querySelectorAll('[data-testid="series-chip"]')];
      return c.dataset.seriesCount === '2' && chips.length === 2 && chips.every((x) => Number(x.dataset.total) > 0);
    },
    null,
    30_000,
    `the chart does not show #${main} and #${other}`,
  );
  const c = await chartState();
  assert.deepEqual(c.chips.map((x) => x.tag), [main, other]);
  assert.equal(c.uplotSeries, 3, 'uPlot draws the x series and two hashtags');
  assert.equal(c.title, `#${main} vs #${other}`);
  assert.equal(c.totalTag, main, 'the headline total is the main hashtag');
  const hash = new URL(page.url()).hash;
  assert.ok(hash.includes(`tag=${encodeURIComponent(main)}`) && hash.includes(`tag=${encodeURIComponent(other)}`), hash);

  // Let both series take a live update, then keep the screenshot (trending + chart + status bar).
  await page.waitForTimeout(2_500);
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

  // Removing the second hashtag leaves one series.
  await page.getByRole('button', { name: `Remove #${other} from the chart` }).click();
  await waitFor(page, () => document.querySelector('[data-testid="series-chart"]').dataset.seriesCount === '1', null, 15_000, 'removing a hashtag');
});

test('a flip while viewing keeps the numbers continuous', { timeout: 180_000, skip: !(LT_BIN && LT_DATA_DIR) && 'LT_BIN and LT_DATA_DIR are not set' }, async (t) => {
  const before = await chartState();
  const tag = before.totalTag;
  assert.ok(tag && before.total > 0, 'needs a series on the chart');
  const epochBefore = Number(await page.locator('[data-testid="status-epoch"]').getAttribute('data-epoch'));
  assert.ok(Number.isInteger(epochBefore));

  // Record every total and epoch the page shows from now on.
  await page.evaluate(() => {
    const total = document.querySelector('[data-testid="series-total"]');
    const epoch = document.querySelector('[data-testid="status-epoch"]');
    const seen = (window.__seen = []);
    const record = () =>
      seen.push({ at: Date.now(), tag: total.dataset.hashtag, total: Number(total.dataset.total), dataEpoch: Number(total.dataset.epoch), epoch: Number(epoch.dataset.epoch) });
    record();
    const mo = new MutationObserver(record);
    mo.observe(total, { attributes: true, childList: true, characterData: true, subtree: true });
    mo.observe(epoch, { attributes: true, childList: true, characterData: true, subtree: true });
  });

  const started = Date.now();
  const out = await new Promise((resolve, reject) => {
    const child = spawn(LT_BIN, ['--data-dir', LT_DATA_DIR, 'recompute'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, text });
    });
  });
  assert.equal(out.code, 0, `recompute failed:\n${out.text}`);
  t.diagnostic(`recompute took ${((Date.now() - started) / 1000).toFixed(1)} s: ${out.text.trim().split('\n').pop()}`);

  // The status bar shows the new epoch, and the series is reloaded from the new pair and keeps going.
  await waitFor(page, (e) => Number(document.querySelector('[data-testid="status-epoch"]').dataset.epoch) > e, epochBefore, 30_000, 'the status bar epoch did not increase');
  const epochAfter = Number(await page.locator('[data-testid="status-epoch"]').getAttribute('data-epoch'));
  await waitFor(page, (e) => Number(document.querySelector('[data-testid="series-total"]').dataset.epoch) >= e, epochAfter, 30_000, 'the series was not reloaded from the new pair');
  const reloaded = await chartState();
  await waitFor(page, (x) => Number(document.querySelector('[data-testid="series-total"]').dataset.total) > x, reloaded.total, 30_000, 'the series total stopped growing after the flip');

  const seen = await page.evaluate(() => window.__seen);
  assert.ok(seen.every((s) => s.tag === tag), `the chart kept showing #${tag}`);
  const drops = seen.filter((s, i) => i > 0 && s.total < seen[i - 1].total);
  assert.deepEqual(drops, [], `the total dropped: ${JSON.stringify(seen.map((s) => [s.total, s.dataEpoch, s.epoch]))}`);
  assert.ok(seen.some((s) => s.dataEpoch === epochBefore) && seen.some((s) => s.dataEpoch >= epochAfter), 'totals from both pairs were seen');
  t.diagnostic(`#${tag}: ${seen[0].total} (epoch ${epochBefore}) → ${seen[seen.length - 1].total} (epoch ${epochAfter}), ${seen.length} readings`);
});

test('keyboard: tab to the list, arrows move, Enter opens the chart', { timeout: 60_000 }, async () => {
  const p = await newPage();
  try {
    await p.goto(LT_URL, { waitUntil: 'domcontentloaded' });
    await waitFor(p, (sel) => document.querySelectorAll(sel).length >= 2, ITEM, 30_000, 'no trending rows');
    assert.equal(await p.locator(`${ITEM}[tabindex="0"]`).count(), 1, 'the list is one tab stop');
    let focused = null;
    for (let i = 0; i < 25 && !focused; i++) {
      await p.keyboard.press('Tab');
      focused = await p.evaluate(() => (document.activeElement?.matches('[data-testid="trending-item"]') ? document.activeElement.dataset.hashtag : null));
    }
    assert.ok(focused, 'Tab reaches the trending list');
    await p.keyboard.press('ArrowDown');
    const second = await p.evaluate(() => document.activeElement?.dataset.hashtag);
    assert.ok(second && second !== focused, 'ArrowDown moves to the next row');
    await p.keyboard.press('Enter');
    await waitFor(p, () => !!document.querySelector('[data-testid="series-chart"] canvas'), null, 30_000, 'Enter did not open the chart');
    const c = await chartState(p);
    assert.equal(c.title, `#${second}`);
    assert.equal(await p.evaluate(() => document.activeElement?.dataset.hashtag), second, 'focus stays on the row');

    // Every control has a name.
    const unnamed = await p.evaluate(() =>
      [...document.querySelectorAll('button, input, select, [role="combobox"], [role="listbox"]')]
        .filter((el) => !(el.closest('[hidden]')))
        .filter((el) => !(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.labels?.length || el.textContent.trim()))
        .map((el) => el.outerHTML.slice(0, 120)),
    );
    assert.deepEqual(unnamed, [], 'controls without a label');

    // The search box: type, Enter shows the typed hashtag.
    const search = p.getByRole('combobox', { name: 'Search hashtags' });
    await search.focus();
    await p.keyboard.type(`#${focused.toUpperCase()}`);
    await p.keyboard.press('Enter');
    await waitFor(p, (t) => document.querySelector('[data-testid="series-title"]')?.textContent === `#${t}`, focused, 30_000, 'Enter in the search box');
  } finally {
    await p.context().close();
  }
});

const HOSTILE = '<img src=x onerror=alert(1)>';
const HOSTILE2 = '"><script>window.__pwned=1</script>';

test('a hostile hashtag is shown as text', { timeout: 60_000 }, async () => {
  const p = await newPage();
  const dialogs = [];
  p.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  try {
    // Count every element the page ever creates that could run script.
    // (From DOMContentLoaded on: the parser's own nodes, such as the app's script tag, are fine.)
    await p.addInitScript(() => {
      window.__created = [];
      document.addEventListener('DOMContentLoaded', () => {
        new MutationObserver((ms) => {
          for (const m of ms) {
            for (const n of m.addedNodes) {
              if (n.nodeType !== 1) continue;
              for (const el of [n, ...n.querySelectorAll('*')]) if (/^(IMG|SCRIPT|SVG|IFRAME|OBJECT|EMBED)$/i.test(el.nodeName)) window.__created.push(el.nodeName);
            }
          }
        }).observe(document, { childList: true, subtree: true });
      });
    });
    // No socket (its pushes would replace the list): the page polls the routed endpoint. The
    // client uses the websocket transport only, which page.route does not see, so every
    // WebSocket of this page fails at once, as on a network that blocks them. (A routed
    // websocket closed by page.routeWebSocket closes without an error event, and socket.io
    // would only give up on it after its 20 s connect timeout.) Any long-polling request,
    // should one ever be made, is refused too.
    await p.addInitScript(() => {
      window.WebSocket = class BlockedWebSocket extends EventTarget {
        static CONNECTING = 0;
        static OPEN = 1;
        static CLOSING = 2;
        static CLOSED = 3;
        constructor(url) {
          super();
          this.url = String(url);
          this.readyState = 0;
          this.binaryType = 'blob';
          setTimeout(() => {
            this.readyState = 3;
            const error = new Event('error');
            this.onerror?.(error);
            this.dispatchEvent(error);
            const close = new CloseEvent('close', { code: 1006, wasClean: false });
            this.onclose?.(close);
            this.dispatchEvent(close);
          }, 0);
        }
        send() {}
        close() {}
      };
    });
    await p.route('**/socket.io/**', (r) => r.abort());
    const json = (body) => ({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
    await p.route(
      (u) => u.pathname === '/api/v1/trending',
      (r) =>
        r.fulfill(
          json({
            window_minutes: 15,
            as_of: new Date().toISOString(),
            epoch: 0,
            hashtags: [
              { hashtag: HOSTILE, count: 420, burst: 7.5 },
              { hashtag: HOSTILE2, count: 42, burst: 0 },
              { hashtag: 'plain', count: 7, burst: 0 },
            ],
          }),
        ),
    );
    await p.route((u) => u.pathname === '/api/v1/hashtags', (r) => r.fulfill(json({ prefix: '<', hashtags: [HOSTILE, HOSTILE2] })));
    await p.route(
      (u) => u.pathname.startsWith('/api/v1/hashtags/') && u.pathname.endsWith('/series'),
      (r) => {
        const t = Math.floor(Date.now() / 300_000) * 300_000;
        const tag = decodeURIComponent(new URL(r.request().url()).pathname.split('/')[4]);
        r.fulfill(json({ hashtag: tag, from: '', to: '', slot_minutes: 5, epoch: 0, points: [{ t, count: 3, batch: 0, speed: 3 }] }));
      },
    );

    await p.goto(LT_URL, { waitUntil: 'domcontentloaded' });
    const row = p.locator(ITEM).filter({ hasText: HOSTILE });
    await row.first().waitFor({ state: 'visible', timeout: 20_000 });
    assert.equal(await row.first().getAttribute('data-hashtag'), HOSTILE);
    await p.getByText(`#${HOSTILE}`, { exact: true }).first().waitFor({ state: 'visible' });
    await p.getByText(`#${HOSTILE2}`, { exact: true }).first().waitFor({ state: 'visible' });
    assert.ok(await row.first().locator('[data-testid="burst-badge"]').isVisible(), 'its burst badge (score 7.5) is shown');
    await waitFor(p, () => document.querySelector('[data-testid="connection-status"]')?.dataset.state === 'reconnecting', null, 15_000, 'no socket: the indicator does not say so');

    // Search suggestions.
    const search = p.getByRole('combobox', { name: 'Search hashtags' });
    await search.fill('<');
    const option = p.locator('[data-testid="hashtag-suggestions"] [data-testid="suggestion"]');
    await option.first().waitFor({ state: 'visible', timeout: 15_000 });
    assert.deepEqual(await option.allTextContents(), [`#${HOSTILE}`, `#${HOSTILE2}`]);
    await option.first().click();

    // Its chart: title and chip are text too.
    await waitFor(p, () => !!document.querySelector('[data-testid="series-chart"] canvas'), null, 20_000, 'no chart for the hostile hashtag');
    assert.equal(await p.locator('[data-testid="series-title"]').textContent(), `#${HOSTILE}`);
    assert.equal(await p.locator('[data-testid="series-chip"] .chip-tag').first().textContent(), `#${HOSTILE}`);
    // Then the other one from the list, compared.
    await row.first().click();
    await p.getByRole('combobox', { name: 'Add a hashtag to compare' }).fill('"');
    await p.locator('[data-testid="compare-suggestions"] [data-testid="suggestion"]').nth(1).click();
    await waitFor(p, () => document.querySelector('[data-testid="series-chart"]').dataset.seriesCount === '2', null, 20_000, 'comparing the hostile hashtags');

    await p.waitForTimeout(500);
    const dom = await p.evaluate(() => ({
      imgs: document.querySelectorAll('img').length,
      scripts: [...document.querySelectorAll('script')].filter((s) => !s.src).length,
      created: window.__created,
      pwned: window.__pwned ?? null,
    }));
    assert.deepEqual(dialogs, [], 'no dialog');
    assert.deepEqual(dom, { imgs: 0, scripts: 0, created: [], pwned: null });
  } finally {
    await p.context().close();
  }
});

test('phone width (390 px): no horizontal overflow', { timeout: 60_000 }, async () => {
  const { items } = await snapshot();
  assert.ok(items.length >= 2);
  const p = await newPage({ width: 390, height: 844 }, { isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  try {
    const hash = new URLSearchParams([['tag', items[0].tag], ['tag', items[1].tag], ['range', '24h']]);
    await p.goto(`${LT_URL}#${hash}`, { waitUntil: 'domcontentloaded' });
    await waitFor(p, (sel) => document.querySelectorAll(sel).length >= 2, ITEM, 30_000, 'no trending rows');
    await waitFor(
      p,
      () => document.querySelector('[data-testid="series-chart"]')?.dataset.seriesCount === '2' && !!document.querySelector('[data-testid="series-chart"] canvas'),
      null,
      30_000,
      'no chart with two series',
    );
    await waitFor(p, () => document.querySelector('[data-testid="status-epoch"]')?.dataset.epoch !== undefined, null, 15_000, 'no status');
    await p.waitForTimeout(1_000);
    const m = await p.evaluate(() => {
      const vw = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll('body *')]
        .filter((el) => {
          const r = el.getBoundingClientRect();
          return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden' && (r.left < -1 || r.right > vw + 1);
        })
        .filter((el) => !el.closest('.u-over, .u-under') || el.matches('.u-over, .u-under'))
        .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`);
      window.scrollTo(200, 0);
      return { vw, scrollWidth: document.documentElement.scrollWidth, bodyScrollWidth: document.body.scrollWidth, scrollX: window.scrollX, wide };
    });
    assert.equal(m.vw, 390);
    assert.ok(m.scrollWidth <= m.vw && m.bodyScrollWidth <= m.vw, `page is ${m.scrollWidth} px wide at 390 px`);
    assert.equal(m.scrollX, 0, 'the page does not scroll sideways');
    assert.deepEqual(m.wide, [], 'elements past the right edge');
    await p.screenshot({ path: join(ARTIFACTS, 'dashboard-narrow.png'), fullPage: true });
  } finally {
    await p.context().close();
  }
});

test('no uncaught page errors', () => {
  assert.deepEqual(pageErrors, [], `uncaught errors in the page: ${pageErrors.join(' | ')}`);
});
