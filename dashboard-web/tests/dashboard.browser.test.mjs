// Browser test of the analyst dashboard against a running server (the Rust `serving` crate,
// or dev/mock-server.mjs during frontend work).
//
//   LT_URL=http://127.0.0.1:8080/ npm run test:browser
//
// Env: LT_URL (required) base URL of the dashboard; CHROMIUM_PATH (default /usr/bin/chromium);
// LT_ARTIFACTS (default /tmp) where dashboard.png and dashboard-narrow.png are written.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

const LT_URL = process.env.LT_URL;
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = process.env.LT_ARTIFACTS || '/tmp';

const LIST = '[data-testid="trending-list"]';
const ITEM = `${LIST} [data-testid="trending-item"]`;

let browser;
let page;
const pageErrors = [];

/** Trending rows and the last-update text, as the page shows them. */
function snapshot() {
  return page.evaluate(() => ({
    items: [...document.querySelectorAll('[data-testid="trending-list"] [data-testid="trending-item"]')].map((el) => ({
      tag: el.getAttribute('data-hashtag'),
      count: Number((el.querySelector('[data-testid="trending-count"]')?.textContent ?? '').replace(/[^\d.-]/g, '')),
    })),
    lastUpdate: document.querySelector('[data-testid="last-update"]')?.textContent?.trim() ?? '',
  }));
}

before(async () => {
  assert.ok(
    LT_URL,
    'LT_URL is not set: point it at a running lambda-trends server, e.g. LT_URL=http://127.0.0.1:8080/ npm run test:browser',
  );
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`[page console] ${m.text()}`);
  });
});

after(async () => {
  if (page) {
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true }).catch(() => {});
    await page.setViewportSize({ width: 390, height: 844 }).catch(() => {});
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-narrow.png'), fullPage: true }).catch(() => {});
    console.log(`screenshots: ${join(ARTIFACTS, 'dashboard.png')}, ${join(ARTIFACTS, 'dashboard-narrow.png')}`);
  }
  await browser?.close();
});

test('dashboard: live trending list, series chart for a clicked hashtag', { timeout: 180_000 }, async (t) => {
  let before;

  await t.test('page loads and the trending list fills (≤ 60 s)', async () => {
    const res = await page.goto(LT_URL, { waitUntil: 'domcontentloaded', timeout: 30_000 });
    assert.ok(res && res.ok(), `GET ${LT_URL} answered ${res?.status()}`);
    assert.equal(await page.locator('header').getByText('lambda-trends').count(), 1, 'header shows the product name');
    await page
      .waitForFunction((sel) => document.querySelectorAll(sel).length >= 1, ITEM, { timeout: 60_000, polling: 250 })
      .catch(() => assert.fail('trending list still empty after 60 s'));
    before = await snapshot();
    assert.ok(before.items.length >= 1);
    assert.ok(before.items.every((i) => i.tag && Number.isFinite(i.count)), `bad rows: ${JSON.stringify(before.items)}`);
    assert.ok(before.lastUpdate && before.lastUpdate !== '—', 'last-update shows a time');
    t.diagnostic(`first trending: ${JSON.stringify(before)}`);
  });

  await t.test('trending list updates live (≤ 30 s)', async () => {
    assert.ok(before, 'needs the previous step');
    const changed = await page
      .waitForFunction(
        (prev) => {
          const items = [...document.querySelectorAll('[data-testid="trending-list"] [data-testid="trending-item"]')].map(
            (el) => `${el.getAttribute('data-hashtag')}=${(el.querySelector('[data-testid="trending-count"]')?.textContent ?? '').replace(/[^\d.-]/g, '')}`,
          );
          const last = document.querySelector('[data-testid="last-update"]')?.textContent?.trim() ?? '';
          const prevItems = prev.items.map((i) => `${i.tag}=${i.count}`);
          return last !== prev.lastUpdate && items.join(',') !== prevItems.join(',');
        },
        before,
        { timeout: 30_000, polling: 250 },
      )
      .then(() => true, () => false);
    const now = await snapshot();
    assert.ok(changed, `trending did not update within 30 s: before ${JSON.stringify(before)}, now ${JSON.stringify(now)}`);
    t.diagnostic(`updated trending: ${JSON.stringify(now)}`);
  });

  await t.test('clicking the first hashtag draws its series', async () => {
    const first = page.locator(ITEM).first();
    const tag = await first.getAttribute('data-hashtag');
    assert.ok(tag, 'first trending item has data-hashtag');
    await first.click();
    const chart = page.locator('[data-testid="series-chart"]');
    await chart
      .locator('canvas, svg')
      .first()
      .waitFor({ state: 'visible', timeout: 30_000 })
      .catch(() => assert.fail(`no chart (canvas/svg) in series-chart 30 s after clicking #${tag}`));
    await page
      .waitForFunction(
        () => Number((document.querySelector('[data-testid="series-total"]')?.textContent ?? '').replace(/[^\d.-]/g, '')) > 0,
        null,
        { timeout: 30_000, polling: 250 },
      )
      .catch(() => {});
    const total = (await page.locator('[data-testid="series-total"]').textContent())?.trim() ?? '';
    assert.ok(Number(total.replace(/[^\d.-]/g, '')) > 0, `series-total for #${tag} should be positive, got "${total}"`);
    const title = (await page.locator('[data-testid="series-title"]').textContent()) ?? '';
    assert.ok(title.includes(tag), `series title "${title}" names #${tag}`);
    t.diagnostic(`#${tag}: total ${total}`);
  });

  await t.test('no uncaught page errors', () => {
    assert.deepEqual(pageErrors, [], `uncaught errors in the page: ${pageErrors.join(' | ')}`);
  });
});
