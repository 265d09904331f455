import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { fmtCompact, fmtInt } from './format';
import type { ResolvedRange } from './ranges';
import type { SeriesPoint, SeriesResponse } from './types';

interface Slot {
  count: number;
  batch: number | null;
  speed: number | null;
}

/** Above this many slots, missing slots are zeroed only next to the points around them. */
const MAX_GRID = 250_000;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * Time series of one hashtag: the slots fetched for a range, kept up to date by the
 * socket's `series_update` points (merged by `t`), drawn with uPlot.
 * Slots missing from the data are drawn as 0.
 */
export class SeriesChart {
  private slots = new Map<number, Slot>();
  private slotMs = 5 * 60_000;
  private range: ResolvedRange | null = null;
  private plot: uPlot | null = null;
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
    this.slots.clear();
    this.range = null;
    this.placeholder.textContent = message;
    this.container.replaceChildren(this.placeholder);
  }

  load(resp: SeriesResponse, range: ResolvedRange): void {
    this.range = { ...range };
    this.slotMs = Math.max(1, num(resp.slot_minutes) ?? 5) * 60_000;
    this.slots.clear();
    for (const p of resp.points ?? []) this.put(p);
    this.render(true);
  }

  /**
   * Merges live points (replacing slots with the same `t`). Returns false when the points
   * do not fit this chart's slot size (e.g. a long range drawn with coarser slots), in which
   * case the caller should re-fetch the range instead.
   */
  merge(points: SeriesPoint[]): boolean {
    const range = this.range;
    if (!range || !this.plot) return true;
    const ts = points.map((p) => p.t).filter((t) => Number.isFinite(t)).sort((a, b) => a - b);
    const misaligned = ts.some((t) => t % this.slotMs !== 0);
    const tooFine = ts.some((t, i) => i > 0 && t - ts[i - 1]! < this.slotMs);
    if (misaligned || tooFine) return false;

    if (range.live) {
      const to = Math.max(range.to.getTime(), Date.now(), (ts[ts.length - 1] ?? 0) + 1);
      range.to = new Date(to);
      range.from = new Date(to - range.span);
      for (const t of this.slots.keys()) if (t + this.slotMs <= range.from.getTime()) this.slots.delete(t);
    }
    for (const p of points) {
      if (!Number.isFinite(p.t)) continue;
      if (!range.live && (p.t + this.slotMs <= range.from.getTime() || p.t >= range.to.getTime())) continue;
      this.put(p);
    }
    this.render(false);
    return true;
  }

  /** Sum of the counts in the current range. */
  total(): number {
    let sum = 0;
    for (const s of this.slots.values()) sum += s.count;
    return sum;
  }

  get slotMinutes(): number {
    return this.slotMs / 60_000;
  }

  private put(p: SeriesPoint): void {
    if (!Number.isFinite(p.t)) return;
    this.slots.set(p.t, { count: num(p.count) ?? 0, batch: num(p.batch), speed: num(p.speed) });
  }

  private buildData(): uPlot.AlignedData {
    const range = this.range!;
    const step = this.slotMs;
    const keys = [...this.slots.keys()].sort((a, b) => a - b);
    let start = Math.ceil(range.from.getTime() / step) * step;
    let end = Math.floor((range.to.getTime() - 1) / step) * step;
    if (keys.length) {
      start = Math.min(start, keys[0]!);
      end = Math.max(end, keys[keys.length - 1]!);
    }
    const xs: number[] = [];
    const counts: number[] = [];
    const batch: (number | null)[] = [];
    const speed: (number | null)[] = [];
    const push = (t: number, s: Slot | undefined) => {
      xs.push(t / 1000);
      counts.push(s?.count ?? 0);
      batch.push(s ? s.batch : 0);
      speed.push(s ? s.speed : 0);
    };

    if (end >= start && (end - start) / step + 1 <= MAX_GRID) {
      for (let t = start; t <= end; t += step) push(t, this.slots.get(t));
    } else {
      // Too many slots to fill: zero only the slots bordering each gap.
      let prev = -Infinity;
      for (const t of keys) {
        if (t - prev > step) {
          if (prev !== -Infinity) push(prev + step, undefined);
          if (t - step > prev + step) push(t - step, undefined);
        }
        push(t, this.slots.get(t));
        prev = t;
      }
    }
    return [xs, counts, batch, speed];
  }

  private render(fresh: boolean): void {
    const data = this.buildData();
    if (this.plot) {
      const u = this.plot;
      const xs = u.data[0];
      const sx = u.scales.x;
      const zoomed =
        !fresh && !!sx && xs.length > 0 && sx.min != null && sx.max != null && (sx.min > xs[0]! || sx.max < xs[xs.length - 1]!);
      u.setData(data, !zoomed);
      return;
    }
    this.container.replaceChildren();
    this.plot = new uPlot(this.options(), data, this.container);
  }

  private size(): { width: number; height: number } {
    const width = Math.max(240, Math.floor(this.container.clientWidth));
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
    return {
      ...this.size(),
      scales: {
        x: { time: true },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        axis,
        { ...axis, size: 56, values: (_u, splits) => splits.map((v) => fmtCompact(v)) },
      ],
      series: [
        {},
        { label: 'posts', stroke: '#2f6fed', width: 2, fill: 'rgba(47,111,237,0.12)', points: { show: false }, value },
        { label: 'batch view', stroke: '#6b7a90', width: 1.5, dash: [5, 4], show: false, points: { show: false }, value },
        { label: 'speed view', stroke: '#e8912d', width: 1.5, show: false, points: { show: false }, value },
      ],
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
    };
  }
}
