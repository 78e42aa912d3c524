-- The Overview's top denied resources: refused calls per minute, hour or day (`level` 60, 3600 or 86400,
-- `t` its start) and resource, the resource being (subaccount, cloud app, virtual host:port, path, deny
-- reason) as one 64-bit SipHash (`resource`), with the last minute it was refused in. Ranking a month of
-- refusals then groups one integer per row instead of the path and five names (measured 4-5 times
-- faster; two resources of one range share a hash with a probability of n^2 / 2^65, 3e-8 for a
-- million). The names are kept on the minute rows only ('' and 0 on the others): the few rows a list
-- shows are named from the row of the last minute each was refused in. Time leads the key: the ranking
-- reads every subaccount of its spans. Paths that are never refused twice (a scanner) make as many rows
-- as refusals: what a range costs grows with the distinct resources refused in it, which is what the
-- list must rank. Filled from audit_denied_1m's insert blocks; the CREATE ... AS SELECT backfills what it
-- already holds, as in 0015.
CREATE TABLE IF NOT EXISTS audit_denied_resources
(
    level UInt32,
    t DateTime('UTC'),
    subaccount LowCardinality(String),
    resource UInt64,
    deny_reason LowCardinality(String),
    cloud_app LowCardinality(String),
    virtual_host LowCardinality(String),
    virtual_port UInt16,
    path String CODEC(ZSTD(1)),
    calls SimpleAggregateFunction(sum, UInt64),
    last_minute SimpleAggregateFunction(max, DateTime('UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(t)
PRIMARY KEY (level, t, subaccount)
ORDER BY (level, t, subaccount, resource, deny_reason, cloud_app, virtual_host, virtual_port, path)
SETTINGS index_granularity = 1024, ttl_only_drop_parts = 1
AS SELECT
    level,
    toDateTime(intDiv(toUInt32(minute), level) * level, 'UTC') AS t,
    subaccount,
    sipHash64(audit_denied_1m.subaccount, audit_denied_1m.cloud_app, audit_denied_1m.virtual_host,
        audit_denied_1m.virtual_port, audit_denied_1m.path, audit_denied_1m.deny_reason) AS resource,
    if(level = 60, deny_reason, '') AS r_deny_reason,
    if(level = 60, cloud_app, '') AS r_cloud_app,
    if(level = 60, virtual_host, '') AS r_virtual_host,
    if(level = 60, virtual_port, 0) AS r_virtual_port,
    if(level = 60, path, '') AS r_path,
    sum(audit_denied_1m.calls),
    max(minute)
FROM audit_denied_1m
ARRAY JOIN [60, 3600, 86400] AS level
GROUP BY level, t, subaccount, resource, r_deny_reason, r_cloud_app, r_virtual_host, r_virtual_port, r_path;

CREATE MATERIALIZED VIEW IF NOT EXISTS audit_denied_resources_mv TO audit_denied_resources
AS SELECT
    level,
    toDateTime(intDiv(toUInt32(minute), level) * level, 'UTC') AS t,
    subaccount,
    sipHash64(audit_denied_1m.subaccount, audit_denied_1m.cloud_app, audit_denied_1m.virtual_host,
        audit_denied_1m.virtual_port, audit_denied_1m.path, audit_denied_1m.deny_reason) AS resource,
    if(level = 60, audit_denied_1m.deny_reason, '') AS deny_reason,
    if(level = 60, audit_denied_1m.cloud_app, '') AS cloud_app,
    if(level = 60, audit_denied_1m.virtual_host, '') AS virtual_host,
    if(level = 60, audit_denied_1m.virtual_port, 0) AS virtual_port,
    if(level = 60, audit_denied_1m.path, '') AS path,
    sum(audit_denied_1m.calls) AS calls,
    max(minute) AS last_minute
FROM audit_denied_1m
ARRAY JOIN [60, 3600, 86400] AS level
GROUP BY level, t, subaccount, resource, deny_reason, cloud_app, virtual_host, virtual_port, path;
