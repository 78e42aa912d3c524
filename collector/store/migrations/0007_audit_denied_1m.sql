-- Rollup: refused calls per minute by resource (virtual host:port and path), calling app and reason, for
-- "top denied resources" and the first-seen / scanning detectors. Its own table: paths make the key far
-- wider than audit_minute's, and only refused calls are counted (cheap on inserts without refusals).
CREATE TABLE IF NOT EXISTS audit_denied_1m
(
    minute DateTime('UTC'),
    subaccount LowCardinality(String),
    deny_reason LowCardinality(String),
    cloud_app LowCardinality(String),
    virtual_host LowCardinality(String),
    virtual_port UInt16,
    path String CODEC(ZSTD(1)),
    calls UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (subaccount, minute, deny_reason, cloud_app, virtual_host, virtual_port, path)
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS audit_denied_1m_mv TO audit_denied_1m
AS SELECT
    toStartOfMinute(ts) AS minute,
    subaccount,
    deny_reason,
    cloud_app,
    virtual_host,
    virtual_port,
    path,
    count() AS calls
FROM audit_events
WHERE decision = 'deny'
GROUP BY minute, subaccount, deny_reason, cloud_app, virtual_host, virtual_port, path;
