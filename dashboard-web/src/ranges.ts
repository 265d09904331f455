export type RangeKey = '1h' | '6h' | '24h' | '7d' | '30d' | '1y' | 'custom';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const RANGES: ReadonlyArray<{ key: Exclude<RangeKey, 'custom'>; label: string; ms: number }> = [
  { key: '1h', label: '1 h', ms: HOUR },
  { key: '6h', label: '6 h', ms: 6 * HOUR },
  { key: '24h', label: '24 h', ms: DAY },
  { key: '7d', label: '7 d', ms: 7 * DAY },
  { key: '30d', label: '30 d', ms: 30 * DAY },
  { key: '1y', label: '1 y', ms: 365 * DAY },
];

export interface RangeSpec {
  key: RangeKey;
  /** Only for `custom`. */
  from?: Date;
  to?: Date;
}

export interface ResolvedRange {
  from: Date;
  to: Date;
  /** Sliding ("last N") ranges follow live updates; custom ranges are fixed. */
  live: boolean;
  /** Length of a sliding range in ms. */
  span: number;
}

export function isRangeKey(s: string | null | undefined): s is RangeKey {
  return s === 'custom' || RANGES.some((r) => r.key === s);
}

export function resolveRange(spec: RangeSpec, now = Date.now()): ResolvedRange {
  if (spec.key === 'custom') {
    if (!spec.from || !spec.to) throw new Error('choose both a start and an end for the custom range');
    if (Number.isNaN(spec.from.getTime()) || Number.isNaN(spec.to.getTime())) throw new Error('custom range has an invalid date');
    if (spec.from.getTime() >= spec.to.getTime()) throw new Error('custom range: start must be before end');
    return { from: spec.from, to: spec.to, live: false, span: spec.to.getTime() - spec.from.getTime() };
  }
  const def = RANGES.find((r) => r.key === spec.key) ?? RANGES[2]!;
  return { from: new Date(now - def.ms), to: new Date(now), live: true, span: def.ms };
}
