// The Native blocks of spans and logs against chDB itself: a block read back with file() holds exactly
// what was encoded, and rows inserted through the embedded (Native) path equal the same rows inserted
// through the server's JSONEachRow path, column for column.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { logLine, nanoText, prepareLog, prepareSpan, spanLine, spanNativeBlock, type LogRow, type SpanRow } from '../../../collector/store/otel-rows.js';
import { jsonEachRowInsert } from '../../../collector/store/otel-writer.js';
import type { Store } from '../../../collector/store/store.js';
import { freshStore } from './store-fixture.js';

const nowNs = BigInt(Date.now() - 60_000) * 1_000_000n + 987_654n;
const long = 'x'.repeat(200) + 'é';

function spans(traceId: string): SpanRow[] {
  const base: SpanRow = {
    Timestamp: nowNs,
    TraceId: traceId,
    SpanId: '00f067aa0ba902b7',
    ParentSpanId: '',
    TraceState: '',
    SpanName: 'HTTP GET',
    SpanKind: 'Server',
    ServiceName: 'tunnelwatch-relay',
    ResourceAttributes: { 'service.name': 'tunnelwatch-relay', 'service.instance.id': 'relay-1' },
    ScopeName: 'tunnelwatch',
    ScopeVersion: '0.1.0',
    SpanAttributes: { 'http.request.method': 'GET', 'url.path': '/api/ünï', 'tunnelwatch.phase.relay_us': '42' },
    Duration: 1_234_567n,
    StatusCode: 'Unset',
    StatusMessage: '',
    Events: [],
    Links: [],
  };
  return [
    base,
    {
      ...base,
      SpanId: '1111111111111111',
      ParentSpanId: '00f067aa0ba902b7',
      SpanKind: 'Client',
      SpanAttributes: {},
      ResourceAttributes: { long },
      Duration: 18_446_744_073_709_551_615n,
      StatusCode: 'Error',
      StatusMessage: long,
      Events: [
        { Timestamp: nowNs + 5n, Name: 'backend.connected', Attributes: { 'tw.phase': 'connect', n: '1' } },
        { Timestamp: '2026-01-02T03:04:05.123456789Z', Name: 'exception', Attributes: {} },
      ],
      Links: [{ TraceId: 'aa'.repeat(16), SpanId: 'bb'.repeat(8), TraceState: 'k=v', Attributes: { link: 'yes' } }],
    },
    { ...base, SpanId: '2222222222222222', Timestamp: '1969-12-31T23:59:59.5Z', Events: [{ Timestamp: 0n, Name: '', Attributes: { '': '' } }] },
  ];
}

function log(traceId: string): LogRow {
  return {
    Timestamp: nowNs,
    TraceId: traceId,
    SpanId: '00f067aa0ba902b7',
    TraceFlags: 1,
    SeverityText: 'WARN',
    SeverityNumber: 13,
    ServiceName: 'tunnelwatch-relay',
    Body: `backend refused\tthe connection ${long}`,
    ResourceSchemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
    ResourceAttributes: { 'service.name': 'tunnelwatch-relay' },
    ScopeSchemaUrl: '',
    ScopeName: 'pino',
    ScopeVersion: '9',
    ScopeAttributes: { a: 'b' },
    LogAttributes: { component: 'relay.session', 'ü': 'ö' },
    EventName: 'ev',
  };
}

describe('Native blocks of spans and logs', () => {
  let store: Store;
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ store, dir, cleanup } = await freshStore()));
  after(() => cleanup());

  it('reads back from file(Native) exactly what was encoded', async () => {
    const input = spans('ab'.repeat(16));
    const file = join(dir, 'roundtrip.native');
    writeFileSync(file, spanNativeBlock(input.map(prepareSpan)));
    // The path is this test's own temp file, not input.
    const rows = await store.query<Record<string, unknown>>(
      `SELECT toString(Timestamp) AS ts, TraceId, SpanId, ParentSpanId, SpanKind, ResourceAttributes, SpanAttributes, Duration, StatusMessage,
              arrayMap(t -> toString(t), \`Events.Timestamp\`) AS et, \`Events.Name\` AS en, \`Events.Attributes\` AS ea,
              \`Links.TraceId\` AS lt, \`Links.SpanId\` AS ls, \`Links.TraceState\` AS lst, \`Links.Attributes\` AS la
       FROM file('${file}', Native)`,
    );
    assert.equal(rows.length, 3);
    for (let i = 0; i < input.length; i++) {
      const s = input[i] as SpanRow;
      const p = prepareSpan(s);
      const r = rows[i] as Record<string, unknown>;
      assert.equal(r.ts, nanoText(p.tsNs));
      assert.equal(r.SpanId, s.SpanId);
      assert.equal(r.ParentSpanId, s.ParentSpanId);
      assert.equal(r.SpanKind, s.SpanKind);
      assert.deepEqual(r.ResourceAttributes, s.ResourceAttributes);
      assert.deepEqual(r.SpanAttributes, s.SpanAttributes);
      assert.equal(r.Duration, BigInt(s.Duration).toString());
      assert.equal(r.StatusMessage, s.StatusMessage);
      assert.deepEqual(r.et, p.eventNs.map(nanoText));
      assert.deepEqual(r.en, s.Events.map((e) => e.Name));
      assert.deepEqual(r.ea, s.Events.map((e) => ({ ...e.Attributes })));
      assert.deepEqual(r.lt, s.Links.map((l) => l.TraceId));
      assert.deepEqual(r.ls, s.Links.map((l) => l.SpanId));
      assert.deepEqual(r.lst, s.Links.map((l) => l.TraceState));
      assert.deepEqual(r.la, s.Links.map((l) => ({ ...l.Attributes })));
    }
    assert.equal(rows[2]?.ts, '1969-12-31 23:59:59.500000000');
    assert.deepEqual(rows[1]?.et, [nanoText(nowNs + 5n), '2026-01-02 03:04:05.123456789']);
  });

  it('stores the same rows through the Native path as through JSONEachRow', async () => {
    assert.equal(store.mode, 'embedded');
    const native = 'cd'.repeat(16);
    const text = 'ef'.repeat(16);
    // The 1969 span is past the retention (the store's writer would leave it out); the other two.
    assert.deepEqual(await store.insertSpans(spans(native).slice(0, 2)), { inserted: 2, expired: 0 });
    await jsonEachRowInsert(store.client, 'otel_traces', spanLine)(spans(text).slice(0, 2).map(prepareSpan));
    assert.deepEqual(await store.insertLogs([log(native)]), { inserted: 1, expired: 0 });
    await jsonEachRowInsert(store.client, 'otel_logs', logLine)([prepareLog(log(text))]);

    const read = async (table: string, order: string, t: string): Promise<unknown[]> =>
      (await store.query<Record<string, unknown>>(`SELECT * EXCEPT TraceId FROM ${table} WHERE TraceId = {t:String} ORDER BY ${order}`, { t })).map((r) => JSON.stringify(r));
    const nativeSpans = await read('otel_traces', 'SpanId', native);
    assert.equal(nativeSpans.length, 2);
    assert.deepEqual(nativeSpans, await read('otel_traces', 'SpanId', text));
    const nativeLogs = await read('otel_logs', 'Timestamp', native);
    assert.equal(nativeLogs.length, 1);
    assert.deepEqual(nativeLogs, await read('otel_logs', 'Timestamp', text));
    const [lookup] = await store.query<{ n: string }>('SELECT count() AS n FROM otel_traces_trace_id_ts WHERE TraceId = {t:String}', { t: native });
    assert.equal(Number(lookup?.n), 1);
  });

  it('refuses times DateTime64(9) cannot hold', async () => {
    await assert.rejects(store.insertSpans([{ ...(spans('01'.repeat(16))[0] as SpanRow), Timestamp: 18_000_000_000_000_000_000n }]), /Timestamp/);
  });
});
