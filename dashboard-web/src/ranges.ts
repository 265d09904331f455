export type RangeKey = '1h' | '6h' | '24h' | '7d' | '30d' | '1y' | 'all' | 'custom';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The sliding ranges ("last N"), shortest first. */
export const RANGES: ReadonlyArray<{ key: Exclude<RangeKey, 'custom' | 'all'>; label: string; ms: number }> = [
  { key: '1h', label: '1 h', ms: HOUR },
  { key: '6h', label: '6 h', ms: 6 * HOUR },
  { key: '24h', label: '24 h', ms: DAY },
  { key: '7d', label: '7 d', ms: 7 * DAY },
  { key: '30d', label: '30 d', ms: 30 * DAY },
  { key: '1y', label: '1 y', ms: 365 * DAY },
];

/**
 * Where "all history" starts looking when the server does not say where its data begins:
 * 2006-03-21, the first post on Twitter; no source this project reads has older posts.
 */
export const HISTORY_START = Date.UTC(2006, 2, 21);

export interface RangeSpec {
  key: RangeKey;
  /** Only for `custom`. */
  from?: Date;
  to?: Date;
}

export interface ResolvedRange {
  from: Date;
  to: Date;
  /**
   * How the range follows live updates: `slide` keeps its length (last N), `grow` keeps its
   * start and extends to now (all history), `fixed` does not move (custom).
   */
  follow: 'slide' | 'grow' | 'fixed';
  /** Length of a sliding range in ms. */
  span: number;
}

export function isRangeKey(s: string | null | undefined): s is RangeKey {
  return s === 'custom' || s === 'all' || RANGES.some((r) => r.key === s);
}

/**
 * The dates of a range. `earliest` (epoch ms) is where the data begins, for `all`; without
 * it `all` starts at the last day.
 */
export function resolveRange(spec: RangeSpec, now = Date.now(), earliest?: number | null): ResolvedRange {
  if (spec.key === 'custom') {
    if (!spec.from || !spec.to) throw new Error('choose both a start and an end for the custom range');
    if (Number.isNaN(spec.from.getTime()) || Number.isNaN(spec.to.getTime())) throw new Error('custom range has an invalid date');
    if (spec.from.getTime() >= spec.to.getTime()) throw new Error('custom range: start must be before end');
    return { from: spec.from, to: spec.to, follow: 'fixed', span: spec.to.getTime() - spec.from.getTime() };
  }
  if (spec.key === 'all') {
    const from = earliest != null && Number.isFinite(earliest) && earliest < now ? earliest : now - DAY;
    return { from: new Date(from), to: new Date(now), follow: 'grow', span: now - from };
  }
  const def = RANGES.find((r) => r.key === spec.key) ?? RANGES[2]!;
  return { from: new Date(now - def.ms), to: new Date(now), follow: 'slide', span: def.ms };
}

/** "last 24 h", "all history", or the dates of a custom range. */
export function rangeLabel(key: RangeKey): string {
  if (key === 'all') return 'all history';
  if (key === 'custom') return 'custom range';
  return `last ${RANGES.find((r) => r.key === key)?.label ?? key}`;
}
