// Wire types of the serving API (HTTP JSON and socket.io payloads).

export interface TrendingEntry {
  hashtag: string;
  count: number;
  /** z-score of the last five minutes against the hour before; 3 or more is a burst. */
  burst?: number;
}

/** `GET /api/v1/trending` and the socket.io `trending` event. */
export interface TrendingResponse {
  window_minutes: number;
  as_of: string;
  epoch?: number;
  hashtags: TrendingEntry[];
}

export interface SeriesPoint {
  /** Slot start, epoch milliseconds. */
  t: number;
  slot?: string;
  count: number;
  batch?: number | null;
  speed?: number | null;
}

/** `GET /api/v1/hashtags/{tag}/series`. */
export interface SeriesResponse {
  hashtag: string;
  from: string;
  to: string;
  slot_minutes: number;
  points: SeriesPoint[];
}

/** socket.io `series_update`, sent to a client that emitted `subscribe`. */
export interface SeriesUpdate {
  hashtag: string;
  points: SeriesPoint[];
}

export interface ActiveView {
  epoch: number;
  batch: string;
  speed: string;
  cut?: Record<string, number> | null;
  view_version?: number | null;
  flipped_at?: string | null;
}

export interface Recompute {
  phase?: string;
  [key: string]: unknown;
}

/** `GET /api/v1/status`. */
export interface Status {
  active: ActiveView | null;
  posts_per_second: number | null;
  recompute: Recompute | null;
}
