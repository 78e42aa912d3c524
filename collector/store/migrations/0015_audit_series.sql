-- The Overview's lean rollups: per subaccount and interval, the calls, refusals, backend errors, 5xx
-- answers, bytes and the latency t-digest of allowed calls, at five grains in one table (`level` is the
-- interval in seconds: 60, 900, 3600, 21600, 86400; `t` its start). audit_minute keeps a row per backend,
-- decision, status class, error and deny reason; this keeps one per subaccount. The dashboard covers a
-- range with whole days in the middle, then quarter days, hours, quarter hours and minutes towards its
-- ends, and a chart of B-second buckets with the grains that divide B (dashboard/api/overview-levels.ts):
-- what a range costs depends on its number of buckets and subaccounts, not on its length or the traffic.
-- Time leads the key: an overview reads every subaccount of its spans.
-- audit_latency is the same digest over all subaccounts: what an unscoped chart of latency reads, so that
-- its cost does not grow with the number of subaccounts either.
-- Filled from audit_minute (the block each insert produces there, not the events again), audit_latency
-- from audit_series. Each CREATE TABLE ... AS SELECT backfills what audit_minute already holds when the
-- migration runs on a store with data (the table appears only once filled: the engine fills a temporary
-- table and renames it); the views come after, and the embedded collector writes nothing while migrations
-- run (docs/store.md, Rollups).
CREATE TABLE IF NOT EXISTS audit_series
(
    level UInt32,
    t DateTime('UTC'),
    subaccount LowCardinality(String),
    calls SimpleAggregateFunction(sum, UInt64),
    denied SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    status_5xx SimpleAggregateFunction(sum, UInt64),
    bytes_in SimpleAggregateFunction(sum, UInt64),
    bytes_out SimpleAggregateFunction(sum, UInt64),
    duration_us_digest AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(t)
ORDER BY (level, t, subaccount)
SETTINGS index_granularity = 1024, ttl_only_drop_parts = 1
AS SELECT
    level,
    toDateTime(intDiv(toUInt32(minute), level) * level, 'UTC') AS t,
    subaccount,
    sum(audit_minute.calls),
    sumIf(audit_minute.calls, decision = 'deny'),
    sumIf(audit_minute.calls, error_type != ''),
    sumIf(audit_minute.calls, status_class = 5),
    sum(bytes_in),
    sum(bytes_out),
    quantilesTDigestMergeStateIf(0.5, 0.9, 0.95, 0.99)(duration_us_digest, decision = 'allow')
FROM audit_minute
ARRAY JOIN [60, 900, 3600, 21600, 86400] AS level
GROUP BY level, t, subaccount;

CREATE TABLE IF NOT EXISTS audit_latency
(
    level UInt32,
    t DateTime('UTC'),
    duration_us_digest AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(t)
ORDER BY (level, t)
SETTINGS index_granularity = 1024, ttl_only_drop_parts = 1
AS SELECT level, t, quantilesTDigestMergeState(0.5, 0.9, 0.95, 0.99)(duration_us_digest)
FROM audit_series
GROUP BY level, t;

CREATE MATERIALIZED VIEW IF NOT EXISTS audit_series_mv TO audit_series
AS SELECT
    level,
    toDateTime(intDiv(toUInt32(minute), level) * level, 'UTC') AS t,
    subaccount,
    sum(audit_minute.calls) AS calls,
    sumIf(audit_minute.calls, decision = 'deny') AS denied,
    sumIf(audit_minute.calls, error_type != '') AS errors,
    sumIf(audit_minute.calls, status_class = 5) AS status_5xx,
    sum(bytes_in) AS bytes_in,
    sum(bytes_out) AS bytes_out,
    quantilesTDigestMergeStateIf(0.5, 0.9, 0.95, 0.99)(duration_us_digest, decision = 'allow') AS duration_us_digest
FROM audit_minute
ARRAY JOIN [60, 900, 3600, 21600, 86400] AS level
GROUP BY level, t, subaccount;

CREATE MATERIALIZED VIEW IF NOT EXISTS audit_latency_mv TO audit_latency
AS SELECT
    level,
    t,
    quantilesTDigestMergeState(0.5, 0.9, 0.95, 0.99)(duration_us_digest) AS duration_us_digest
FROM audit_series
GROUP BY level, t;
