// The read token (`serving.read-token`): when the server has one, every API call and the
// socket.io handshake must carry it. The analyst gives it once per browser tab, in the link
// (`#access_token=…`, removed from the address bar at once) or in the token form
// (token-form.ts); it is kept in sessionStorage, so it lives as long as the tab and is never
// shared with other tabs or written to disk by the page. It is never put into the page's text
// or logged.

const STORAGE_KEY = 'lambda-trends:read-token';

function load(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY) || null;
  } catch {
    return null; // storage disabled: the token lives in memory only
  }
}

let current: string | null = load();

/** The token to send, if one is known. */
export function readToken(): string | null {
  return current;
}

export function setToken(token: string): void {
  current = token;
  try {
    sessionStorage.setItem(STORAGE_KEY, token);
  } catch {
    // memory only
  }
}

function forgetToken(): void {
  current = null;
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
}

/**
 * Takes `access_token` out of the URL fragment (`#access_token=…&tag=…`): keeps it as the
 * token and rewrites the address without it (`history.replaceState`, no new history entry),
 * leaving the rest of the fragment (the view) as it was. Call before reading the fragment.
 */
export function takeTokenFromFragment(): void {
  const hash = location.hash.slice(1);
  if (!hash.includes('access_token')) return;
  const params = new URLSearchParams(hash);
  if (!params.has('access_token')) return;
  const token = (params.get('access_token') ?? '').trim();
  params.delete('access_token');
  const rest = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
  if (token) setToken(token);
}

type Listener = (refusedToken: boolean) => void;
const refusedListeners = new Set<Listener>();
const acceptedListeners = new Set<() => void>();

/** `listener(refusedToken)` runs when the server answers 401: `refusedToken`, a token was sent. */
export function onTokenRefused(listener: Listener): void {
  refusedListeners.add(listener);
}

/** `listener` runs when a request with the current token (or none) was let through. */
export function onAccessGranted(listener: () => void): void {
  acceptedListeners.add(listener);
}

/**
 * The server answered a request that was sent with `sent` (null: no token): `allowed` is
 * false for a 401. Answers to requests sent with another token than the current one (sent
 * before a new token was given) are ignored. A refused token is forgotten.
 */
export function accessAnswered(sent: string | null, allowed: boolean): void {
  if (sent !== current) return;
  if (allowed) {
    for (const l of acceptedListeners) l();
    return;
  }
  if (sent != null) forgetToken();
  for (const l of refusedListeners) l(sent != null);
}
