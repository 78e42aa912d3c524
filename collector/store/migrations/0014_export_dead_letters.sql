-- Records an exporter could not deliver for good (e.g. an Elasticsearch 400 mapping error, a webhook 400):
-- kept with the receiver's reason and the record itself as JSON (the ExportRecord the exporter was given),
-- so `tunnelwatch siem dead-letters replay` can send them again once the cause is fixed. One row per
-- exporter, stream and record id; a replay, or the same record failing again, writes a new version of
-- that row (state 'dead' or 'replayed'), so reads take the newest (FINAL). No TTL: an operator decides.
CREATE TABLE IF NOT EXISTS export_dead_letters
(
    exporter String,
    stream LowCardinality(String),
    record_id String,
    reason String CODEC(ZSTD(1)),
    payload String CODEC(ZSTD(3)),
    failed_at DateTime64(3, 'UTC'),
    attempts UInt32,
    state LowCardinality(String),
    replayed_at DateTime64(3, 'UTC') DEFAULT 0,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (exporter, stream, record_id);
