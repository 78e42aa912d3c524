-- Audit events, one row per event of the spec (shared/spec/audit-event-v1.md), shaped for the dashboard:
-- every query filters by subaccount and a time range, so both lead the sort key; the calls explorer pages
-- through one subaccount in time order. event_id closes the key so that ReplacingMergeTree collapses a
-- duplicate delivery (same event, same key) and reads with FINAL see each event once (docs/store.md).
-- Small enums are LowCardinality, free text is ZSTD-compressed String (kept byte for byte), and fields the
-- spec does not know yet are kept as a JSON object in `extra`. Retention is a TTL set from the config at
-- start-up (collector/store/retention.ts), not here.
CREATE TABLE IF NOT EXISTS audit_events
(
    schema LowCardinality(String),
    event_id String CODEC(ZSTD(1)),
    ts DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    duration_us UInt64 CODEC(T64, ZSTD(1)),
    emitter LowCardinality(String),
    emitter_id LowCardinality(String),
    seq UInt64 CODEC(Delta, ZSTD(1)),
    prev_hash String CODEC(ZSTD(1)),
    hash String CODEC(ZSTD(1)),
    subaccount LowCardinality(String),
    location_id LowCardinality(String),
    cloud_app LowCardinality(String),
    principal String CODEC(ZSTD(1)),
    client_ip String CODEC(ZSTD(1)),
    protocol LowCardinality(String),
    method LowCardinality(String),
    virtual_host LowCardinality(String),
    virtual_port UInt16,
    internal_host LowCardinality(String),
    internal_port UInt16,
    path String CODEC(ZSTD(1)),
    query String CODEC(ZSTD(1)),
    user_agent String CODEC(ZSTD(1)),
    decision LowCardinality(String),
    rule_id LowCardinality(String),
    deny_reason LowCardinality(String),
    status UInt16,
    error_type LowCardinality(String),
    bytes_in UInt64 CODEC(T64, ZSTD(1)),
    bytes_out UInt64 CODEC(T64, ZSTD(1)),
    backend_connect_us UInt64 CODEC(T64, ZSTD(1)),
    backend_ttfb_us UInt64 CODEC(T64, ZSTD(1)),
    trace_id String CODEC(ZSTD(1)),
    span_id String CODEC(ZSTD(1)),
    extra String CODEC(ZSTD(1)),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3) CODEC(Delta, ZSTD(1)),
    INDEX idx_event_id event_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(ts)
PRIMARY KEY (subaccount, toStartOfHour(ts))
ORDER BY (subaccount, toStartOfHour(ts), ts, event_id)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;
