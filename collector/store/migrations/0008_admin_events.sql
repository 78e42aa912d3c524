-- Admin audit events of the dashboard (schema tunnelwatch.admin/1): sign-ins, failed sign-ins, sign-outs
-- and API token changes, hash-chained per emitter_id like audit events (dashboard/auth/admin-events.ts).
-- Few rows (people signing in, not calls), read newest first by time, so time leads the key; event_id
-- closes it so a repeated insert of one event collapses under FINAL. No TTL: kept for as long as the
-- store lives, as an audit trail should be.
CREATE TABLE IF NOT EXISTS admin_events
(
    schema LowCardinality(String),
    event_id String,
    ts DateTime64(3, 'UTC'),
    emitter LowCardinality(String),
    emitter_id LowCardinality(String),
    seq UInt64,
    prev_hash String,
    hash String,
    action LowCardinality(String),
    outcome LowCardinality(String),
    actor String,
    actor_role LowCardinality(String),
    via LowCardinality(String),
    target String,
    client_ip String,
    user_agent String CODEC(ZSTD(1)),
    reason String CODEC(ZSTD(1)),
    before String CODEC(ZSTD(1)),
    after String CODEC(ZSTD(1)),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (ts, event_id);
