-- Findings of the anomaly detectors (collector/detect/, docs/detectors.md), one row per finding as
-- shared/spec/audit-event-v1.md ("Findings") defines it. A finding's id is stable for the same detector,
-- entity and window, so a re-run or a live tick that sees the window again writes a new version of the
-- same row: ReplacingMergeTree keyed by finding_id keeps the highest `version` (the time it was written,
-- in ms), and reads use FINAL. Few rows (findings, not calls), so one partition and the id alone as key;
-- the minmax index on window_start lets time-range reads skip the rest. No TTL: findings are the record of
-- what was flagged; drop old ones by hand (ALTER TABLE findings DELETE WHERE window_start < ...).
CREATE TABLE IF NOT EXISTS findings
(
    finding_id String,
    detector LowCardinality(String),
    severity LowCardinality(String),
    score Float32,
    subaccount LowCardinality(String),
    entity_type LowCardinality(String),
    entity String CODEC(ZSTD(1)),
    window_start DateTime64(3, 'UTC'),
    window_end DateTime64(3, 'UTC'),
    title String CODEC(ZSTD(1)),
    explanation String CODEC(ZSTD(1)),
    evidence String CODEC(ZSTD(3)),
    first_detected_at DateTime64(3, 'UTC'),
    detected_at DateTime64(3, 'UTC'),
    version UInt64,
    INDEX idx_window_start window_start TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
ORDER BY finding_id;
