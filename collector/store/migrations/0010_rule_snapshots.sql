-- Access-rule snapshots reported by connectors (POST /v1/rules): one row per distinct rule set of a
-- connector. The key is (connector_id, snapshot_hash), so the same rules reported again (a retry, a
-- restart, the periodic refresh) collapse into one row whose taken_at is the latest report: the version
-- column makes ReplacingMergeTree keep that one, and reads use FINAL. A connector's current rules are its
-- row with the greatest taken_at. `rules` is the connector's describePolicy() JSON as received.
CREATE TABLE IF NOT EXISTS rule_snapshots
(
    connector_id LowCardinality(String),
    location_id LowCardinality(String),
    snapshot_hash String,
    taken_at DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    rule_count UInt32,
    rules String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree(taken_at)
ORDER BY (connector_id, snapshot_hash);

-- The same snapshots expanded into one row per rule, so queries join rules to audit_events.rule_id
-- without parsing JSON: a resource of an http/https mapping (rule_id = the resource id), a tcp/tcps
-- mapping (rule_id = the mapping id, as decide() reports it), or an http/https mapping without resources
-- (rule_id '', kind 'empty_mapping': it allows nothing). A snapshot's rows never change, so a re-sent
-- snapshot collapses onto the same keys. `position` keeps the configuration order.
CREATE TABLE IF NOT EXISTS rule_snapshot_rules
(
    connector_id LowCardinality(String),
    snapshot_hash String,
    subaccount LowCardinality(String),
    mapping_id String,
    rule_id String,
    kind LowCardinality(String),
    position UInt32,
    virtual String,
    internal String,
    protocol LowCardinality(String),
    host_header String,
    path String,
    match LowCardinality(String),
    methods Array(LowCardinality(String)),
    active Bool,
    websocket Bool,
    trusted_apps Array(String)
)
ENGINE = ReplacingMergeTree
ORDER BY (connector_id, snapshot_hash, subaccount, mapping_id, rule_id);
