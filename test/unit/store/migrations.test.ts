import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { TunnelwatchError } from '../../../common/errors.js';
import { openStore } from '../../../collector/store/open-store.js';
import { applyMigrations, loadMigrations, splitStatements } from '../../../collector/store/migrations.js';
import { tempDir } from './store-fixture.js';

const EXPECTED_TABLES = [
  'admin_events', 'api_tokens', 'audit_backends', 'audit_backends_mv', 'audit_denied_1m', 'audit_denied_1m_mv', 'audit_denied_resources', 'audit_denied_resources_mv', 'audit_events', 'audit_events_archive', 'audit_hour',
  'audit_hour_mv', 'audit_latency', 'audit_latency_mv', 'audit_minute', 'audit_minute_mv', 'audit_series', 'audit_series_mv', 'backend_checks', 'export_cursors', 'export_dead_letters', 'findings', 'otel_logs', 'otel_traces', 'otel_traces_trace_id_ts', 'otel_traces_trace_id_ts_mv', 'rule_snapshot_rules',
  'rule_snapshots', 'schema_migrations',
];

describe('store migrations', () => {
  const dir = tempDir();
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('are numbered from 0001 without gaps and split into statements', () => {
    const migrations = loadMigrations();
    assert.deepEqual(migrations.map((m) => m.version), migrations.map((_, i) => i + 1));
    // CREATE ... IF NOT EXISTS, an index added to an existing table or a column's codec: forms that are harmless to repeat and that cluster mode renders.
    const renderable = /^(CREATE (TABLE|MATERIALIZED VIEW) IF NOT EXISTS |ALTER TABLE \w+ (ADD INDEX IF NOT EXISTS |MATERIALIZE INDEX |MODIFY COLUMN \w+ CODEC\())/;
    const other = migrations.flatMap((m) => m.statements.filter((s) => !renderable.test(s)).map((s) => `${m.version}: ${s.slice(0, 60)}`));
    assert.deepEqual(other, []);
    assert.ok(migrations.every((m) => m.statements.length > 0));
    assert.deepEqual(splitStatements('-- note\nSELECT 1;\n\n-- only a comment;\nSELECT 2;\n'), ['SELECT 1', 'SELECT 2']);
  });

  it('create every table on first open and record each migration once', async () => {
    const store = await openStore({ dataDir: dir });
    try {
      const tables = await store.query<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name');
      assert.deepEqual(tables.map((t) => t.name), EXPECTED_TABLES);
      // Exporters read both audit tables by ingested_at (migration 0019).
      const indexes = await store.query<{ table: string; type: string }>("SELECT table, type FROM system.data_skipping_indices WHERE database = currentDatabase() AND name = 'idx_ingested_at' ORDER BY table");
      assert.deepEqual(indexes.map((i) => `${i.table}:${i.type}`), ['audit_events:minmax', 'audit_events_archive:minmax']);
      // Scanned columns decompress fast, random text stays small (migration 0020).
      const codecs = await store.query<{ name: string; codec: string }>("SELECT name, compression_codec AS codec FROM system.columns WHERE database = currentDatabase() AND table = 'audit_events' AND name IN ('ts', 'path', 'principal', 'client_ip', 'user_agent', 'hash') ORDER BY name");
      assert.deepEqual(codecs.map((c) => `${c.name}:${c.codec}`), ['client_ip:CODEC(LZ4)', 'hash:CODEC(ZSTD(1))', 'path:CODEC(LZ4)', 'principal:CODEC(LZ4)', 'ts:CODEC(Delta(8), LZ4)', 'user_agent:CODEC(LZ4)']);
      const ledger = await store.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(ledger.map((r) => Number(r.version)), loadMigrations().map((m) => m.version));
    } finally {
      await store.close();
    }
  });

  it('apply nothing the second time, across a restart, and keep the ledger free of repeats', async () => {
    const store = await openStore({ dataDir: dir });
    try {
      const report = await applyMigrations(store.client);
      assert.deepEqual(report.applied, []);
      const [row] = await store.query<{ n: string; v: string }>('SELECT count() AS n, uniqExact(version) AS v FROM schema_migrations');
      assert.equal(row?.n, row?.v);
      assert.equal(Number(row?.n), loadMigrations().length);
    } finally {
      await store.close();
    }
  });

  it('refuse to start when an applied migration file changed', async () => {
    const store = await openStore({ dataDir: dir });
    try {
      const edited = loadMigrations().map((m) => (m.version === 1 ? { ...m, checksum: 'edited' } : m));
      await assert.rejects(applyMigrations(store.client, { migrations: edited }), (err: unknown) => {
        assert.ok(err instanceof TunnelwatchError);
        assert.equal(err.code, 'TW_ERR_STORE_MIGRATION');
        assert.match(err.message, /0001_audit_events\.sql changed after it was applied/);
        return true;
      });
    } finally {
      await store.close();
    }
  });
});
