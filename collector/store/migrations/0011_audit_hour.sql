-- The per-minute rollup again, per hour, for the dashboard's long ranges: at the density of a few million
-- events a day most minute rows hold one or two calls, so a week read from audit_minute merges millions
-- of t-digests; per hour it is some tens of thousands. Same columns as audit_minute (so one query text
-- serves both), filled by a materialized view on audit_minute itself: every insert into audit_events
-- reaches it through audit_minute_mv, and it groups the already-grouped minute block, not the events.
CREATE TABLE IF NOT EXISTS audit_hour
(
    hour DateTime('UTC'),
    subaccount LowCardinality(String),
    virtual_host LowCardinality(String),
    virtual_port UInt16,
    internal_host LowCardinality(String),
    internal_port UInt16,
    protocol LowCardinality(String),
    decision LowCardinality(String),
    status_class UInt8,
    error_type LowCardinality(String),
    deny_reason LowCardinality(String),
    calls SimpleAggregateFunction(sum, UInt64),
    bytes_in SimpleAggregateFunction(sum, UInt64),
    bytes_out SimpleAggregateFunction(sum, UInt64),
    duration_us_sum SimpleAggregateFunction(sum, UInt64),
    duration_us_digest AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), UInt64),
    backend_connect_us_digest AggregateFunction(quantilesTDigestIf(0.5, 0.9, 0.95, 0.99), UInt64, UInt8),
    backend_ttfb_us_digest AggregateFunction(quantilesTDigestIf(0.5, 0.9, 0.95, 0.99), UInt64, UInt8)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (subaccount, hour, virtual_host, virtual_port, internal_host, internal_port, protocol, decision, status_class, error_type, deny_reason)
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS audit_hour_mv TO audit_hour
AS SELECT
    toStartOfHour(minute) AS hour,
    subaccount,
    virtual_host,
    virtual_port,
    internal_host,
    internal_port,
    protocol,
    decision,
    status_class,
    error_type,
    deny_reason,
    sum(calls) AS calls,
    sum(bytes_in) AS bytes_in,
    sum(bytes_out) AS bytes_out,
    sum(duration_us_sum) AS duration_us_sum,
    quantilesTDigestMergeState(0.5, 0.9, 0.95, 0.99)(duration_us_digest) AS duration_us_digest,
    quantilesTDigestIfMergeState(0.5, 0.9, 0.95, 0.99)(backend_connect_us_digest) AS backend_connect_us_digest,
    quantilesTDigestIfMergeState(0.5, 0.9, 0.95, 0.99)(backend_ttfb_us_digest) AS backend_ttfb_us_digest
FROM audit_minute
GROUP BY hour, subaccount, virtual_host, virtual_port, internal_host, internal_port, protocol, decision, status_class, error_type, deny_reason;
