// How long rows wait for their commit by default, per kind of table: the defaults of
// store.audit_commit_interval_ms and store.telemetry_batch_ms (config-schema.ts), used by openStore().

/**
 * Audit commits of a stream lighter than 10,000 events per 200 ms start at most this often by default
 * (ms). Every insert into audit_events costs the embedded engine ~80-120 ms of CPU however few its rows (a
 * part for the table and for each rollup view, docs/store.md), so at 200 ms a trickle of events kept a
 * fifth of a core busy; the price is freshness: ~1 s instead of ~0.5 (docs/benchmarks.md).
 */
export const AUDIT_COMMIT_INTERVAL_MS = 1000;

/**
 * How long a span or log record waits for its batch by default (ms). Every insert into otel_traces costs
 * ~40 ms of CPU whatever its size (the parts of the table and of otel_traces_trace_id_ts), docs/store.md.
 */
export const OTEL_MAX_DELAY_MS = 1000;
