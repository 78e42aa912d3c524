// What the shipper exposes for /metrics (wired in a later issue): plain numbers, snake_case as they
// will be exported. Times are ms since the epoch.

export interface ShipperMetrics {
  /** Bytes of kept events not yet acknowledged (nor dead-lettered nor dropped). */
  spool_bytes: number;
  spool_max_bytes: number;
  /** spool_bytes / spool_max_bytes: at 1 the spool_full policy applies. */
  spool_fill_ratio: number;
  unshipped_events: number;
  acked_seq: number;
  kept_seq: number;
  /** true while calls are refused because the spool is full (spool_full: refuse). */
  refusing: boolean;
  shipped_events_total: number;
  shipped_bytes_total: number;
  batches_total: number;
  /** As the collector counted them: accepted new, and duplicates it already had. */
  accepted_total: number;
  duplicates_total: number;
  failed_requests_total: number;
  dead_letters_total: number;
  dropped_events_total: number;
  dropped_bytes_total: number;
  last_success_time: number | null;
  last_error: string | null;
  last_error_time: number | null;
}

export type ShipperCounters = Omit<ShipperMetrics, 'spool_bytes' | 'spool_max_bytes' | 'spool_fill_ratio' | 'unshipped_events' | 'acked_seq' | 'kept_seq' | 'refusing'>;

export function newCounters(): ShipperCounters {
  return {
    shipped_events_total: 0, shipped_bytes_total: 0, batches_total: 0, accepted_total: 0, duplicates_total: 0, failed_requests_total: 0,
    dead_letters_total: 0, dropped_events_total: 0, dropped_bytes_total: 0, last_success_time: null, last_error: null, last_error_time: null,
  };
}
