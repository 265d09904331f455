import { io } from 'socket.io-client';
import { fetchSeries, fetchStatus, fetchTrending, isAbort, isUnauthorized } from './api';
import { COLORS, MAX_SERIES, SeriesChart } from './chart';
import { ErrorBanner } from './errors';
import { fmtClock, fmtInt, fmtUtc, normalizeTag, toLocalInput } from './format';
import { HISTORY_START, isRangeKey, rangeLabel, resolveRange, type RangeKey, type RangeSpec, type ResolvedRange } from './ranges';
import { HashtagSearch } from './search';
import { StatusBar } from './status';
import { onAccessGranted, onTokenRefused, readToken, takeTokenFromFragment } from './token';
import { TokenForm } from './token-form';
import { TrendingList } from './trending';
import type { SeriesResponse, SeriesUpdate, TrendingResponse } from './types';
import './style.css';

const TRENDING_LIMIT = 10;
const SOCKET_WINDOW = 15; // the window of the socket's `trending` pushes
const TRENDING_POLL_MS = 2_000;
const STATUS_POLL_MS = 5_000;
const SERIES_REFRESH_MS = 60_000;
const COARSE_REFRESH_MS = 30_000;

const $ = <T extends HTMLElement = HTMLElement>(testid: string): T => {
  const el = document.querySelector<T>(`[data-testid="${testid}"]`);
  if (!el) throw new Error(`dashboard markup is missing [data-testid="${testid}"]`);
  return el;
};

const errors = new ErrorBanner($('error-banner'));
const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));
window.addEventListener('error', (e) => {
  if (/ResizeObserver loop/.test(e.message)) return; // benign browser notice, not a failure
  errors.set('app', `Unexpected error: ${e.message}`);
});
window.addEventListener('unhandledrejection', (e) => errors.set('app', `Unexpected error: ${describe(e.reason)}`));

// ---------------------------------------------------------------- state

// A link may carry the read token (`#access_token=…`): keep it and take it out of the address
// before anything reads or rewrites the fragment.
takeTokenFromFragment();
const params = new URLSearchParams(location.hash.slice(1));
const state = {
  window: [5, 15, 60].includes(Number(params.get('window'))) ? Number(params.get('window')) : SOCKET_WINDOW,
  /** Hashtags on the chart, the first one is the main one. */
  tags: [] as string[],
  range: { key: isRangeKey(params.get('range')) ? (params.get('range') as RangeKey) : '24h' } as RangeSpec,
  lastSocketTrending: 0,
};
if (state.range.key === 'custom') {
  const from = new Date(params.get('from') ?? '');
  const to = new Date(params.get('to') ?? '');
  state.range = Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) ? { key: '24h' } : { key: 'custom', from, to };
}

/** True while the server refuses the token (or its absence): the token form is shown. */
let locked = false;

function saveHash(): void {
  const p = new URLSearchParams();
  for (const tag of state.tags) p.append('tag', tag);
  p.set('range', state.range.key);
  if (state.range.key === 'custom' && state.range.from && state.range.to) {
    p.set('from', state.range.from.toISOString());
    p.set('to', state.range.to.toISOString());
  }
  if (state.window !== SOCKET_WINDOW) p.set('window', String(state.window));
  history.replaceState(null, '', `#${p}`);
}

// ---------------------------------------------------------------- status bar

const status = new StatusBar({
  epoch: $('status-epoch'),
  freshness: $('status-freshness'),
  pps: $('posts-per-second'),
  lag: $('status-lag'),
  view: $('active-view'),
  provenance: $('provenance'),
});

let statusInFlight = false;
/** True once a status has been read (so an absent `master.earliest` means an empty dataset). */
let statusSeen = false;
async function pollStatus(): Promise<void> {
  if (statusInFlight || locked) return;
  statusInFlight = true;
  try {
    const s = await fetchStatus();
    errors.clear('status');
    statusSeen = true;
    const first = s.master?.earliest ? Date.parse(s.master.earliest) : NaN;
    if (Number.isFinite(first)) historyStart = first;
    const flipped = status.show(s);
    if (flipped) void loadSeries(true); // another pair: reload, numbers continue from it
  } catch (e) {
    if (!isUnauthorized(e)) errors.set('status', `Status: ${describe(e)}`);
  } finally {
    statusInFlight = false;
  }
}

// ---------------------------------------------------------------- socket

const conn = $('connection-status');
function setConnection(kind: 'connecting' | 'connected' | 'reconnecting' | 'disconnected', label: string): void {
  conn.dataset.state = kind;
  conn.querySelector('.conn-label')!.textContent = label;
  document.body.dataset.live = String(kind === 'connected');
}

// WebSocket only, no HTTP long-polling: a long-polling session is a series of requests that
// must all reach the replica holding the session, which behind a load balancer without
// session affinity (several `lambda-trends serve` replicas) they do not. A websocket is one
// connection, so it stays on one replica; when it drops, the client reconnects (to whichever
// replica the balancer picks) and subscribes again (`connect` below).
// The read token goes in the handshake's query (`access_token`): a browser's websocket cannot
// carry an Authorization header. The socket is opened once the API has let a request with the
// current token (or none) through, so a wrong token (from a link or the form) never reaches it;
// a 401 closes it (`lock`), and a newly accepted token opens it again (`unlock`).
const socket = io({ transports: ['websocket'], reconnectionDelayMax: 5_000, autoConnect: false });
const socketQuery = (): Record<string, string> => {
  const token = readToken();
  return token ? { access_token: token } : {};
};
/** Whether the socket was told to connect (it then reconnects by itself until `lock`). */
let socketStarted = false;
function startSocket(): void {
  if (socketStarted || locked) return;
  socketStarted = true;
  socket.io.opts.query = socketQuery();
  socket.connect();
}
/**
 * The hashtags subscribed on the current connection (the server's rooms are per connection),
 * each with whether a `series_update` for it has arrived on this connection since.
 */
const subscribed = new Map<string, boolean>();
function syncSubscriptions(): void {
  if (!socket.connected) return;
  for (const tag of [...subscribed.keys()]) {
    if (!state.tags.includes(tag)) {
      socket.emit('unsubscribe', tag);
      subscribed.delete(tag);
    }
  }
  for (const tag of state.tags) {
    if (!subscribed.has(tag)) {
      socket.emit('subscribe', tag);
      subscribed.set(tag, false);
    }
  }
}

socket.on('connect', () => {
  setConnection('connected', 'live');
  errors.clear('socket');
  // Fired on every (re)connection. A new connection has no rooms, and may be to another
  // replica: subscribe again to every hashtag on the chart.
  subscribed.clear();
  syncSubscriptions();
});

// The server acknowledges a connection before its handler has registered `subscribe`, and an
// event that arrives in between is dropped (socketioxide): a `subscribe` sent at once on
// `connect` can be lost. Every subscription is therefore sent again until a `series_update`
// for it arrives (the server sends one to every room on each 2-second tick); joining a room
// twice is harmless.
const RESUBSCRIBE_MS = 2_500;
setInterval(() => {
  if (!socket.connected) return;
  for (const [tag, confirmed] of subscribed) if (!confirmed) socket.emit('subscribe', tag);
}, RESUBSCRIBE_MS);

socket.on('disconnect', (reason) => {
  setConnection('reconnecting', 'reconnecting…');
  if (reason === 'io server disconnect') socket.connect(); // the server hung up: dial again
});
socket.on('connect_error', (e) => {
  if (locked) return;
  if (conn.dataset.state !== 'reconnecting') setConnection('reconnecting', 'reconnecting…');
  errors.set('socket', `Live updates unavailable (${e.message}); retrying. Trending falls back to polling.`);
});
socket.io.on('reconnect_attempt', (n) => setConnection('reconnecting', `reconnecting… (${n})`));
socket.io.on('reconnect_failed', () => setConnection('disconnected', 'offline'));

// ---------------------------------------------------------------- trending

const trending = new TrendingList($<HTMLOListElement>('trending-list'), $('trending-empty'), (tag) => select(tag, true));
const lastUpdate = $('last-update');
const trendingSource = $('trending-source');

function showTrending(data: TrendingResponse, via: 'live' | 'polled'): void {
  const list = Array.isArray(data.hashtags)
    ? data.hashtags.filter((h) => h && typeof h.hashtag === 'string' && typeof h.count === 'number')
    : [];
  trending.render(list);
  trending.setSelected(state.tags[0] ?? null);
  const now = new Date();
  lastUpdate.textContent = fmtClock(now);
  lastUpdate.setAttribute('datetime', now.toISOString());
  lastUpdate.title = `data as of ${fmtUtc(data.as_of)}`;
  trendingSource.textContent = `· ${via}`;
  status.fresh(data.as_of);
  if (status.epochChanged(data.epoch)) void pollStatus(); // a flip: the status says which pair
}

socket.on('trending', (data: TrendingResponse) => {
  if (!data || (data.window_minutes ?? SOCKET_WINDOW) !== state.window) return;
  // From a replica that has not seen a flip yet (replicas poll for it): stay on the newer
  // numbers; polling takes over if this goes on.
  if (status.isOlder(data.epoch)) return;
  state.lastSocketTrending = Date.now();
  errors.clear('trending');
  showTrending(data, 'live');
});

let trendingInFlight: AbortController | null = null;
async function pollTrending(): Promise<void> {
  if (locked) return;
  const minutes = state.window;
  trendingInFlight?.abort();
  const ctl = (trendingInFlight = new AbortController());
  try {
    const data = await fetchTrending(minutes, TRENDING_LIMIT, ctl.signal);
    if (minutes !== state.window || status.isOlder(data.epoch)) return;
    errors.clear('trending');
    showTrending(data, 'polled');
  } catch (e) {
    if (!isAbort(e) && !isUnauthorized(e)) errors.set('trending', `Trending (${minutes} min): ${describe(e)}`);
  }
}

// The socket pushes the 15-minute window; other windows, or a socket that is down or
// silent, are served by polling the endpoint.
setInterval(() => {
  const socketFresh = socket.connected && Date.now() - state.lastSocketTrending < 2.5 * TRENDING_POLL_MS;
  if (state.window !== SOCKET_WINDOW || !socketFresh) void pollTrending();
}, TRENDING_POLL_MS);

const windowButtons = [...document.querySelectorAll<HTMLButtonElement>('[data-window]')];
function setWindow(minutes: number): void {
  state.window = minutes;
  for (const b of windowButtons) b.setAttribute('aria-pressed', String(Number(b.dataset.window) === minutes));
  $('trending-window').textContent = `${minutes} min`;
  saveHash();
  void pollTrending();
}
for (const b of windowButtons) b.addEventListener('click', () => setWindow(Number(b.dataset.window)));

// ---------------------------------------------------------------- series

const chart = new SeriesChart($('series-chart'));
const seriesTitle = $('series-title');
const seriesTotal = $('series-total');
const seriesMeta = $('series-meta');
const compareRow = $('compare-row');
const legend = $<HTMLUListElement>('series-legend');
let seriesInFlight: AbortController | null = null;
let seriesLoadedAt = 0;
/**
 * Where the master dataset begins (epoch ms, from the status' `master.earliest`): "all history"
 * scans from there, not from the first day of Twitter.
 */
let historyStart = HISTORY_START;
/** Where each hashtag's data begins (epoch ms), for "all history". */
const earliest = new Map<string, number | null>();

function renderSeriesHeader(): void {
  const tags = state.tags;
  seriesTitle.textContent = tags.length === 0 ? 'No hashtag selected' : tags.map((t) => `#${t}`).join(' vs ');
  seriesTitle.title = seriesTitle.textContent;
  compareRow.hidden = tags.length === 0;
  $('compare-form').hidden = tags.length >= MAX_SERIES;
  legend.replaceChildren(
    ...tags.map((tag, i) => {
      const li = document.createElement('li');
      li.className = 'chip';
      li.dataset.testid = 'series-chip';
      li.dataset.hashtag = tag;
      li.style.setProperty('--series-color', COLORS[i % COLORS.length]!);
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.setAttribute('aria-hidden', 'true');
      const name = document.createElement('span');
      name.className = 'chip-tag';
      name.textContent = `#${tag}`;
      const total = document.createElement('span');
      total.className = 'chip-total';
      total.dataset.testid = 'chip-total';
      total.textContent = '…';
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'chip-remove';
      remove.textContent = '×';
      remove.setAttribute('aria-label', `Remove #${tag} from the chart`);
      remove.addEventListener('click', () => removeTag(tag));
      li.append(swatch, name, total, remove);
      return li;
    }),
  );
}

function showTotals(): void {
  const main = state.tags[0];
  const total = main != null ? chart.total(main) : 0;
  seriesTotal.textContent = main != null ? fmtInt(total) : '—';
  seriesTotal.dataset.total = String(total);
  seriesTotal.dataset.hashtag = main ?? '';
  const epoch = main != null ? chart.epoch(main) : null;
  if (epoch != null) seriesTotal.dataset.epoch = String(epoch);
  for (const li of legend.querySelectorAll<HTMLLIElement>('[data-testid="series-chip"]')) {
    const t = chart.total(li.dataset.hashtag ?? '');
    li.dataset.total = String(t);
    const el = li.querySelector('.chip-total');
    if (el) el.textContent = fmtInt(t);
  }
}

function fmtBucket(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440}-day`;
  if (minutes % 60 === 0) return `${minutes / 60}-h`;
  return `${minutes}-min`;
}

function describeRange(r: ResolvedRange): string {
  if (r.follow !== 'fixed') return rangeLabel(state.range.key);
  return `${fmtUtc(r.from.toISOString())} → ${fmtUtc(r.to.toISOString())}`;
}

/**
 * Where the data of `tag` begins (epoch ms, to the hour): the first 7-day bucket with posts in
 * all history, then the first hour with posts in that week.
 */
async function findEarliest(tag: string, signal: AbortSignal): Promise<number | null> {
  if (earliest.has(tag)) return earliest.get(tag)!;
  const now = Date.now();
  const firstPoint = (resp: SeriesResponse) => (resp.points ?? []).find((p) => Number.isFinite(p.t) && p.count > 0)?.t ?? null;
  // Nothing in the master dataset yet: the data is only in the speed tables, from today.
  const start = historyStart === HISTORY_START && statusSeen ? now - 7 * 86_400_000 : historyStart;
  const week = firstPoint(await fetchSeries(tag, new Date(start), new Date(now), signal, '10080'));
  if (week == null) return null;
  const weekEnd = Math.min(now, week + 7 * 86_400_000);
  const hour = firstPoint(await fetchSeries(tag, new Date(week), new Date(weekEnd), signal, '60')) ?? week;
  earliest.set(tag, hour);
  return hour;
}

/**
 * Fetches the series of every hashtag on the chart for the current range and draws them.
 * `reload`: the same range again (a refresh or a flip), merged with what is shown.
 */
async function loadSeries(reload = false): Promise<void> {
  const tags = [...state.tags];
  if (!tags.length || locked) return;
  seriesInFlight?.abort();
  const ctl = (seriesInFlight = new AbortController());
  const stale = () => ctl.signal.aborted || tags.join('\n') !== state.tags.join('\n');
  if (!reload) seriesMeta.textContent = 'loading…';
  try {
    let range: ResolvedRange;
    try {
      let first: number | null = null;
      if (state.range.key === 'all') {
        const firsts = await Promise.all(tags.map((t) => findEarliest(t, ctl.signal)));
        const known = firsts.filter((t): t is number => t != null);
        first = known.length ? Math.min(...known) : null;
      }
      range = resolveRange(state.range, Date.now(), first);
      errors.clear('range');
    } catch (e) {
      if (isAbort(e) || isUnauthorized(e)) return;
      errors.set('range', describe(e));
      seriesMeta.textContent = rangeLabel(state.range.key);
      return;
    }
    const results = await Promise.allSettled(tags.map((tag) => fetchSeries(tag, range.from, range.to, ctl.signal)));
    if (stale()) return;
    // Refused: the token form asks for the token, and the series is loaded again after it.
    if (results.some((r) => r.status === 'rejected' && isUnauthorized(r.reason))) return;
    const entries: { tag: string; resp: SeriesResponse }[] = [];
    const failed: string[] = [];
    results.forEach((r, i) => {
      const tag = tags[i]!;
      if (r.status === 'fulfilled') entries.push({ tag, resp: r.value });
      else if (isAbort(r.reason)) return;
      else {
        failed.push(`#${tag}: ${describe(r.reason)}`);
        entries.push({ tag, resp: { hashtag: tag, from: '', to: '', slot_minutes: 5, points: [] } });
      }
    });
    if (failed.length === tags.length) {
      errors.set('series', `Series ${failed.join('; ')}`);
      chart.showMessage(`No series: ${failed.join('; ')}`);
      showTotals();
      seriesMeta.textContent = describeRange(range);
      return;
    }
    if (failed.length) errors.set('series', `Series ${failed.join('; ')}`);
    else errors.clear('series');
    if (state.range.key === 'all') {
      // Start the chart at the first point with posts rather than at its 7-day bucket.
      const firsts = entries.flatMap((e) => (e.resp.points ?? []).filter((p) => p.count > 0).map((p) => p.t));
      if (firsts.length) range = { ...range, from: new Date(Math.min(...firsts)) };
      range = { ...range, span: range.to.getTime() - range.from.getTime() };
    }
    chart.show(entries, range, reload);
    seriesLoadedAt = Date.now();
    showTotals();
    seriesMeta.textContent = `${describeRange(range)} · ${fmtBucket(chart.slotMinutes)} buckets${range.follow === 'fixed' ? '' : ' · live'}`;
  } catch (e) {
    if (!isAbort(e) && !isUnauthorized(e)) errors.set('series', `Series: ${describe(e)}`);
  } finally {
    if (seriesInFlight === ctl) seriesInFlight = null;
  }
}

function setTags(tags: string[]): void {
  const unique = [...new Set(tags)].slice(0, MAX_SERIES);
  const changed = unique.join('\n') !== state.tags.join('\n');
  state.tags = unique;
  syncSubscriptions();
  trending.setSelected(unique[0] ?? null);
  renderSeriesHeader();
  saveHash();
  if (!unique.length) {
    seriesInFlight?.abort();
    chart.showMessage('Pick a hashtag in “Trending now” or search for one to see its series.');
    showTotals();
    seriesMeta.textContent = '';
    return;
  }
  if (changed) void loadSeries(false);
}

/** The key of a hashtag: the server's spelling as is, typed input normalised. */
function keyOf(raw: string, fromServer: boolean): string | null {
  const tag = fromServer ? raw : normalizeTag(raw);
  if (!tag) {
    errors.set('search', `“${raw}” is not a hashtag`);
    return null;
  }
  errors.clear('search');
  return tag;
}

function select(raw: string, fromServer: boolean): void {
  const tag = keyOf(raw, fromServer);
  if (tag != null) setTags([tag]);
}

function compare(raw: string, fromServer: boolean): void {
  const tag = keyOf(raw, fromServer);
  if (tag == null || state.tags.includes(tag)) return;
  if (state.tags.length >= MAX_SERIES) {
    errors.set('search', `At most ${MAX_SERIES} hashtags can be compared`);
    return;
  }
  setTags([...state.tags, tag]);
}

function removeTag(tag: string): void {
  setTags(state.tags.filter((t) => t !== tag));
  if (state.tags.length) (document.querySelector<HTMLInputElement>('[data-testid="compare-search"]'))?.focus();
  else searchInput.focus();
}

socket.on('series_update', (u: SeriesUpdate) => {
  if (!u || typeof u.hashtag !== 'string') return;
  if (subscribed.has(u.hashtag)) subscribed.set(u.hashtag, true);
  if (!state.tags.includes(u.hashtag) || seriesInFlight) return;
  if (status.epochChanged(u.epoch)) void pollStatus();
  const result = chart.merge(u);
  if (result === 'merged') showTotals();
  else if (result === 'refetch' && Date.now() - seriesLoadedAt > COARSE_REFRESH_MS) void loadSeries(true);
});

// Ranges that follow the clock are re-fetched once a minute (live points only cover the
// latest slots, and the socket may be down).
setInterval(() => {
  if (state.tags.length && state.range.key !== 'custom' && !seriesInFlight && Date.now() - seriesLoadedAt >= SERIES_REFRESH_MS) {
    void loadSeries(true);
  }
}, 5_000);

const searchInput = $<HTMLInputElement>('hashtag-search');
new HashtagSearch($<HTMLFormElement>('hashtag-search-form'), searchInput, $<HTMLUListElement>('hashtag-suggestions'), {
  onPick: (tag, suggested) => select(tag, suggested),
  onError: (m) => (m && !locked ? errors.set('suggest', m) : errors.clear('suggest')),
});
new HashtagSearch($<HTMLFormElement>('compare-form'), $<HTMLInputElement>('compare-search'), $<HTMLUListElement>('compare-suggestions'), {
  onPick: (tag, suggested) => compare(tag, suggested),
  onError: (m) => (m && !locked ? errors.set('suggest', m) : errors.clear('suggest')),
  clearOnPick: true,
});

const rangeButtons = [...document.querySelectorAll<HTMLButtonElement>('[data-range]')];
const customBox = $('custom-range');
const customFrom = $<HTMLInputElement>('custom-from');
const customTo = $<HTMLInputElement>('custom-to');

function setRange(key: RangeKey): void {
  for (const b of rangeButtons) b.setAttribute('aria-pressed', String(b.dataset.range === key));
  customBox.hidden = key !== 'custom';
  if (key === 'custom') {
    if (!customFrom.value || !customTo.value) {
      const r = resolveRange(state.range.key === 'custom' ? state.range : { key: '24h' });
      customFrom.value = toLocalInput(r.from);
      customTo.value = toLocalInput(r.to);
    }
    state.range = { key, from: new Date(customFrom.value), to: new Date(customTo.value) };
  } else {
    state.range = { key };
    errors.clear('range');
  }
  saveHash();
  void loadSeries(false);
}
for (const b of rangeButtons) b.addEventListener('click', () => setRange(b.dataset.range as RangeKey));
for (const input of [customFrom, customTo]) input.addEventListener('change', () => setRange('custom'));

// ---------------------------------------------------------------- read token

// When the server has a read token (`serving.read-token`) and the API answers 401, the page
// stops polling and closes the socket, and the token form asks for the token; once one is
// accepted, the socket reconnects with it and everything is loaded again.
const tokenForm = new TokenForm(
  {
    root: $('token-gate'),
    form: $<HTMLFormElement>('token-form'),
    input: $<HTMLInputElement>('token-input'),
    submit: $<HTMLButtonElement>('token-submit'),
    message: $('token-message'),
  },
  unlock,
);

const layout = document.querySelector<HTMLElement>('main.layout');

function lock(refusedToken: boolean): void {
  locked = true;
  if (layout) layout.inert = true; // nothing to use there until the token is given
  tokenForm.show(refusedToken);
  if (socketStarted || socket.active) {
    socketStarted = false;
    socket.disconnect();
  }
  subscribed.clear();
  trendingInFlight?.abort();
  seriesInFlight?.abort();
  setConnection('disconnected', 'read token needed');
  for (const key of ['socket', 'status', 'trending', 'series', 'range', 'suggest']) errors.clear(key);
}

function unlock(): void {
  locked = false;
  if (layout) layout.inert = false;
  startSocket();
  void pollStatus();
  void pollTrending();
  void loadSeries(false);
}

onTokenRefused(lock);
onAccessGranted(startSocket);

// ---------------------------------------------------------------- start

setInterval(() => void pollStatus(), STATUS_POLL_MS);
setWindow(state.window);
setRange(state.range.key);
void pollStatus();
const initial = params.getAll('tag').map((t) => normalizeTag(t)).filter(Boolean);
if (initial.length) setTags(initial);
else renderSeriesHeader();
