-- Dashboard API tokens created by admins (dashboard/auth/api-tokens.ts). Only the SHA-256 of a token is
-- kept; the token itself is shown once, at creation. A revocation is a new row of the same id with a
-- higher version, so nothing is ever updated in place; read the newest row of each id
-- (ORDER BY id, version DESC LIMIT 1 BY id), which also holds on a cluster where versions of one id may
-- sit on different shards. subaccounts ['*'] means all. A zero time (1970-01-01) in expires_at or
-- revoked_at means never / not revoked.
CREATE TABLE IF NOT EXISTS api_tokens
(
    id String,
    name String,
    role LowCardinality(String),
    subaccounts Array(String),
    sha256 String,
    created_at DateTime64(3, 'UTC'),
    created_by String,
    expires_at DateTime64(3, 'UTC') DEFAULT 0,
    revoked_at DateTime64(3, 'UTC') DEFAULT 0,
    revoked_by String DEFAULT '',
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;
