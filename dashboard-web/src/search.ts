import { isAbort, searchHashtags } from './api';
import { fmtCompact, fmtInt, normalizeTag } from './format';

const DEBOUNCE_MS = 150;
const SUGGESTIONS = 8;
let ids = 0;

export interface SearchOptions {
  /** Called with a suggestion (`suggested`: the server's spelling) or with what was typed. */
  onPick: (tag: string, suggested: boolean) => void;
  onError: (message: string | null) => void;
  /** Empty the input after a pick (for "add to compare"). */
  clearOnPick?: boolean;
}

/**
 * A hashtag input with autocompletion from `GET /api/v1/hashtags?prefix=` (the ARIA combobox
 * pattern: arrow keys move through the suggestions, Enter picks one or submits what was typed,
 * Escape closes). Suggestions are rendered as text only.
 */
export class HashtagSearch {
  private timer = 0;
  private inFlight: AbortController | null = null;
  private options: HTMLLIElement[] = [];
  private active = -1;
  private readonly id = `suggestion-${++ids}`;

  constructor(
    form: HTMLFormElement,
    private readonly input: HTMLInputElement,
    private readonly list: HTMLUListElement,
    private readonly opts: SearchOptions,
  ) {
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', list.id);
    list.setAttribute('role', 'listbox');
    list.hidden = true;

    input.addEventListener('input', () => {
      clearTimeout(this.timer);
      this.timer = window.setTimeout(() => void this.suggest(), DEBOUNCE_MS);
    });
    input.addEventListener('keydown', (e) => this.onKey(e));
    input.addEventListener('blur', () => window.setTimeout(() => this.close(), 120));
    input.addEventListener('focus', () => {
      if (this.input.value.trim()) void this.suggest();
    });
    // mousedown would blur the input (and close the list) before the click lands.
    list.addEventListener('mousedown', (e) => e.preventDefault());
    list.addEventListener('click', (e) => {
      const li = (e.target as Element | null)?.closest<HTMLLIElement>('[data-testid="suggestion"]');
      if (li?.dataset.hashtag != null) this.pick(li.dataset.hashtag, true);
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const chosen = this.options[this.active];
      if (chosen?.dataset.hashtag != null) this.pick(chosen.dataset.hashtag, true);
      else if (this.input.value.trim()) this.pick(this.input.value, false);
    });
  }

  focus(): void {
    this.input.focus();
  }

  private pick(tag: string, suggested: boolean): void {
    this.close();
    this.input.value = this.opts.clearOnPick ? '' : suggested ? tag : this.input.value.trim();
    this.opts.onPick(tag, suggested);
  }

  private onKey(e: KeyboardEvent): void {
    const open = !this.list.hidden && this.options.length > 0;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!open) {
        void this.suggest();
        return;
      }
      e.preventDefault();
      const n = this.options.length;
      this.setActive(e.key === 'ArrowDown' ? (this.active + 1) % n : (this.active - 1 + n) % n);
    } else if (e.key === 'Escape') {
      if (!this.list.hidden) {
        e.preventDefault();
        this.close();
      }
    }
  }

  private setActive(i: number): void {
    this.active = i;
    this.options.forEach((li, j) => li.setAttribute('aria-selected', String(j === i)));
    const li = this.options[i];
    if (li) {
      this.input.setAttribute('aria-activedescendant', li.id);
      li.scrollIntoView({ block: 'nearest' });
    } else {
      this.input.removeAttribute('aria-activedescendant');
    }
  }

  private async suggest(): Promise<void> {
    const typed = this.input.value;
    const prefix = normalizeTag(typed);
    this.inFlight?.abort();
    if (!prefix) {
      this.close();
      return;
    }
    const ctl = (this.inFlight = new AbortController());
    try {
      const resp = await searchHashtags(prefix, SUGGESTIONS, ctl.signal);
      if (this.input.value !== typed || document.activeElement !== this.input) return;
      const tags = Array.isArray(resp.hashtags) ? resp.hashtags.filter((t): t is string => typeof t === 'string') : [];
      const counts = Array.isArray(resp.counts) && resp.counts.length === tags.length ? resp.counts : [];
      this.render(tags, counts, prefix);
      this.opts.onError(null);
    } catch (e) {
      if (!isAbort(e)) this.opts.onError(`Hashtag search: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      if (this.inFlight === ctl) this.inFlight = null;
    }
  }

  private render(tags: string[], counts: number[], prefix: string): void {
    this.options = tags.slice(0, SUGGESTIONS).map((tag, i) => {
      const li = document.createElement('li');
      li.id = `${this.id}-${i}`;
      li.className = 'suggestion';
      li.dataset.testid = 'suggestion';
      li.dataset.hashtag = tag;
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', 'false');
      const name = document.createElement('span');
      name.className = 'suggestion-tag';
      name.textContent = `#${tag}`;
      li.append(name);
      const count = counts[i];
      if (typeof count === 'number' && count > 0) {
        const n = document.createElement('span');
        n.className = 'suggestion-count';
        n.textContent = fmtCompact(count);
        n.title = `${fmtInt(count)} posts in the last hour`;
        li.append(n);
        li.setAttribute('aria-label', `#${tag}, ${fmtInt(count)} posts in the last hour`);
      }
      return li;
    });
    if (this.options.length) {
      this.list.replaceChildren(...this.options);
    } else {
      const li = document.createElement('li');
      li.className = 'suggestion-empty';
      li.textContent = `No hashtag starts with “${prefix}”`;
      this.list.replaceChildren(li);
    }
    this.active = -1;
    this.input.removeAttribute('aria-activedescendant');
    this.list.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
  }

  private close(): void {
    clearTimeout(this.timer);
    this.inFlight?.abort();
    this.options = [];
    this.active = -1;
    this.list.hidden = true;
    this.list.replaceChildren();
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
  }
}
