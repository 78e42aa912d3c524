-- Detection's per-app time series: calls, refusals, bytes out of allowed calls, and the 10-minute slots
-- with calls (bit k: minutes 10k..10k+9 of the hour), per subaccount, cloud app and half hour. volume_spike,
-- exfiltration and off_hours (for apps) judge these; a sweep used to group every event of its horizon into
-- them again (about 2 s of a full-range sweep over 10 million events); it now reads this table, a few
-- hundred thousand rows a month (collector/detect/facts.ts). Filled by the view on every insert, like the
-- Overview's rollups; the CREATE ... AS SELECT backfills what audit_events already holds, as in 0015.
-- Calls without a cloud app (refused at the relay before one was known) are not kept: no app, no series.
CREATE TABLE IF NOT EXISTS audit_app_half
(
    half DateTime('UTC'),
    subaccount LowCardinality(String),
    cloud_app LowCardinality(String),
    calls SimpleAggregateFunction(sum, UInt64),
    denied SimpleAggregateFunction(sum, UInt64),
    bytes SimpleAggregateFunction(sum, UInt64),
    slots SimpleAggregateFunction(groupBitOr, UInt8)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(half)
ORDER BY (half, subaccount, cloud_app)
SETTINGS ttl_only_drop_parts = 1
AS SELECT
    toStartOfInterval(toDateTime(ts, 'UTC'), INTERVAL 30 MINUTE) AS half,
    subaccount,
    cloud_app,
    count() AS calls,
    countIf(decision = 'deny') AS denied,
    sumIf(bytes_out, decision = 'allow') AS bytes,
    groupBitOr(bitShiftLeft(toUInt8(1), intDiv(toMinute(ts), 10))) AS slots
FROM audit_events FINAL
WHERE cloud_app != ''
GROUP BY half, subaccount, cloud_app;

CREATE MATERIALIZED VIEW IF NOT EXISTS audit_app_half_mv TO audit_app_half
AS SELECT
    toStartOfInterval(toDateTime(ts, 'UTC'), INTERVAL 30 MINUTE) AS half,
    subaccount,
    cloud_app,
    count() AS calls,
    countIf(decision = 'deny') AS denied,
    sumIf(bytes_out, decision = 'allow') AS bytes,
    groupBitOr(bitShiftLeft(toUInt8(1), intDiv(toMinute(ts), 10))) AS slots
FROM audit_events
WHERE cloud_app != ''
GROUP BY half, subaccount, cloud_app;
