import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { fmtCompact, fmtInt } from './format';
import type { ResolvedRange } from './ranges';
import type { SeriesResponse, SeriesUpdate } from './types';

/** One slot of one hashtag and the epoch of the pair that counted it. */
interface Slot {
  count: number;
  epoch: number;
}

/** Series colours, in the order hashtags are added. */
export const COLORS = ['#2f6fed', '#e8590c', '#0ca678', '#ae3ec9', '#d6336c'] as const;
export const MAX_SERIES = COLORS.length;

/** Above this many slots, missing slots are zeroed only next to the points around them. */
const MAX_GRID = 250_000;
const FIVE_MIN = 5 * 60_000;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const epochOf = (v: unknown): number => num(v) ?? 0;

/**
 * Stores a point unless it is older news: within one epoch (one batch/speed pair) a slot's
 * count only grows, so a smaller count is an earlier reading and is ignored; a later epoch
 * replaces the slot whatever its count (a recompute may correct it), an earlier one is ignored.
 */
function put(slots: Map<number, Slot>, t: number, count: number, epoch: number): void {
  const old = slots.get(t);
  if (!old || epoch > old.epoch || (epoch === old.epoch && count > old.count)) slots.set(t, { count, epoch });
}

export type MergeResult = 'merged' | 'ignored' | 'refetch';

/**
 * Time series of one or several hashtags over one range, drawn with uPlot: the buckets fetched
 * for the range, kept up to date by the socket's `series_update` points. Slots missing from the
 * data are drawn as 0. The container's `data-x-min`/`data-x-max` (epoch ms) give the drawn x range
 * and `data-series-count` the number of hashtags drawn.
 */
export class SeriesChart {
  private tags: string[] = [];
  private readonly data = new Map<string, Map<number, Slot>>();
  private slotMs = FIVE_MIN;
  private range: ResolvedRange | null = null;
  private plot: uPlot | null = null;
  private plotTags = '';
  private readonly placeholder: HTMLDivElement;

  constructor(private readonly container: HTMLElement) {
    this.placeholder = document.createElement('div');
    this.placeholder.className = 'chart-empty';
    // Resize on the next frame: resizing inside the observer callback would trigger the
    // "ResizeObserver loop" error when the chart's own height changes.
    let pending = 0;
    new ResizeObserver(() => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => this.resize());
    }).observe(container);
  }

  /** Shows a message instead of a chart. */
  showMessage(message: string): void {
    this.plot?.destroy();
    this.plot = null;
    this.plotTags = '';
    this.tags = [];
    this.data.clear();
    this.range = null;
    this.placeholder.textContent = message;
    this.container.replaceChildren(this.placeholder);
    this.container.dataset.seriesCount = '0';
    delete this.container.dataset.xMin;
    delete this.container.dataset.xMax;
  }

  /**
   * Draws the series of `entries` (in that order) over `range`. With `reload`, a re-fetch of
   * the same range and bucket size, the points are merged with those already shown (see `put`);
   * otherwise they replace them.
   */
  show(entries: ReadonlyArray<{ tag: string; resp: SeriesResponse }>, range: ResolvedRange, reload: boolean): void {
    const slotMs = Math.max(1, num(entries[0]?.resp.slot_minutes) ?? 5) * 60_000;
    const fresh = !reload || slotMs !== this.slotMs || !this.range;
    this.slotMs = slotMs;
    this.range = { ...range };
    this.tags = entries.map((e) => e.tag);
    for (const tag of [...this.data.keys()]) if (fresh || !this.tags.includes(tag)) this.data.delete(tag);
    for (const { tag, resp } of entries) {
      let slots = this.data.get(tag);
      if (!slots) this.data.set(tag, (slots = new Map()));
      const epoch = epochOf(resp.epoch);
      const seen = new Set<number>();
      for (const p of resp.points ?? []) {
        if (!Number.isFinite(p.t)) continue;
        seen.add(p.t);
        put(slots, p.t, num(p.count) ?? 0, epoch);
      }
      // A slot the answer leaves out has no posts: a later epoch may have corrected it to 0.
      for (const [t, s] of slots) if (!seen.has(t) && epoch > s.epoch && t >= range.from.getTime() - slotMs) slots.delete(t);
    }
    this.prune();
    this.render(fresh);
  }

  /**
   * Merges a live update (5-minute slots). Returns `refetch` when the points do not fit this
   * chart's buckets (a long range drawn with coarser buckets): the caller re-fetches instead.
   */
  merge(u: SeriesUpdate): MergeResult {
    const range = this.range;
    const slots = this.data.get(u.hashtag);
    if (!range || !this.plot || !slots || !Array.isArray(u.points)) return 'ignored';
    const ts = u.points.map((p) => p.t).filter((t) => Number.isFinite(t));
    if (this.slotMs !== FIVE_MIN || ts.some((t) => t % FIVE_MIN !== 0)) return 'refetch';
    const last = Math.max(0, ...ts);
    if (range.follow !== 'fixed') {
      const to = Math.max(range.to.getTime(), Date.now(), last + 1);
      range.to = new Date(to);
      if (range.follow === 'slide') range.from = new Date(to - range.span);
    }
    const epoch = epochOf(u.epoch);
    for (const p of u.points) {
      if (!Number.isFinite(p.t)) continue;
      if (range.follow === 'fixed' && (p.t + this.slotMs <= range.from.getTime() || p.t >= range.to.getTime())) continue;
      put(slots, p.t, num(p.count) ?? 0, epoch);
    }
    this.prune();
    this.render(false);
    return 'merged';
  }

  /** Sum of the counts of `tag` in the current range. */
  total(tag: string): number {
    let sum = 0;
    for (const s of this.data.get(tag)?.values() ?? []) sum += s.count;
    return sum;
  }

  /** The newest epoch among the points of `tag`. */
  epoch(tag: string): number | null {
    let e: number | null = null;
    for (const s of this.data.get(tag)?.values() ?? []) e = Math.max(e ?? s.epoch, s.epoch);
    return e;
  }

  get slotMinutes(): number {
    return this.slotMs / 60_000;
  }

  get currentRange(): ResolvedRange | null {
    return this.range;
  }

  /** Drops the slots a sliding range has left behind. */
  private prune(): void {
    const range = this.range;
    if (!range || range.follow !== 'slide') return;
    const from = range.from.getTime();
    for (const slots of this.data.values()) for (const t of slots.keys()) if (t + this.slotMs <= from) slots.delete(t);
  }

  private buildData(): uPlot.AlignedData {
    const range = this.range!;
    const step = this.slotMs;
    const all = new Set<number>();
    for (const tag of this.tags) for (const t of this.data.get(tag)?.keys() ?? []) all.add(t);
    const keys = [...all].sort((a, b) => a - b);
    let start = Math.floor(range.from.getTime() / step) * step;
    let end = Math.floor((range.to.getTime() - 1) / step) * step;
    if (keys.length) {
      start = Math.min(start, keys[0]!);
      end = Math.max(end, keys[keys.length - 1]!);
    }
    let xs: number[] = [];
    if (end >= start && (end - start) / step + 1 <= MAX_GRID) {
      for (let t = start; t <= end; t += step) xs.push(t);
    } else {
      // Too many slots to fill: zero only the slots bordering each gap.
      const set = new Set<number>(keys);
      for (const t of keys) {
        set.add(t - step);
        set.add(t + step);
      }
      xs = [...set].sort((a, b) => a - b);
    }
    const ys = this.tags.map((tag) => {
      const slots = this.data.get(tag);
      return xs.map((t) => slots?.get(t)?.count ?? 0);
    });
    return [xs.map((t) => t / 1000), ...ys];
  }

  private render(fresh: boolean): void {
    if (!this.range) return;
    const data = this.buildData();
    const key = JSON.stringify(this.tags);
    if (this.plot && key === this.plotTags) {
      const u = this.plot;
      const xs = u.data[0];
      const sx = u.scales.x;
      const zoomed =
        !fresh && !!sx && xs.length > 0 && sx.min != null && sx.max != null && (sx.min > xs[0]! || sx.max < xs[xs.length - 1]!);
      u.setData(data, !zoomed);
    } else {
      this.plot?.destroy();
      this.container.replaceChildren();
      this.plot = new uPlot(this.options(), data, this.container);
      this.plotTags = key;
    }
    this.container.dataset.seriesCount = String(this.tags.length);
    this.container.dataset.slotMinutes = String(this.slotMs / 60_000);
    if (this.plot) this.publishScale(this.plot);
  }

  private publishScale(u: uPlot): void {
    const sx = u.scales.x;
    if (sx?.min != null && sx.max != null) {
      this.container.dataset.xMin = String(Math.round(sx.min * 1000));
      this.container.dataset.xMax = String(Math.round(sx.max * 1000));
    }
  }

  private size(): { width: number; height: number } {
    const width = Math.max(200, Math.floor(this.container.clientWidth));
    return { width, height: width < 600 ? 220 : 300 };
  }

  private resize(): void {
    if (!this.plot) return;
    const s = this.size();
    if (s.width !== this.plot.width || s.height !== this.plot.height) this.plot.setSize(s);
  }

  private options(): uPlot.Options {
    const value = (_u: uPlot, v: number | null) => (v == null ? '—' : fmtInt(v));
    const axis = { stroke: '#5b6472', grid: { stroke: '#eceff3', width: 1 }, ticks: { stroke: '#dfe3e8', width: 1 } };
    const single = this.tags.length === 1;
    return {
      ...this.size(),
      scales: {
        // One bucket of data (all history on a new server) spans that bucket, not uPlot's
        // default of 86,400 units (1,000 days in milliseconds).
        x: {
          time: true,
          range: (u, min, max) => ((u.data?.[0]?.length ?? 0) <= 1 ? [min, min + this.slotMs / 1000] : [min, max]),
        },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [axis, { ...axis, size: 52, values: (_u, splits) => splits.map((v) => fmtCompact(v)) }],
      series: [
        {},
        ...this.tags.map((tag, i) => ({
          label: `#${tag}`,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          fill: single ? 'rgba(47,111,237,0.10)' : undefined,
          // shown by uPlot when the points are far enough apart (and for a single bucket)
          points: { size: 6, fill: COLORS[i % COLORS.length] },
          value,
        })),
      ],
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
      hooks: { setScale: [(u, key) => key === 'x' && this.publishScale(u)] },
    };
  }
}
