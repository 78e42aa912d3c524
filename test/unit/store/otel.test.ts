import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TunnelwatchError } from '../../../common/errors.js';
import { nanoTime, type LogRow, type SpanRow } from '../../../collector/store/otel-rows.js';
import type { Store } from '../../../collector/store/store.js';
import { freshStore } from './store-fixture.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

function span(overrides: Partial<SpanRow> = {}): SpanRow {
  const startNs = BigInt(Date.now() - 60_000) * 1_000_000n + 123_456n;
  return {
    Timestamp: startNs,
    TraceId: TRACE,
    SpanId: '00f067aa0ba902b7',
    ParentSpanId: '',
    TraceState: 'vendor=x',
    SpanName: 'tunnel call',
    SpanKind: 'Server',
    ServiceName: 'tunnelwatch-connector',
    ResourceAttributes: { 'service.name': 'tunnelwatch-connector', 'host.name': 'conn-1' },
    ScopeName: 'tunnelwatch',
    ScopeVersion: '0.1.0',
    SpanAttributes: { 'http.request.method': 'GET', 'url.path': '/api/ünï' },
    Duration: 18_446_744_073_709_551_615n,
    StatusCode: 'Ok',
    StatusMessage: '',
    Events: [{ Timestamp: startNs + 1000n, Name: 'backend.connected', Attributes: { 'tw.phase': 'connect' } }],
    Links: [{ TraceId: 'aa'.repeat(16), SpanId: 'bb'.repeat(8), TraceState: '', Attributes: { k: 'v' } }],
    ...overrides,
  };
}

function logRow(overrides: Partial<LogRow> = {}): LogRow {
  return {
    Timestamp: new Date(Date.now() - 1000).toISOString(),
    TraceId: TRACE,
    SpanId: '00f067aa0ba902b7',
    TraceFlags: 1,
    SeverityText: 'WARN',
    SeverityNumber: 13,
    ServiceName: 'tunnelwatch-relay',
    Body: 'backend refused the connection\twith a tab',
    ResourceSchemaUrl: '',
    ResourceAttributes: { 'service.name': 'tunnelwatch-relay' },
    ScopeSchemaUrl: '',
    ScopeName: 'pino',
    ScopeVersion: '',
    ScopeAttributes: {},
    LogAttributes: { component: 'relay.session' },
    EventName: '',
    ...overrides,
  };
}

describe('spans and logs in the store', () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  before(async () => ({ store, cleanup } = await freshStore()));
  after(() => cleanup());

  it('stores spans with the exporter\'s columns, nested events and links, and fills the trace id lookup', async () => {
    const s = span();
    assert.deepEqual(await store.insertSpans([s, span({ SpanId: '1111111111111111', ParentSpanId: '00f067aa0ba902b7', SpanKind: 'Client', Duration: 42 })]), { inserted: 2, expired: 0 });
    const [row] = await store.query<Record<string, unknown>>(
      'SELECT toString(Timestamp) AS ts, TraceState, SpanAttributes, Duration, `Events.Name` AS en, toString(`Events.Timestamp`[1]) AS et, `Links.TraceId` AS lt, ResourceAttributes FROM otel_traces WHERE SpanKind = {k:String}',
      { k: 'Server' },
    );
    const expected = nanoTime(s.Timestamp, 'span', 'Timestamp').text;
    assert.equal(row?.ts, expected);
    assert.equal(row?.Duration, '18446744073709551615');
    assert.deepEqual(row?.SpanAttributes, s.SpanAttributes);
    assert.deepEqual(row?.ResourceAttributes, s.ResourceAttributes);
    assert.deepEqual(row?.en, ['backend.connected']);
    assert.deepEqual(row?.lt, ['aa'.repeat(16)]);
    const lookup = await store.query<{ TraceId: string }>('SELECT TraceId FROM otel_traces_trace_id_ts');
    assert.ok(lookup.length >= 1 && lookup.every((r) => r.TraceId === TRACE));
  });

  it('stores logs, with TimestampTime derived by the table', async () => {
    const l = logRow();
    assert.deepEqual(await store.insertLogs([l]), { inserted: 1, expired: 0 });
    const [row] = await store.query<{ Body: string; t: string; SeverityNumber: number; LogAttributes: Record<string, string> }>(
      'SELECT Body, toString(TimestampTime) AS t, SeverityNumber, LogAttributes FROM otel_logs',
    );
    assert.equal(row?.Body, l.Body);
    assert.equal(row?.t, String(l.Timestamp).slice(0, 19).replace('T', ' '));
    assert.equal(row?.SeverityNumber, 13);
    assert.deepEqual(row?.LogAttributes, l.LogAttributes);
  });

  it('refuses a span whose time or duration cannot be stored, failing only that call', async () => {
    await assert.rejects(store.insertSpans([span({ Timestamp: 'soon' })]), (e: unknown) => e instanceof TunnelwatchError && e.code === 'TW_ERR_STORE_INVALID_ROW' && /Timestamp/.test(e.message));
    await assert.rejects(store.insertSpans([span({ Duration: -5 })]), /Duration/);
    await assert.rejects(store.insertLogs([logRow({ SeverityNumber: 300 })]), /SeverityNumber/);
  });

  it('converts OTLP nanoseconds and RFC 3339 times to UTC with nanoseconds', () => {
    assert.deepEqual(nanoTime(1_764_279_654_123_456_789n, 's', 'T'), { text: '2025-11-27 21:40:54.123456789', ms: 1_764_279_654_123 });
    assert.equal(nanoTime('1764279654123456789', 's', 'T').text, '2025-11-27 21:40:54.123456789');
    assert.equal(nanoTime('2025-11-27T23:40:54.5+02:00', 's', 'T').text, '2025-11-27 21:40:54.500000000');
    assert.equal(nanoTime('2025-11-27 21:40:54', 's', 'T').text, '2025-11-27 21:40:54.000000000');
  });
});
