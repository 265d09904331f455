import { fmtCompact, fmtInt, fmtRate, fmtUtc } from './format';
import type { Status } from './types';

export interface StatusElements {
  epoch: HTMLElement;
  freshness: HTMLElement;
  pps: HTMLElement;
  lag: HTMLElement;
  view: HTMLElement;
  provenance: HTMLElement;
}

/** Freshness above this many seconds is shown as a warning, above `STALE_S` as stale. */
const LATE_S = 10;
const STALE_S = 60;

/**
 * Posts in the event log that master ingest has not written yet: the sum over partitions of
 * the log's end offset minus master ingest's offset (or log records minus master rows).
 */
export function ingestLag(s: Status): number | null {
  const ends = s.log?.end_offsets;
  const done = s.master?.ingested;
  if (ends && typeof ends === 'object' && done && typeof done === 'object') {
    let lag = 0;
    for (const [p, end] of Object.entries(ends)) {
      if (typeof end === 'number') lag += Math.max(0, end - (typeof done[p] === 'number' ? done[p]! : 0));
    }
    return lag;
  }
  const records = s.log?.records;
  const rows = s.master?.rows;
  return typeof records === 'number' && typeof rows === 'number' ? Math.max(0, records - rows) : null;
}

function fmtAge(seconds: number): string {
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `${Math.floor(seconds / 3600)} h ago`;
}

/**
 * The status bar: epoch of the active pair, freshness of the numbers (age of the newest
 * `as_of`, ticking every second), posts per second and ingest lag, the pair's tables; and the
 * provenance line in the footer.
 */
export class StatusBar {
  private epoch: number | null = null;
  private asOf: number | null = null;

  constructor(private readonly el: StatusElements) {
    setInterval(() => this.tick(), 1_000);
  }

  /** Shows a status; returns true when the active pair changed since the last one. */
  show(s: Status): boolean {
    const { el } = this;
    el.pps.textContent = typeof s.posts_per_second === 'number' ? fmtRate(s.posts_per_second) : '—';

    const lag = ingestLag(s);
    if (lag == null) {
      el.lag.textContent = '—';
      delete el.lag.dataset.lag;
    } else {
      const pps = typeof s.posts_per_second === 'number' ? s.posts_per_second : 0;
      const secs = pps > 0 ? lag / pps : null;
      el.lag.textContent = `${fmtCompact(lag)} posts${secs != null ? ` · ${secs < 10 ? secs.toFixed(1) : fmtInt(secs)} s` : ''}`;
      el.lag.dataset.lag = String(lag);
      el.lag.title = `${fmtInt(lag)} posts in the event log not yet in the master dataset`;
    }

    const a = s.active;
    const recompute = s.recompute ? ` · recompute: ${s.recompute.phase ?? 'running'}` : '';
    if (!a) {
      el.epoch.textContent = '—';
      el.view.textContent = 'no active view';
      el.provenance.textContent = `Numbers: no active view yet${recompute}`;
      return false;
    }
    // Epochs only grow (a flip and a rollback each make a new one). An older one comes from a
    // replica that has not seen the latest flip yet: keep showing the newer pair.
    if (this.isOlder(a.epoch)) return false;
    const changed = this.epoch !== null && this.epoch !== a.epoch;
    this.epoch = a.epoch;
    el.epoch.textContent = String(a.epoch);
    el.epoch.dataset.epoch = String(a.epoch);
    if (changed) {
      el.epoch.classList.remove('flipped');
      void el.epoch.offsetWidth; // restart the animation
      el.epoch.classList.add('flipped');
    }
    el.view.textContent = `${a.batch} + ${a.speed}`;
    const cut = a.cut && Object.keys(a.cut).length
      ? Object.entries(a.cut)
          .sort(([x], [y]) => Number(x) - Number(y))
          .map(([p, o]) => `${p}:${o}`)
          .join(', ')
      : '';
    const version = a.view_version != null ? `, view v${a.view_version}` : '';
    const flipped = a.flipped_at ? `, flipped ${fmtUtc(a.flipped_at)}` : '';
    el.provenance.textContent = `Numbers from ${a.batch} + ${a.speed}, epoch ${a.epoch}, cut {${cut}}${version}${flipped}${recompute}`;
    el.provenance.title = `Batch view ${a.batch} (computed up to the log offsets in the cut) merged with speed view ${a.speed}.`;
    return changed;
  }

  /** True when `epoch` (from a push) is newer than the shown one: time to ask for the status. */
  epochChanged(epoch: unknown): boolean {
    return typeof epoch === 'number' && this.epoch !== null && epoch > this.epoch;
  }

  /** True when `epoch` is older than the shown one (from a replica behind on a flip). */
  isOlder(epoch: unknown): boolean {
    return typeof epoch === 'number' && this.epoch !== null && epoch < this.epoch;
  }

  /** Records the `as_of` of the newest numbers. */
  fresh(asOf: string | null | undefined): void {
    const t = asOf ? Date.parse(asOf) : NaN;
    if (Number.isFinite(t) && (this.asOf == null || t > this.asOf)) this.asOf = t;
    this.tick();
  }

  private tick(): void {
    const f = this.el.freshness;
    if (this.asOf == null) return;
    const age = Math.max(0, Math.round((Date.now() - this.asOf) / 1000));
    f.textContent = fmtAge(age);
    f.dataset.ageSeconds = String(age);
    f.dataset.state = age > STALE_S ? 'stale' : age > LATE_S ? 'late' : 'ok';
    f.title = `Newest numbers as of ${fmtUtc(new Date(this.asOf).toISOString())}`;
  }
}
