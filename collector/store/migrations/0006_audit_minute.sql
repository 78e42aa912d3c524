-- Rollup of audit_events per minute, the figures the dashboard draws without scanning events: calls by
-- decision, HTTP status class (status / 100; 0 for TCP), error_type and deny_reason; bytes; time; and
-- latency quantile states, per subaccount and backend (virtual host:port -> internal host:port). One view
-- instead of one per figure: every view costs a GROUP BY and a part write on each insert, and this one
-- table answers them all by grouping on fewer columns. Fed by the insert into audit_events, so it counts
-- what the writer inserted (duplicates are filtered before the insert, docs/store.md). Read with sum() and
-- the -Merge combinators, e.g.
--   SELECT minute, sum(calls) FROM audit_minute WHERE subaccount = {s:String} AND minute >= ... GROUP BY minute
--   SELECT quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)(duration_us_digest) FROM audit_minute WHERE ...
-- (the -Merge parameters must be the ones of the column type).
-- Backend phases only count calls that reached a backend (value > 0).
CREATE TABLE IF NOT EXISTS audit_minute
(
    minute DateTime('UTC'),
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
PARTITION BY toYYYYMM(minute)
ORDER BY (subaccount, minute, virtual_host, virtual_port, internal_host, internal_port, protocol, decision, status_class, error_type, deny_reason)
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS audit_minute_mv TO audit_minute
AS SELECT
    toStartOfMinute(ts) AS minute,
    subaccount,
    virtual_host,
    virtual_port,
    internal_host,
    internal_port,
    protocol,
    decision,
    toUInt8(intDiv(status, 100)) AS status_class,
    error_type,
    deny_reason,
    toUInt64(count()) AS calls,
    sum(bytes_in) AS bytes_in,
    sum(bytes_out) AS bytes_out,
    sum(duration_us) AS duration_us_sum,
    quantilesTDigestState(0.5, 0.9, 0.95, 0.99)(duration_us) AS duration_us_digest,
    quantilesTDigestIfState(0.5, 0.9, 0.95, 0.99)(backend_connect_us, toUInt8(backend_connect_us > 0)) AS backend_connect_us_digest,
    quantilesTDigestIfState(0.5, 0.9, 0.95, 0.99)(backend_ttfb_us, toUInt8(backend_ttfb_us > 0)) AS backend_ttfb_us_digest
FROM audit_events
GROUP BY minute, subaccount, virtual_host, virtual_port, internal_host, internal_port, protocol, decision, status_class, error_type, deny_reason;
