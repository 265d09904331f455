import { fmtInt } from './format';
import type { TrendingEntry } from './types';

/** A burst score at or above this shows a badge (the server's threshold too). */
export const BURST_THRESHOLD = 3;

interface Row {
  el: HTMLLIElement;
  rank: HTMLSpanElement;
  badge: HTMLSpanElement;
  fill: HTMLSpanElement;
  count: HTMLSpanElement;
  value: number;
}

/**
 * The "Trending now" list, a listbox: one tab stop (the current row), arrow keys, Home and End
 * move between rows, Enter or Space (or a click) shows the row's hashtag. Rows are keyed by
 * hashtag and updated in place, so a row under the pointer or holding the focus is not replaced
 * by the next update. Hashtags are only ever set as text.
 */
export class TrendingList {
  private readonly rows = new Map<string, Row>();
  private selected: string | null = null;
  /** The row that holds the list's tab stop. */
  private current: string | null = null;

  constructor(
    private readonly list: HTMLOListElement,
    private readonly empty: HTMLElement,
    onSelect: (tag: string) => void,
  ) {
    const rowOf = (target: EventTarget | null) =>
      (target as Element | null)?.closest<HTMLLIElement>('[data-testid="trending-item"]') ?? null;
    list.addEventListener('click', (e) => {
      const row = rowOf(e.target);
      const tag = row?.dataset.hashtag;
      if (row && tag != null) {
        this.setCurrent(tag, true);
        onSelect(tag);
      }
    });
    list.addEventListener('focusin', (e) => {
      const tag = rowOf(e.target)?.dataset.hashtag;
      if (tag != null) this.setCurrent(tag, false);
    });
    list.addEventListener('keydown', (e) => {
      const row = rowOf(e.target);
      if (!row) return;
      const els = this.ordered();
      const i = els.indexOf(row);
      let next: HTMLLIElement | undefined;
      switch (e.key) {
        case 'Enter':
        case ' ':
          e.preventDefault();
          if (row.dataset.hashtag != null) onSelect(row.dataset.hashtag);
          return;
        case 'ArrowDown':
          next = els[Math.min(els.length - 1, i + 1)];
          break;
        case 'ArrowUp':
          next = els[Math.max(0, i - 1)];
          break;
        case 'Home':
          next = els[0];
          break;
        case 'End':
          next = els[els.length - 1];
          break;
        default:
          return;
      }
      e.preventDefault();
      if (next?.dataset.hashtag != null) this.setCurrent(next.dataset.hashtag, true);
    });
  }

  render(entries: TrendingEntry[]): void {
    const max = entries.reduce((m, e) => Math.max(m, e.count), 0) || 1;
    const seen = new Set<string>();
    const focusedIndex = this.ordered().findIndex((el) => el === document.activeElement);
    entries.forEach((entry, i) => {
      if (seen.has(entry.hashtag)) return;
      seen.add(entry.hashtag);
      const row = this.rows.get(entry.hashtag) ?? this.createRow(entry.hashtag);
      row.rank.textContent = String(i + 1);
      const burst = typeof entry.burst === 'number' && Number.isFinite(entry.burst) ? entry.burst : 0;
      row.badge.hidden = burst < BURST_THRESHOLD;
      row.badge.title = `Burst score ${burst.toFixed(1)}: the last five minutes against the hour before`;
      row.badge.setAttribute('aria-label', `bursting, score ${burst.toFixed(1)}`);
      row.el.dataset.burst = burst.toFixed(1);
      row.fill.style.width = `${Math.max(1.5, (entry.count / max) * 100).toFixed(1)}%`;
      if (row.value !== entry.count) {
        const grew = row.value >= 0 && entry.count > row.value;
        row.value = entry.count;
        row.count.textContent = fmtInt(entry.count);
        row.el.dataset.count = String(entry.count);
        if (grew) flash(row.el);
      }
      if (!row.el.isConnected) this.list.appendChild(row.el);
    });
    this.reorder(entries);
    for (const [tag, row] of this.rows) {
      if (!seen.has(tag)) {
        row.el.remove();
        this.rows.delete(tag);
      }
    }
    this.empty.hidden = entries.length > 0;
    // Keep exactly one tab stop; if the focused row went away, focus its successor.
    const els = this.ordered();
    if (this.current == null || !this.rows.has(this.current)) {
      const fallback = focusedIndex >= 0 ? els[Math.min(focusedIndex, els.length - 1)] : undefined;
      const tag = fallback?.dataset.hashtag ?? (this.selected != null && this.rows.has(this.selected) ? this.selected : els[0]?.dataset.hashtag);
      this.current = tag ?? null;
      if (fallback && focusedIndex >= 0 && document.activeElement === document.body) fallback.focus();
    }
    this.syncTabStops();
  }

  setSelected(tag: string | null): void {
    this.selected = tag;
    for (const [t, row] of this.rows) row.el.setAttribute('aria-selected', String(t === tag));
    if (tag != null && this.rows.has(tag) && !this.list.contains(document.activeElement)) {
      this.current = tag;
      this.syncTabStops();
    }
  }

  private ordered(): HTMLLIElement[] {
    return [...this.list.querySelectorAll<HTMLLIElement>(':scope > [data-testid="trending-item"]')];
  }

  /**
   * Puts the rows in rank order. Moving the focused row would blur it, so it stays where it is
   * and the others are moved around it.
   */
  private reorder(entries: TrendingEntry[]): void {
    const want = entries.map((e) => this.rows.get(e.hashtag)?.el).filter((el): el is HTMLLIElement => !!el);
    const pinned = want.indexOf(document.activeElement as HTMLLIElement);
    const place = (el: HTMLLIElement, after: ChildNode | null) => {
      const before = after ? after.nextSibling : this.list.firstChild;
      if (before !== el) this.list.insertBefore(el, before);
    };
    if (pinned < 0) {
      want.forEach((el, i) => place(el, i ? want[i - 1]! : null));
      return;
    }
    const focused = want[pinned]!;
    for (let i = 0; i < pinned; i++) this.list.insertBefore(want[i]!, focused);
    for (let i = pinned + 1; i < want.length; i++) place(want[i]!, want[i - 1]!);
  }

  private setCurrent(tag: string, focus: boolean): void {
    this.current = tag;
    this.syncTabStops();
    if (focus) this.rows.get(tag)?.el.focus();
  }

  private syncTabStops(): void {
    for (const [t, row] of this.rows) row.el.tabIndex = t === this.current ? 0 : -1;
  }

  private createRow(tag: string): Row {
    const el = document.createElement('li');
    el.className = 'trend-row';
    el.dataset.testid = 'trending-item';
    el.dataset.hashtag = tag;
    el.tabIndex = -1;
    el.setAttribute('role', 'option');
    el.setAttribute('aria-selected', String(tag === this.selected));
    el.title = `Show the series of #${tag}`;

    const rank = span('rank');
    rank.setAttribute('aria-hidden', 'true');
    // [rank] [#hashtag ▲burst / bar of the count relative to the top] [count]
    const main = span('trend-main');
    const name = span('tag');
    const text = span('tag-text');
    text.textContent = `#${tag}`;
    const badge = span('burst');
    badge.textContent = '▲ burst';
    badge.dataset.testid = 'burst-badge';
    badge.hidden = true;
    name.append(text, badge);
    const bar = span('bar');
    bar.setAttribute('aria-hidden', 'true');
    const fill = span('bar-fill');
    bar.appendChild(fill);
    main.append(name, bar);
    const count = span('count');
    count.dataset.testid = 'trending-count';
    el.append(rank, main, count);

    const row: Row = { el, rank, badge, fill, count, value: -1 };
    this.rows.set(tag, row);
    return row;
  }
}

function span(cls: string): HTMLSpanElement {
  const s = document.createElement('span');
  s.className = cls;
  return s;
}

function flash(el: HTMLElement): void {
  el.classList.remove('bumped');
  void el.offsetWidth; // restart the CSS animation
  el.classList.add('bumped');
}
