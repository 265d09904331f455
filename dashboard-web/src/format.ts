const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const rateFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const compactFmt = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export const fmtInt = (n: number): string => intFmt.format(n);
export const fmtRate = (n: number): string => rateFmt.format(n);
export const fmtCompact = (n: number): string => compactFmt.format(n);

const pad = (n: number) => String(n).padStart(2, '0');

/** Local wall-clock time, `HH:MM:SS`. */
export function fmtClock(d: Date): string {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Compact UTC timestamp, `2026-11-23 06:20:00Z`, or the input when it is not a date. */
export function fmtUtc(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

/** Value for an `<input type="datetime-local">` in local time. */
export function toLocalInput(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * The counting key of a hashtag, as the backend normalises it (NFKC, then lowercase),
 * without a leading `#`. Returns '' for input that cannot be a hashtag.
 */
export function normalizeTag(input: string): string {
  const tag = input.trim().replace(/^#+/, '').normalize('NFKC').toLowerCase();
  return /\s/.test(tag) ? '' : tag;
}
