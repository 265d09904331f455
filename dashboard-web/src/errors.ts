/** A small banner of current problems, keyed by source so a later success clears its error. */
export class ErrorBanner {
  private readonly errors = new Map<string, string>();
  private readonly list: HTMLUListElement;

  constructor(private readonly root: HTMLElement) {
    this.list = root.querySelector('ul') ?? root.appendChild(document.createElement('ul'));
    root.querySelector('button')?.addEventListener('click', () => {
      this.errors.clear();
      this.render();
    });
  }

  set(key: string, message: string): void {
    if (this.errors.get(key) === message) return;
    this.errors.set(key, message);
    this.render();
  }

  clear(key: string): void {
    if (this.errors.delete(key)) this.render();
  }

  private render(): void {
    this.list.replaceChildren(
      ...[...this.errors.values()].map((m) => {
        const li = document.createElement('li');
        li.textContent = m;
        return li;
      }),
    );
    this.root.hidden = this.errors.size === 0;
  }
}
