-- Where each SIEM exporter stands in each stream it exports (collector/export/, docs/siem.md): one row per
-- exporter name and stream ('audit' or 'findings'), `position` an opaque text only the export source reads
-- (the last exported row's sort key). A move is a new row with a higher version, never an update, so a
-- crash between batches leaves the last committed position: the exporter re-sends from there (at least
-- once; receivers de-duplicate by record id). Read the newest version of a key (FINAL, or ORDER BY version
-- DESC LIMIT 1, which also holds on a cluster). Few rows, one partition, no TTL.
CREATE TABLE IF NOT EXISTS export_cursors
(
    exporter String,
    stream LowCardinality(String),
    position String,
    updated_at DateTime64(3, 'UTC'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (exporter, stream);
