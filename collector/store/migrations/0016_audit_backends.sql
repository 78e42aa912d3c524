-- The Overview's top backends: per subaccount, backend (virtual host:port -> internal host:port,
-- protocol) and minute, hour or day (`level` 60, 3600 or 86400, `t` its start), the calls, refusals,
-- backend errors and 5xx answers, and the latency t-digest of allowed calls. Only calls that reached a
-- mapping (an internal host). A range reads whole days, the hours at its ends and the minutes at its very
-- ends (dashboard/api/overview-levels.ts): a month is some thousands of rows per backend instead of a
-- million. The subaccount comes before the time so that the digests of the few backends a list shows
-- are read alone; small granules keep the ranking over every subaccount from reading much more than
-- its spans (audit_minute's 8192-row granules cost a whole granule per subaccount and range end).
-- Filled from audit_minute's insert blocks; the CREATE ... AS SELECT backfills what audit_minute already
-- holds, as in 0015.
CREATE TABLE IF NOT EXISTS audit_backends
(
    level UInt32,
    t DateTime('UTC'),
    subaccount LowCardinality(String),
    virtual_host LowCardinality(String),
    virtual_port UInt16,
    internal_host LowCardinality(String),
    internal_port UInt16,
    protocol LowCardinality(String),
    calls SimpleAggregateFunction(sum, UInt64),
    denied SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    status_5xx SimpleAggregateFunction(sum, UInt64),
    duration_us_digest AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(t)
PRIMARY KEY (level, subaccount, t)
ORDER BY (level, subaccount, t, virtual_host, virtual_port, internal_host, internal_port, protocol)
SETTINGS index_granularity = 256, ttl_only_drop_parts = 1
AS SELECT
    level,
    toDateTime(intDiv(toUInt32(minute), level) * level, 'UTC') AS t,
    subaccount,
    virtual_host,
    virtual_port,
    internal_host,
    internal_port,
    protocol,
    sum(audit_minute.calls),
    sumIf(audit_minute.calls, decision = 'deny'),
    sumIf(audit_minute.calls, error_type != ''),
    sumIf(audit_minute.calls, status_class = 5),
    quantilesTDigestMergeStateIf(0.5, 0.9, 0.95, 0.99)(duration_us_digest, decision = 'allow')
FROM audit_minute
ARRAY JOIN [60, 3600, 86400] AS level
WHERE internal_host != ''
GROUP BY level, t, subaccount, virtual_host, virtual_port, internal_host, internal_port, protocol;

CREATE MATERIALIZED VIEW IF NOT EXISTS audit_backends_mv TO audit_backends
AS SELECT
    level,
    toDateTime(intDiv(toUInt32(minute), level) * level, 'UTC') AS t,
    subaccount,
    virtual_host,
    virtual_port,
    internal_host,
    internal_port,
    protocol,
    sum(audit_minute.calls) AS calls,
    sumIf(audit_minute.calls, decision = 'deny') AS denied,
    sumIf(audit_minute.calls, error_type != '') AS errors,
    sumIf(audit_minute.calls, status_class = 5) AS status_5xx,
    quantilesTDigestMergeStateIf(0.5, 0.9, 0.95, 0.99)(duration_us_digest, decision = 'allow') AS duration_us_digest
FROM audit_minute
ARRAY JOIN [60, 3600, 86400] AS level
WHERE internal_host != ''
GROUP BY level, t, subaccount, virtual_host, virtual_port, internal_host, internal_port, protocol;
