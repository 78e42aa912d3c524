-- Events older than the audit retention when they arrive (a replay of old files, a spool that was offline
-- for months). The TTL of audit_events would drop them at insert, so the writer routes them here instead:
-- same columns and key, monthly partitions, no TTL. Nothing ages out of this table by itself; drop old
-- months by hand with ALTER TABLE audit_events_archive DROP PARTITION (docs/store.md).
CREATE TABLE IF NOT EXISTS audit_events_archive AS audit_events
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
PRIMARY KEY (subaccount, toStartOfHour(ts))
ORDER BY (subaccount, toStartOfHour(ts), ts, event_id)
SETTINGS index_granularity = 8192;
