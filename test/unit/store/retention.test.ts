import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { openStore } from '../../../collector/store/open-store.js';
import { expiryCutoffMs, resolveRetention, ttlDaysOf } from '../../../collector/store/retention.js';
import type { SpanRow } from '../../../collector/store/otel-rows.js';
import { auditEvents, tempDir } from './store-fixture.js';

const DAY = 86_400_000;

function span(tsMs: number, name: string): SpanRow {
  return {
    Timestamp: BigInt(tsMs) * 1_000_000n,
    TraceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    SpanId: '00f067aa0ba902b7',
    ParentSpanId: '',
    TraceState: '',
    SpanName: name,
    SpanKind: 'Server',
    ServiceName: 'tunnelwatch-relay',
    ResourceAttributes: {},
    ScopeName: 'tunnelwatch',
    ScopeVersion: '0.1.0',
    SpanAttributes: {},
    Duration: 1500,
    StatusCode: 'Ok',
    StatusMessage: '',
    Events: [],
    Links: [],
  };
}

describe('retention and old data', () => {
  const dir = tempDir();
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('sets each table\'s TTL from the config, and changes it on the next start', async () => {
    let store = await openStore({ dataDir: dir, retention: { auditDays: 30, tracesDays: 7 } });
    const ttl = async (name: string): Promise<number> => ttlDaysOf((await store.query<{ e: string }>('SELECT engine_full AS e FROM system.tables WHERE name = {n:String}', { n: name }))[0]?.e ?? '');
    try {
      assert.equal(await ttl('audit_events'), 30);
      assert.equal(await ttl('otel_traces'), 7);
      assert.equal(await ttl('otel_traces_trace_id_ts'), 7);
      assert.equal(await ttl('otel_logs'), 30);
      assert.equal(await ttl('audit_minute'), 400);
    } finally {
      await store.close();
    }
    store = await openStore({ dataDir: dir, retention: { auditDays: 365, logsDays: 0 } });
    try {
      assert.equal(await ttl('audit_events'), 365);
      assert.equal(await ttl('otel_logs'), 0, 'logsDays 0 keeps logs for ever (no TTL)');
    } finally {
      await store.close();
    }
  });

  it('keeps a replay of 400-day-old events in audit_events_archive instead of losing it to the TTL', async () => {
    const store = await openStore({ dataDir: dir, retention: { auditDays: 365 } });
    try {
      const old = auditEvents(300, (i) => ({ ts: new Date(Date.now() - 400 * DAY + i * 1000).toISOString() }));
      const fresh = auditEvents(100);
      const result = await store.insertAuditEvents([...old, ...fresh]);
      assert.deepEqual(result, { inserted: 100, duplicates: 0, archived: 300 });
      const [archive] = await store.query<{ n: string }>('SELECT count() AS n FROM audit_events_archive FINAL');
      assert.equal(Number(archive?.n), 300);
      const back = await store.getAuditEvents([old[0]?.event_id ?? '', old[299]?.event_id ?? '']);
      assert.deepEqual(back, [old[0], old[299]]);
      // Sent again (an emitter retrying its spool): recognised in the archive, not stored twice.
      assert.deepEqual(await store.insertAuditEvents(old.slice(0, 50)), { inserted: 0, duplicates: 50, archived: 0 });
      assert.equal(store.stats().audit.archived, 300);
    } finally {
      await store.close();
    }
  });

  it('proves the hazard is real: the same old rows inserted straight into audit_events vanish', async () => {
    const store = await openStore({ dataDir: dir, retention: { auditDays: 365 } });
    try {
      await store.client.command({ query: "INSERT INTO audit_events (event_id, ts, subaccount) VALUES ('straight-in', now64(3) - INTERVAL 400 DAY, 'acme-prod')" });
      const [row] = await store.query<{ n: string }>("SELECT count() AS n FROM audit_events WHERE event_id = 'straight-in'");
      assert.equal(Number(row?.n), 0);
    } finally {
      await store.close();
    }
  });

  it('counts and reports spans older than their retention instead of dropping them silently', async () => {
    const store = await openStore({ dataDir: dir, retention: { tracesDays: 30 } });
    try {
      const result = await store.insertSpans([span(Date.now() - 40 * DAY, 'old'), span(Date.now(), 'new')]);
      assert.deepEqual(result, { inserted: 1, expired: 1 });
      assert.equal(store.stats().spans.expired, 1);
      const rows = await store.query<{ SpanName: string }>('SELECT SpanName FROM otel_traces');
      assert.deepEqual(rows.map((r) => r.SpanName), ['new']);
    } finally {
      await store.close();
    }
  });

  it('validates the configured days and computes the expiry cut-off with a day of margin', () => {
    assert.throws(() => resolveRetention({ auditDays: -1 }), /auditDays must be a whole number of days/);
    assert.throws(() => resolveRetention({ logsDays: 1.5 }), /logsDays/);
    const now = Date.UTC(2026, 10, 27);
    assert.equal(expiryCutoffMs(365, now), now - 364 * DAY);
    assert.equal(expiryCutoffMs(0, now), -Infinity);
    assert.equal(ttlDaysOf("ENGINE = MergeTree TTL toDateTime(ts) + toIntervalDay(_CAST(30, 'UInt32')) SETTINGS x"), 30);
    assert.equal(ttlDaysOf('ENGINE = MergeTree TTL minute + toIntervalDay(12)'), 12);
    assert.equal(ttlDaysOf('ENGINE = MergeTree ORDER BY x'), 0);
  });
});
