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
 * The "Trending now" list. Rows are keyed by hashtag and updated in place, so a row the
 * user is about to click is not replaced under the pointer by the next update.
 */
export class TrendingList {
  private readonly rows = new Map<string, Row>();
  private selected: string | null = null;

  constructor(
    private readonly list: HTMLOListElement,
    private readonly empty: HTMLElement,
    onSelect: (tag: string) => void,
  ) {
    const pick = (target: EventTarget | null) => {
      const row = (target as Element | null)?.closest<HTMLElement>('[data-testid="trending-item"]');
      const tag = row?.dataset.hashtag;
      if (tag) onSelect(tag);
    };
    list.addEventListener('click', (e) => pick(e.target));
    list.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        pick(e.target);
      }
    });
  }

  render(entries: TrendingEntry[]): void {
    const max = entries.reduce((m, e) => Math.max(m, e.count), 0) || 1;
    const seen = new Set<string>();
    entries.forEach((entry, i) => {
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
      // appendChild moves an existing node: this puts the rows in rank order.
      this.list.appendChild(row.el);
    });
    for (const [tag, row] of this.rows) {
      if (!seen.has(tag)) {
        row.el.remove();
        this.rows.delete(tag);
      }
    }
    this.empty.hidden = entries.length > 0;
  }

  setSelected(tag: string | null): void {
    this.selected = tag;
    for (const [t, row] of this.rows) row.el.setAttribute('aria-selected', String(t === tag));
  }

  private createRow(tag: string): Row {
    const el = document.createElement('li');
    el.className = 'trend-row';
    el.dataset.testid = 'trending-item';
    el.dataset.hashtag = tag;
    el.tabIndex = 0;
    el.setAttribute('role', 'option');
    el.setAttribute('aria-selected', String(tag === this.selected));
    el.title = `Show the series of #${tag}`;

    const rank = span('rank');
    const name = span('tag');
    name.textContent = `#${tag}`;
    const badge = span('burst');
    badge.textContent = '▲ burst';
    badge.dataset.testid = 'burst-badge';
    badge.hidden = true;
    name.append(' ', badge);
    const bar = span('bar');
    const fill = span('bar-fill');
    bar.appendChild(fill);
    const count = span('count');
    count.dataset.testid = 'trending-count';
    el.append(rank, name, bar, count);

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
