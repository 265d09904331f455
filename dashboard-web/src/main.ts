import { io } from 'socket.io-client';
import { fetchSeries, fetchStatus, fetchTrending, isAbort } from './api';
import { SeriesChart } from './chart';
import { ErrorBanner } from './errors';
import { fmtClock, fmtInt, fmtRate, fmtUtc, normalizeTag, toLocalInput } from './format';
import { RANGES, isRangeKey, resolveRange, type RangeKey, type RangeSpec, type ResolvedRange } from './ranges';
import { TrendingList } from './trending';
import type { SeriesUpdate, Status, TrendingResponse } from './types';
import './style.css';

const TRENDING_LIMIT = 10;
const SOCKET_WINDOW = 15; // the window of the socket's `trending` pushes
const TRENDING_POLL_MS = 2_000;
const STATUS_POLL_MS = 5_000;
const SERIES_REFRESH_MS = 60_000;

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

const params = new URLSearchParams(location.hash.slice(1));
const state = {
  window: [5, 15, 60].includes(Number(params.get('window'))) ? Number(params.get('window')) : SOCKET_WINDOW,
  selected: null as string | null,
  range: { key: isRangeKey(params.get('range')) ? (params.get('range') as RangeKey) : '24h' } as RangeSpec,
  lastSocketTrending: 0,
  epoch: null as number | null,
};
if (state.range.key === 'custom') {
  const from = new Date(params.get('from') ?? '');
  const to = new Date(params.get('to') ?? '');
  state.range = Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) ? { key: '24h' } : { key: 'custom', from, to };
}

function saveHash(): void {
  const p = new URLSearchParams();
  if (state.selected) p.set('tag', state.selected);
  p.set('range', state.range.key);
  if (state.range.key === 'custom' && state.range.from && state.range.to) {
    p.set('from', state.range.from.toISOString());
    p.set('to', state.range.to.toISOString());
  }
  if (state.window !== SOCKET_WINDOW) p.set('window', String(state.window));
  history.replaceState(null, '', `#${p}`);
}

// ---------------------------------------------------------------- socket

const conn = $('connection-status');
function setConnection(kind: 'connecting' | 'connected' | 'reconnecting' | 'disconnected', label: string): void {
  conn.dataset.state = kind;
  conn.querySelector('.conn-label')!.textContent = label;
}

const socket = io({ reconnectionDelayMax: 5_000 });
socket.on('connect', () => {
  setConnection('connected', 'live');
  errors.clear('socket');
  if (state.selected) socket.emit('subscribe', state.selected);
});
socket.on('disconnect', (reason) => {
  setConnection('reconnecting', 'reconnecting…');
  if (reason === 'io server disconnect') socket.connect(); // the server hung up: dial again
});
socket.on('connect_error', (e) => {
  if (conn.dataset.state !== 'reconnecting') setConnection('reconnecting', 'reconnecting…');
  errors.set('socket', `Live updates unavailable (${e.message}); retrying. Trending falls back to polling.`);
});
socket.io.on('reconnect_attempt', (n) => setConnection('reconnecting', `reconnecting… (${n})`));
socket.io.on('reconnect_failed', () => setConnection('disconnected', 'offline'));

// ---------------------------------------------------------------- trending

const trending = new TrendingList($<HTMLOListElement>('trending-list'), $('trending-empty'), (tag) => select(tag));
const lastUpdate = $('last-update');
const trendingSource = $('trending-source');
const suggestions = document.getElementById('hashtag-suggestions') as HTMLDataListElement;

function showTrending(data: TrendingResponse, via: 'live' | 'polled'): void {
  const list = Array.isArray(data.hashtags) ? data.hashtags.filter((h) => h && typeof h.hashtag === 'string') : [];
  trending.render(list);
  trending.setSelected(state.selected);
  const now = new Date();
  lastUpdate.textContent = fmtClock(now);
  lastUpdate.setAttribute('datetime', now.toISOString());
  lastUpdate.title = `data as of ${fmtUtc(data.as_of)}`;
  trendingSource.textContent = `· ${via} · as of ${fmtUtc(data.as_of)}`;
  suggestions.replaceChildren(...list.map((h) => new Option(`#${h.hashtag}`, h.hashtag)));
}

socket.on('trending', (data: TrendingResponse) => {
  if (!data || (data.window_minutes ?? SOCKET_WINDOW) !== state.window) return;
  state.lastSocketTrending = Date.now();
  errors.clear('trending');
  showTrending(data, 'live');
});

let trendingInFlight: AbortController | null = null;
async function pollTrending(): Promise<void> {
  const minutes = state.window;
  trendingInFlight?.abort();
  const ctl = (trendingInFlight = new AbortController());
  try {
    const data = await fetchTrending(minutes, TRENDING_LIMIT, ctl.signal);
    if (minutes !== state.window) return;
    errors.clear('trending');
    showTrending(data, 'polled');
  } catch (e) {
    if (!isAbort(e)) errors.set('trending', `Trending (${minutes} min): ${describe(e)}`);
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
let seriesInFlight: AbortController | null = null;
let seriesLoadedAt = 0;

function showTotal(): void {
  const total = chart.total();
  seriesTotal.textContent = fmtInt(total);
  seriesTotal.dataset.total = String(total);
}

function fmtSlot(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440}-day`;
  if (minutes % 60 === 0) return `${minutes / 60}-h`;
  return `${minutes}-min`;
}

function describeRange(r: ResolvedRange): string {
  if (r.live) return `last ${RANGES.find((x) => x.key === state.range.key)?.label ?? ''}`;
  return `${fmtUtc(r.from.toISOString())} → ${fmtUtc(r.to.toISOString())}`;
}

async function loadSeries(): Promise<void> {
  const tag = state.selected;
  if (!tag) return;
  let range: ResolvedRange;
  try {
    range = resolveRange(state.range);
    errors.clear('range');
  } catch (e) {
    errors.set('range', describe(e));
    return;
  }
  seriesInFlight?.abort();
  const ctl = (seriesInFlight = new AbortController());
  seriesMeta.textContent = 'loading…';
  try {
    const resp = await fetchSeries(tag, range.from, range.to, ctl.signal);
    if (tag !== state.selected) return;
    chart.load(resp, range);
    seriesLoadedAt = Date.now();
    errors.clear('series');
    showTotal();
    seriesMeta.textContent = `${describeRange(range)} · ${fmtSlot(chart.slotMinutes)} slots`;
  } catch (e) {
    if (isAbort(e)) return;
    errors.set('series', `Series for #${tag}: ${describe(e)}`);
    chart.showMessage(`No series for #${tag}: ${describe(e)}`);
    seriesTotal.textContent = '0';
    seriesTotal.dataset.total = '0';
    seriesMeta.textContent = describeRange(range);
  } finally {
    if (seriesInFlight === ctl) seriesInFlight = null;
  }
}

function select(raw: string): void {
  const tag = normalizeTag(raw);
  if (!tag) {
    errors.set('search', `"${raw}" is not a hashtag`);
    return;
  }
  errors.clear('search');
  if (state.selected && state.selected !== tag && socket.connected) socket.emit('unsubscribe', state.selected);
  const changed = state.selected !== tag;
  state.selected = tag;
  if (changed && socket.connected) socket.emit('subscribe', tag);
  seriesTitle.textContent = `#${tag}`;
  trending.setSelected(tag);
  saveHash();
  void loadSeries();
}

socket.on('series_update', (u: SeriesUpdate) => {
  if (!u || u.hashtag !== state.selected || !Array.isArray(u.points) || seriesInFlight) return;
  if (chart.merge(u.points)) showTotal();
  else if (Date.now() - seriesLoadedAt > 30_000) void loadSeries(); // coarser slots: re-fetch now and then
});

// Sliding ranges are re-fetched once a minute (live points only cover the latest slots).
setInterval(() => {
  if (state.selected && state.range.key !== 'custom' && !seriesInFlight && Date.now() - seriesLoadedAt >= SERIES_REFRESH_MS) {
    void loadSeries();
  }
}, 5_000);

const searchForm = $<HTMLFormElement>('hashtag-search-form');
const searchInput = $<HTMLInputElement>('hashtag-search');
searchForm.addEventListener('submit', (e) => {
  e.preventDefault();
  if (searchInput.value.trim()) select(searchInput.value);
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
  void loadSeries();
}
for (const b of rangeButtons) b.addEventListener('click', () => setRange(b.dataset.range as RangeKey));
for (const input of [customFrom, customTo]) input.addEventListener('change', () => setRange('custom'));

// ---------------------------------------------------------------- status

const pps = $('posts-per-second');
const activeView = $('active-view');
const provenance = $('provenance');

function showStatus(s: Status): void {
  pps.textContent = typeof s.posts_per_second === 'number' ? fmtRate(s.posts_per_second) : '—';
  const a = s.active;
  const recompute = s.recompute ? ` · recompute: ${s.recompute.phase ?? 'running'}` : '';
  if (!a) {
    activeView.textContent = 'no active view';
    provenance.textContent = `Numbers: no active view yet${recompute}`;
    return;
  }
  activeView.textContent = `epoch ${a.epoch} · ${a.batch} + ${a.speed}`;
  const cut = a.cut && Object.keys(a.cut).length
    ? Object.entries(a.cut)
        .sort(([x], [y]) => Number(x) - Number(y))
        .map(([p, o]) => `${p}:${o}`)
        .join(', ')
    : '';
  const version = a.view_version != null ? `, view v${a.view_version}` : '';
  const flipped = a.flipped_at ? `, flipped ${fmtUtc(a.flipped_at)}` : '';
  provenance.textContent = `Numbers from ${a.batch} + ${a.speed}, epoch ${a.epoch}, cut {${cut}}${version}${flipped}${recompute}`;
  provenance.title = `Batch view ${a.batch} (computed up to the log offsets in the cut) merged with speed view ${a.speed}.`;
  if (state.epoch !== null && state.epoch !== a.epoch) void loadSeries(); // the views flipped: reload
  state.epoch = a.epoch;
}

async function pollStatus(): Promise<void> {
  try {
    showStatus(await fetchStatus());
    errors.clear('status');
  } catch (e) {
    errors.set('status', `Status: ${describe(e)}`);
  }
}
setInterval(() => void pollStatus(), STATUS_POLL_MS);

// ---------------------------------------------------------------- start

setWindow(state.window);
setRange(state.range.key);
void pollStatus();
const initialTag = params.get('tag');
if (initialTag) select(initialTag);
