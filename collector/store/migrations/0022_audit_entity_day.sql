-- Detection's per-entity days: per principal, client IP and user agent (`kind`), subaccount and UTC day,
-- the calls, the refusals, the 10-minute slots with calls (the day's 144 slots as three 64-bit words, slot
-- s in word s / 48, bit s % 48) and up to three cloud apps. off_hours, cross_subaccount and rare_user_agent
-- judge these; a sweep used to group every event of its horizon by these long text keys again (about 3-4 s
-- of a full-range sweep over 10 million events), and now reads this table (collector/detect/facts.ts).
-- Filled by the view on every insert, like the Overview's rollups; the CREATE ... AS SELECT backfills
-- what audit_events already holds, as in 0015. An empty entity (no principal, say) is not kept.
CREATE TABLE IF NOT EXISTS audit_entity_day
(
    day Date,
    kind LowCardinality(String),
    subaccount LowCardinality(String),
    entity String CODEC(LZ4),
    calls SimpleAggregateFunction(sum, UInt64),
    denied SimpleAggregateFunction(sum, UInt64),
    w0 SimpleAggregateFunction(groupBitOr, UInt64),
    w1 SimpleAggregateFunction(groupBitOr, UInt64),
    w2 SimpleAggregateFunction(groupBitOr, UInt64),
    apps AggregateFunction(groupUniqArray(3), String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (kind, day, subaccount, entity)
SETTINGS ttl_only_drop_parts = 1
AS SELECT
    toDate(ts) AS day,
    k.1 AS kind,
    subaccount,
    k.2 AS entity,
    count() AS calls,
    countIf(decision = 'deny') AS denied,
    groupBitOrIf(bitShiftLeft(toUInt64(1), intDiv(toUInt32(toUnixTimestamp(ts)) % 86400, 600) % 48), intDiv(intDiv(toUInt32(toUnixTimestamp(ts)) % 86400, 600), 48) = 0) AS w0,
    groupBitOrIf(bitShiftLeft(toUInt64(1), intDiv(toUInt32(toUnixTimestamp(ts)) % 86400, 600) % 48), intDiv(intDiv(toUInt32(toUnixTimestamp(ts)) % 86400, 600), 48) = 1) AS w1,
    groupBitOrIf(bitShiftLeft(toUInt64(1), intDiv(toUInt32(toUnixTimestamp(ts)) % 86400, 600) % 48), intDiv(intDiv(toUInt32(toUnixTimestamp(ts)) % 86400, 600), 48) = 2) AS w2,
    groupUniqArrayState(3)(cloud_app) AS apps
FROM audit_events FINAL
ARRAY JOIN [('principal', principal), ('client_ip', client_ip), ('user_agent', user_agent)] AS k
WHERE k.2 != ''
GROUP BY day, kind, subaccount, entity;

CREATE MATERIALIZED VIEW IF NOT EXISTS audit_entity_day_mv TO audit_entity_day
AS SELECT
    toDate(ts) AS day,
    k.1 AS kind,
    subaccount,
    k.2 AS entity,
    count() AS calls,
    countIf(decision = 'deny') AS denied,
    groupBitOrIf(bitShiftLeft(toUInt64(1), intDiv(toUInt32(toUnixTimestamp(ts)) % 86400, 600) % 48), intDiv(intDiv(toUInt32(toUnixTimestamp(ts)) % 86400, 600), 48) = 0) AS w0,
    groupBitOrIf(bitShiftLeft(toUInt64(1), intDiv(toUInt32(toUnixTimestamp(ts)) % 86400, 600) % 48), intDiv(intDiv(toUInt32(toUnixTimestamp(ts)) % 86400, 600), 48) = 1) AS w1,
    groupBitOrIf(bitShiftLeft(toUInt64(1), intDiv(toUInt32(toUnixTimestamp(ts)) % 86400, 600) % 48), intDiv(intDiv(toUInt32(toUnixTimestamp(ts)) % 86400, 600), 48) = 2) AS w2,
    groupUniqArrayState(3)(cloud_app) AS apps
FROM audit_events
ARRAY JOIN [('principal', principal), ('client_ip', client_ip), ('user_agent', user_agent)] AS k
WHERE k.2 != ''
GROUP BY day, kind, subaccount, entity;
