// Thin client for the serving API. Same origin as the page, so paths are absolute
// from the root (`/api/v1/...`), never a host name. Every call carries the read token
// (`Authorization: Bearer …`) when one is known (token.ts), and reports a 401 there.
import { accessAnswered, readToken } from './token';
import type { SearchResponse, SeriesResponse, Status, TrendingResponse } from './types';

export class ApiError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}

/** A 401: the server needs a (another) read token; the token form asks for it. */
export function isUnauthorized(e: unknown): boolean {
  return e instanceof ApiError && e.status === 401;
}

function headers(token: string | null): Record<string, string> {
  return token ? { Accept: 'application/json', Authorization: `Bearer ${token}` } : { Accept: 'application/json' };
}

async function send(path: string, token: string | null, signal?: AbortSignal): Promise<Response> {
  try {
    return await fetch(path, { headers: headers(token), signal });
  } catch (e) {
    if (isAbort(e)) throw e;
    throw new ApiError(`cannot reach server (${e instanceof Error ? e.message : String(e)})`, 0);
  }
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const token = readToken();
  const res = await send(path, token, signal);
  // 429 comes before the token is looked at: it says nothing about it.
  if (res.status !== 429) accessAnswered(token, res.status !== 401);
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const detail =
      body && typeof body === 'object' && 'error' in body && typeof body.error === 'string'
        ? body.error
        : text.trim().slice(0, 200) || res.statusText;
    throw new ApiError(`HTTP ${res.status}: ${detail}`, res.status);
  }
  if (body === undefined || body === null || typeof body !== 'object') {
    throw new ApiError(`unexpected response from ${path.split('?')[0]}`, res.status);
  }
  return body as T;
}

export function fetchTrending(minutes: number, limit: number, signal?: AbortSignal) {
  const q = new URLSearchParams({ minutes: String(minutes), limit: String(limit) });
  return getJson<TrendingResponse>(`/api/v1/trending?${q}`, signal);
}

/**
 * A hashtag's series over `from..to`. `step` is `auto` (the server picks 5 min … 7 d buckets
 * so the range fits in about 2,000 points) or minutes (a multiple of 5).
 */
export function fetchSeries(tag: string, from: Date, to: Date, signal?: AbortSignal, step: string = 'auto') {
  const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), step });
  return getJson<SeriesResponse>(`/api/v1/hashtags/${encodeURIComponent(tag)}/series?${q}`, signal);
}

export function searchHashtags(prefix: string, limit: number, signal?: AbortSignal) {
  const q = new URLSearchParams({ prefix, limit: String(limit) });
  return getJson<SearchResponse>(`/api/v1/hashtags?${q}`, signal);
}

export function fetchStatus(signal?: AbortSignal) {
  return getJson<Status>('/api/v1/status', signal);
}

/**
 * Whether the server lets `token` read: `true`, `false` (401) or an error (the server cannot
 * be reached, or limits this client: then it cannot tell).
 */
export async function checkToken(token: string): Promise<boolean> {
  const res = await send('/api/v1/status', token);
  void res.body?.cancel();
  if (res.status === 401) return false;
  if (res.status === 429) {
    const wait = res.headers.get('Retry-After');
    throw new ApiError(`too many requests; try again${wait ? ` in ${wait} s` : ' shortly'}`, 429);
  }
  return true;
}
