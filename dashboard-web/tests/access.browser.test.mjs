// Browser test of the read token: the dashboard against a server started with
// `serving.read-token` (scripts/browser-test.sh starts a `lambda-trends serve` replica with
// LT__SERVING__READ_TOKEN on the same data directory and sets the variables below).
//
//   LT_URL_TOKEN=http://127.0.0.1:8081/ LT_READ_TOKEN=… npm run test:access
//
// Env: LT_URL_TOKEN (required) base URL of the token-protected server; LT_READ_TOKEN (required)
// its read token; CHROMIUM_PATH (default /usr/bin/chromium); LT_ARTIFACTS (default /tmp) where
// dashboard-token.png and dashboard-token-narrow.png are written.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

const URL_TOKEN = process.env.LT_URL_TOKEN;
const TOKEN = process.env.LT_READ_TOKEN;
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = process.env.LT_ARTIFACTS || '/tmp';
const STORAGE_KEY = 'lambda-trends:read-token';
const WRONG = 'not-the-token-0123';

const ITEM = '[data-testid="trending-list"] [data-testid="trending-item"]';
const GATE = '[data-testid="token-gate"]';

let browser;
const pageErrors = [];
/** Every console message of every page (none may contain the token). */
const consoleLines = [];

async function newPage(viewport = { width: 1280, height: 800 }, contextOptions = {}) {
  const context = await browser.newContext({ viewport, ...contextOptions });
  const p = await context.newPage();
  p.on('pageerror', (e) => pageErrors.push(`${e.message}`));
  p.on('console', (m) => consoleLines.push(m.text()));
  // What the page sent: API requests with their Authorization header, websocket URLs.
  p.sent = { api: [], sockets: [] };
  p.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/v1/')) p.sent.api.push({ path: u.pathname, query: u.search, authorization: r.headers().authorization ?? null });
  });
  p.on('websocket', (ws) => p.sent.sockets.push(ws.url()));
  return p;
}

function waitFor(p, fn, arg, timeout, message) {
  return p.waitForFunction(fn, arg, { timeout, polling: 200 }).catch(async (e) => {
    const gate = await p.evaluate(() => ({
      gate: !document.querySelector('[data-testid="token-gate"]')?.hidden,
      message: document.querySelector('[data-testid="token-message"]')?.textContent,
      conn: document.querySelector('[data-testid="connection-status"]')?.textContent?.trim(),
      banner: document.querySelector('[data-testid="error-banner"]')?.textContent?.trim(),
    })).catch(() => null);
    assert.fail(`${message} (${e.message.split('\n')[0]}); page: ${JSON.stringify(gate)}`);
  });
}

/** The token appears nowhere in the page, its address or the form's input. */
async function assertTokenNotShown(p) {
  const seen = await p.evaluate(
    (t) => ({
      html: document.documentElement.outerHTML.includes(t),
      text: document.body.innerText.includes(t),
      url: location.href.includes(t),
      input: document.querySelector('[data-testid="token-input"]')?.value ?? '',
    }),
    TOKEN,
  );
  assert.deepEqual(seen, { html: false, text: false, url: false, input: '' }, 'the token is not in the page');
}

const storedToken = (p) => p.evaluate((k) => sessionStorage.getItem(k), STORAGE_KEY);

before(async () => {
  assert.ok(URL_TOKEN && TOKEN, 'LT_URL_TOKEN and LT_READ_TOKEN are not set: point them at a server started with LT__SERVING__READ_TOKEN');
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
});

test('the server refuses the API without the token', async () => {
  const r = await fetch(new URL('/api/v1/trending', URL_TOKEN));
  assert.equal(r.status, 401);
  assert.equal((await r.json()).code, 'unauthorized');
  const ok = await fetch(new URL('/api/v1/trending', URL_TOKEN), { headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(ok.status, 200);
  // The dashboard's files are open: the page must load to ask for the token.
  assert.equal((await fetch(URL_TOKEN)).status, 200);
});

/** The page of the form flow, shared by the next three tests (like an analyst's session). */
let page;

test('without a token the page shows the token form', { timeout: 60_000 }, async () => {
  page = await newPage();
  const res = await page.goto(URL_TOKEN, { waitUntil: 'domcontentloaded', timeout: 30_000 });
  assert.ok(res?.ok(), `GET ${URL_TOKEN} answered ${res?.status()}`);
  await page.locator(GATE).waitFor({ state: 'visible', timeout: 20_000 });
  const input = page.getByLabel('Read token', { exact: true });
  assert.equal(await input.getAttribute('type'), 'password', 'the token input is a password input');
  assert.ok(await page.locator('label[for="read-token"]').isVisible(), 'its label is visible');
  assert.ok(await page.getByRole('button', { name: 'Use token' }).isVisible());
  assert.match(await page.getByTestId('token-message').textContent(), /needs a read token/);
  await waitFor(page, () => document.activeElement?.id === 'read-token', null, 5_000, 'the token input has the focus');
  assert.equal(await page.locator(ITEM).count(), 0, 'no trending rows without the token');
  assert.match(await page.getByTestId('connection-status').textContent(), /read token needed/);
  assert.equal(await page.getByTestId('error-banner').isVisible(), false, 'the form explains it; no error banner');
  // It asked without a token and stopped: no socket was opened, no token was sent.
  assert.ok(page.sent.api.length > 0 && page.sent.api.every((r) => r.authorization === null), JSON.stringify(page.sent.api));
  assert.deepEqual(page.sent.sockets, [], 'no websocket without an accepted token');
  // While it waits for the token it does not keep polling the API.
  const n = page.sent.api.length;
  await page.waitForTimeout(6_000);
  assert.ok(page.sent.api.length - n <= 2, `${page.sent.api.length - n} API requests while waiting for the token`);
});

test('a wrong token is refused and the form asks again', { timeout: 60_000 }, async () => {
  assert.ok(page, 'needs the page of the previous test');
  const input = page.getByLabel('Read token', { exact: true });
  await input.focus();
  await page.keyboard.type(WRONG);
  await page.keyboard.press('Enter'); // keyboard only
  await waitFor(page, () => document.querySelector('[data-testid="token-message"]')?.dataset.state === 'refused', null, 15_000, 'no refusal message');
  assert.match(await page.getByTestId('token-message').textContent(), /token was refused/);
  assert.ok(await page.locator(GATE).isVisible(), 'the form is still shown');
  assert.equal(await input.inputValue(), '', 'the refused token is cleared from the input');
  await waitFor(page, () => document.activeElement?.id === 'read-token', null, 5_000, 'the input has the focus again');
  assert.equal(await storedToken(page), null, 'a refused token is not kept');
  assert.ok(page.sent.api.some((r) => r.authorization === `Bearer ${WRONG}`), 'the typed token was checked with the server');
  assert.deepEqual(page.sent.sockets, [], 'the socket never dials with a refused token');
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-token.png'), fullPage: true });
});

test('the right token shows trending, live updates and a chart', { timeout: 90_000 }, async () => {
  assert.ok(page, 'needs the page of the previous test');
  const before = page.sent.api.length;
  await page.keyboard.type(TOKEN); // the input kept the focus
  await page.keyboard.press('Enter');
  await page.locator(GATE).waitFor({ state: 'hidden', timeout: 15_000 });
  await waitFor(page, (sel) => document.querySelectorAll(sel).length >= 2, ITEM, 30_000, 'no trending rows with the token');
  await waitFor(page, () => document.querySelector('[data-testid="connection-status"]')?.dataset.state === 'connected', null, 30_000, 'the socket did not connect with the token');
  assert.equal(await storedToken(page), TOKEN, 'the accepted token is kept for the tab (sessionStorage)');

  // A live update over the socket: the list is re-rendered from a push.
  const first = await page.getByTestId('last-update').textContent();
  await waitFor(
    page,
    (prev) =>
      document.querySelector('[data-testid="last-update"]')?.textContent !== prev &&
      /live/.test(document.querySelector('[data-testid="trending-source"]')?.textContent ?? ''),
    first,
    30_000,
    'no live trending update',
  );

  // A chart from the series endpoint, with the token as well.
  await page.locator(ITEM).first().click();
  await waitFor(page, () => !!document.querySelector('[data-testid="series-chart"] canvas') && Number(document.querySelector('[data-testid="series-total"]')?.dataset.total) > 0, null, 30_000, 'no chart');

  const sent = page.sent.api.slice(before);
  const paths = new Set(sent.map((r) => r.path.replace(/\/hashtags\/[^/]+\/series$/, '/hashtags/{tag}/series')));
  for (const p of ['/api/v1/status', '/api/v1/trending', '/api/v1/hashtags/{tag}/series']) assert.ok(paths.has(p), `no ${p} request: ${[...paths]}`);
  assert.deepEqual(sent.filter((r) => r.authorization !== `Bearer ${TOKEN}`), [], 'every API request carries the token');
  assert.ok(sent.every((r) => !r.query.includes('access_token')), 'HTTP calls use the header, not the query');
  assert.ok(page.sent.sockets.length >= 1, 'a websocket was opened');
  for (const u of page.sent.sockets) {
    const url = new URL(u);
    assert.equal(url.searchParams.get('transport'), 'websocket');
    assert.equal(url.searchParams.get('access_token'), TOKEN, 'the socket.io handshake carries the token in its query');
  }
  assert.equal(await page.getByTestId('error-banner').isVisible(), false, 'no errors left');
  await assertTokenNotShown(page);
  await page.context().close();
});

test('opening /#access_token=… works directly and takes the token out of the address', { timeout: 60_000 }, async () => {
  const p = await newPage();
  try {
    await p.goto(`${URL_TOKEN}#access_token=${encodeURIComponent(TOKEN)}&range=6h`, { waitUntil: 'domcontentloaded' });
    assert.ok(!p.url().includes(TOKEN), `the address no longer has the token: ${p.url()}`);
    await waitFor(p, (sel) => document.querySelectorAll(sel).length >= 2, ITEM, 30_000, 'no trending rows from the link');
    await waitFor(p, () => document.querySelector('[data-testid="connection-status"]')?.dataset.state === 'connected', null, 30_000, 'not live from the link');
    assert.equal(await p.locator(GATE).isVisible(), false, 'the form is not shown');
    assert.equal(await storedToken(p), TOKEN);
    const hash = new URLSearchParams(new URL(p.url()).hash.slice(1));
    assert.equal(hash.get('access_token'), null);
    assert.equal(hash.get('range'), '6h', 'the rest of the fragment (the view) stays');
    assert.ok(p.sent.api.length > 0 && p.sent.api.every((r) => r.authorization === `Bearer ${TOKEN}`));
    await assertTokenNotShown(p);

    // The address was replaced, not pushed: going back and forward again finds no token.
    await p.goBack({ waitUntil: 'domcontentloaded' });
    await p.goForward({ waitUntil: 'domcontentloaded' });
    assert.ok(!p.url().includes(TOKEN), `the history entry has no token: ${p.url()}`);
    assert.equal(new URLSearchParams(new URL(p.url()).hash.slice(1)).get('range'), '6h');

    // A reload in the same tab keeps working from sessionStorage.
    await p.reload({ waitUntil: 'domcontentloaded' });
    await waitFor(p, (sel) => document.querySelectorAll(sel).length >= 2, ITEM, 30_000, 'no trending rows after a reload');
    assert.equal(await p.locator(GATE).isVisible(), false);
  } finally {
    await p.context().close();
  }
});

test('a wrong token in the link shows the form with the refusal', { timeout: 60_000 }, async () => {
  const p = await newPage();
  try {
    await p.goto(`${URL_TOKEN}#access_token=${WRONG}`, { waitUntil: 'domcontentloaded' });
    await p.locator(GATE).waitFor({ state: 'visible', timeout: 20_000 });
    assert.match(await p.getByTestId('token-message').textContent(), /refused/);
    assert.equal(await storedToken(p), null, 'the refused token is forgotten');
    assert.ok(!p.url().includes(WRONG));
    assert.deepEqual(p.sent.sockets, [], 'no websocket with the refused token');
  } finally {
    await p.context().close();
  }
});

test('phone width (390 px): the token form fits and works', { timeout: 60_000 }, async () => {
  const p = await newPage({ width: 390, height: 844 }, { isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  try {
    await p.goto(URL_TOKEN, { waitUntil: 'domcontentloaded' });
    await p.locator(GATE).waitFor({ state: 'visible', timeout: 20_000 });
    await p.waitForTimeout(500);
    const m = await p.evaluate(() => {
      const vw = document.documentElement.clientWidth;
      const box = (sel) => {
        const r = document.querySelector(sel).getBoundingClientRect();
        return { left: r.left, right: r.right, height: r.height };
      };
      return {
        vw,
        scrollWidth: document.documentElement.scrollWidth,
        gate: box('[data-testid="token-gate"]'),
        input: box('[data-testid="token-input"]'),
        button: box('[data-testid="token-submit"]'),
      };
    });
    assert.equal(m.vw, 390);
    assert.ok(m.scrollWidth <= m.vw, `page is ${m.scrollWidth} px wide at 390 px`);
    for (const k of ['gate', 'input', 'button']) assert.ok(m[k].left >= 0 && m[k].right <= m.vw, `${k} inside the screen: ${JSON.stringify(m[k])}`);
    assert.ok(m.button.height >= 32, `a button a finger can hit: ${m.button.height} px`);
    await p.screenshot({ path: join(ARTIFACTS, 'dashboard-token-narrow.png'), fullPage: true });
    await p.getByLabel('Read token', { exact: true }).fill(TOKEN);
    await p.getByRole('button', { name: 'Use token' }).tap();
    await waitFor(p, (sel) => document.querySelectorAll(sel).length >= 2, ITEM, 30_000, 'no trending rows at phone width');
  } finally {
    await p.context().close();
  }
});

test('no uncaught page errors, and the token is never logged', () => {
  assert.deepEqual(pageErrors, [], `uncaught errors in the page: ${pageErrors.join(' | ')}`);
  assert.deepEqual(consoleLines.filter((l) => l.includes(TOKEN)), [], 'console lines with the token');
});
