import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterRenderer, renderClusterDdl } from '../../../collector/store/cluster-ddl.js';
import { applyRetention, resolveRetention } from '../../../collector/store/retention.js';
import type { Store } from '../../../collector/store/store.js';
import { freshStore } from './store-fixture.js';

describe('cluster DDL', () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  before(async () => ({ store, cleanup } = await freshStore()));
  after(() => cleanup());
  // chDB itself is the parser: formatQuery() fails with a syntax error on a statement ClickHouse cannot parse.
  const parse = async (statement: string): Promise<string> => (await store.query<{ f: string }>('SELECT formatQuery({q:String}) AS f', { q: statement }))[0]?.f ?? '';

  it('parses, every statement of it', async () => {
    const statements = renderClusterDdl({ cluster: 'tw_cluster', retention: { auditDays: 90 } });
    assert.ok(statements.length > 20);
    for (const statement of statements) {
      const formatted = await parse(statement).catch((err: Error) => assert.fail(`does not parse: ${err.message}\n${statement}`));
      assert.match(formatted, /ON CLUSTER tw_cluster/);
    }
  });

  it('sends retention changes ON CLUSTER in a form the engine parses (it then looks for the cluster)', async () => {
    await assert.rejects(applyRetention(store.client, resolveRetention({}), { cluster: 'tw_cluster' }), (err: Error) => {
      assert.doesNotMatch(String((err.cause as Error | undefined)?.message ?? err.message), /Syntax error/);
      assert.match(err.message, /retention of audit_events_local/);
      return true;
    });
  });

  it('makes replicated local tables, Distributed tables under the original names, and local views', () => {
    const ddl = renderClusterDdl({ cluster: 'tw_cluster' }).join(';\n');
    assert.match(ddl, /CREATE TABLE IF NOT EXISTS audit_events_local ON CLUSTER tw_cluster\n\(/);
    assert.match(ddl, /ENGINE = ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/audit_events_local', '\{replica\}'\)/);
    assert.match(ddl, /CREATE TABLE IF NOT EXISTS audit_events ON CLUSTER tw_cluster AS audit_events_local\nENGINE = Distributed\(tw_cluster, currentDatabase\(\), audit_events_local, cityHash64\(event_id\)\)/);
    assert.match(ddl, /ENGINE = ReplicatedAggregatingMergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/audit_minute_local', '\{replica\}'\)/);
    assert.match(ddl, /ENGINE = ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/otel_traces_local', '\{replica\}'\)/);
    assert.match(ddl, /CREATE MATERIALIZED VIEW IF NOT EXISTS audit_minute_mv ON CLUSTER tw_cluster TO audit_minute_local[\s\S]*?FROM audit_events_local/);
    assert.match(ddl, /CREATE TABLE IF NOT EXISTS audit_events_archive_local ON CLUSTER tw_cluster AS audit_events_local/);
    assert.match(ddl, /ALTER TABLE audit_events_local ON CLUSTER tw_cluster MODIFY TTL toDateTime\(ts\) \+ toIntervalDay\(365\)/);
    assert.match(ddl, /ALTER TABLE audit_events_local ON CLUSTER tw_cluster ADD INDEX IF NOT EXISTS idx_ingested_at ingested_at TYPE minmax GRANULARITY 1/);
    assert.match(ddl, /ALTER TABLE audit_events_archive_local ON CLUSTER tw_cluster MATERIALIZE INDEX idx_ingested_at/);
    assert.match(ddl, /ALTER TABLE audit_events_local ON CLUSTER tw_cluster MODIFY COLUMN path CODEC\(LZ4\)/);
    assert.doesNotMatch(ddl, /\baudit_events_local_local\b|\botel_traces_local_trace_id_ts/);
  });

  it('would catch a statement that does not parse', async () => {
    const broken = clusterRenderer('tw_cluster', ['t'])('CREATE TABLE IF NOT EXISTS t (a UInt8 ENGINE = MergeTree ORDER BY a');
    await assert.rejects(parse(broken[0] ?? ''), /Syntax error/);
  });

  it('refuses a cluster name that is not a plain identifier', () => {
    assert.throws(() => renderClusterDdl({ cluster: 'c; DROP TABLE x' }), /plain identifier/);
  });
});
