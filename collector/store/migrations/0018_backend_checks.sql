-- Backend checks (issue 7): one row per CheckReport a connector ran (connector/diagnostics/types.ts),
-- shipped with POST /v1/checks or stored by the dashboard after a check it asked the relay for. The steps
-- are the report's JSON as received. Every read names a subaccount and usually one mapping and a time range
-- (health matrix, timeline, last check), so the key leads with them; check_id closes it, so a re-sent report
-- (same subaccount, mapping, time and id) collapses under FINAL, and the writer skips ids it already holds.
-- Monthly partitions: a few rows per mapping and minute; the TTL (store retention, checksDays) deletes
-- expired rows at merges. The bloom filter finds a report by id (a matrix row's last check).
CREATE TABLE IF NOT EXISTS backend_checks
(
    check_id String,
    connector_id LowCardinality(String),
    location_id LowCardinality(String),
    subaccount LowCardinality(String),
    virtual_host LowCardinality(String),
    internal_host LowCardinality(String),
    protocol LowCardinality(String),
    trigger LowCardinality(String),
    requested_by String,
    started_at DateTime64(3, 'UTC'),
    duration_ms UInt32,
    state LowCardinality(String),
    classification LowCardinality(String),
    summary String CODEC(ZSTD(1)),
    steps String CODEC(ZSTD(3)),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_check_id check_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(started_at)
ORDER BY (subaccount, virtual_host, started_at, check_id);
