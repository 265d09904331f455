// Wire types of the serving API (HTTP JSON and socket.io payloads).

export interface TrendingEntry {
  hashtag: string;
  count: number;
  /**
   * z-score of the last five minutes against the hour before; 3 or more is a burst. `null`
   * while the server has no hour of history to compare with.
   */
  burst?: number | null;
}

/** `GET /api/v1/trending` and the socket.io `trending` event. */
export interface TrendingResponse {
  window_minutes: number;
  as_of: string;
  epoch?: number;
  hashtags: TrendingEntry[];
}

export interface SeriesPoint {
  /** Slot (or bucket) start, epoch milliseconds. */
  t: number;
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
  epoch?: number;
  tables?: string[];
  points: SeriesPoint[];
  next_from?: string | null;
}

/** `GET /api/v1/hashtags?prefix=`. */
export interface SearchResponse {
  prefix: string;
  /** The busiest of the last hour first, then the rest by name. */
  hashtags: string[];
  /** Posts of each hashtag in the last hour, in the same order. */
  counts?: number[];
}

/** socket.io `series_update`, sent to the room of a hashtag a client subscribed to. */
export interface SeriesUpdate {
  hashtag: string;
  epoch?: number;
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

/** `GET /api/v1/status` (only the fields the dashboard reads). */
export interface Status {
  active: ActiveView | null;
  posts_per_second: number | null;
  recompute: Recompute | null;
  log?: { records?: number; end_offsets?: Record<string, number> } | null;
  master?: { rows?: number; ingested?: Record<string, number>; files?: number; earliest?: string | null } | null;
  speed_tables?: Record<string, unknown> | null;
}
