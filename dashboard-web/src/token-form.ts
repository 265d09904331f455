import { checkToken } from './api';
import { setToken } from './token';

export type TokenFormElements = {
  /** The panel around the form, hidden while no token is needed. */
  root: HTMLElement;
  form: HTMLFormElement;
  input: HTMLInputElement;
  submit: HTMLButtonElement;
  /** Why the form is shown (a token is needed, or the last one was refused), for people. */
  message: HTMLElement;
};

const NEEDED = 'This server needs a read token to show its numbers. Enter the one your operator gave you.';
const REFUSED = 'The read token was refused: it is wrong or has been changed. Enter the current one.';
const TYPED_REFUSED = 'That token was refused. Check it and try again.';

/**
 * The form that asks for the read token when the API answers 401. A typed token is checked
 * against the server before it is kept; then `onAccepted` runs (reconnect, reload). The token
 * is only ever in the password input (emptied once it is checked), never in the page's text.
 */
export class TokenForm {
  private checking = false;

  constructor(
    private readonly el: TokenFormElements,
    private readonly onAccepted: () => void,
  ) {
    el.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.submit();
    });
  }

  get shown(): boolean {
    return !this.el.root.hidden;
  }

  /** Shows the form; `refused`: a token was sent and refused (else none was known). */
  show(refused: boolean): void {
    const wasShown = this.shown;
    if (wasShown && !refused) return; // already asking; keep what it says
    this.say(refused ? REFUSED : NEEDED, refused);
    this.el.root.hidden = false;
    document.body.dataset.locked = 'true';
    if (!wasShown && !this.checking) this.el.input.focus();
  }

  private hide(): void {
    this.el.root.hidden = true;
    delete document.body.dataset.locked;
  }

  private say(text: string, problem: boolean): void {
    this.el.message.textContent = text;
    this.el.message.dataset.state = problem ? 'refused' : 'needed';
  }

  private async submit(): Promise<void> {
    if (this.checking) return;
    const token = this.el.input.value.trim();
    if (!token) {
      this.say('Enter the read token first.', true);
      this.el.input.focus();
      return;
    }
    this.checking = true;
    this.el.submit.disabled = true;
    this.el.input.setAttribute('aria-busy', 'true');
    this.el.message.dataset.state = 'checking';
    this.el.message.textContent = 'Checking the token…';
    try {
      const ok = await checkToken(token);
      this.el.input.value = '';
      if (!ok) {
        this.say(TYPED_REFUSED, true);
        this.el.input.focus();
        return;
      }
      setToken(token);
      this.hide();
      this.onAccepted();
    } catch (e) {
      // Could not tell (server unreachable, rate limited): keep what was typed for another try.
      this.say(`Could not check the token: ${e instanceof Error ? e.message : String(e)}`, true);
      this.el.input.focus();
    } finally {
      this.checking = false;
      this.el.submit.disabled = false;
      this.el.input.removeAttribute('aria-busy');
    }
  }
}
