// Mutated bodies against a real `tunnelwatch collector` process: audit NDJSON with fields of wrong types,
// impossible dates, extra and prototype-named keys, odd line endings and damaged bytes; OTLP JSON and
// protobuf traces and logs with wrong values, cut or corrupted bytes and bogus lengths; random bytes on
// every ingest route; each plain or gzip. Every answer is one the ingest API documents (200, 400, 413,
// 415), a refusal says why, the process stays up, and every event of an audit body it acknowledged is
// stored exactly once. Seeded, so a failure names a body that can be replayed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type protobuf from 'protobufjs';
import { otlpProtoRoot } from '../../collector/otlp/otlp-protobuf.js';
import { uuidv7 } from '../../common/ids.js';
import { seededRandom } from '../helpers/audit-traffic.js';
import { auditEvents } from '../helpers/collector-fixtures.js';
import { queryStore, startCollectorProcess, type CollectorProcess } from '../helpers/collector-process.js';

function otlpTypes(): { traces: protobuf.Type; logs: protobuf.Type } {
  const root = otlpProtoRoot();
  return {
    traces: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    logs: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
  };
}

type Json = Record<string, unknown>;

describe('collector ingest under mutated bodies', () => {
  let c: CollectorProcess;
  before(async () => {
    c = await startCollectorProcess();
  });
  after(async () => {
    await c?.stop();
  });

  it('answers each with a documented status and keeps every acknowledged event once', async () => {
    const rnd = seededRandom(29112026);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
    const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('');
    const types = otlpTypes();
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const traces = (): Json => ({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fuzz' } }] }, scopeSpans: [{ scope: { name: 'fz' }, spans: [{
      traceId: hex(32), spanId: hex(16), name: 'GET /x', kind: 2, startTimeUnixNano: String(nowNs - 5_000_000n), endTimeUnixNano: String(nowNs),
      attributes: [{ key: 'http.request.method', value: { stringValue: 'GET' } }, { key: 'a', value: { arrayValue: { values: [{ boolValue: true }, { doubleValue: 1.5 }] } } }],
      events: [{ timeUnixNano: String(nowNs - 1000n), name: 'ev', attributes: [{ key: 'k', value: { intValue: 3 } }] }], status: { code: 1 } }] }] }] });
    const logs = (): Json => ({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fuzz' } }] }, scopeLogs: [{ scope: { name: 'fz' }, logRecords: [{
      timeUnixNano: String(nowNs), severityNumber: 9, severityText: 'INFO', body: { stringValue: 'hello' }, traceId: hex(32), spanId: hex(16) }] }] }] });
    /** The protobuf encoding of an OTLP JSON object (ids as bytes). */
    const protobufOf = (type: protobuf.Type, o: Json): Buffer => {
      const copy = JSON.parse(JSON.stringify(o), (k, v: unknown) => (['traceId', 'spanId'].includes(k) && typeof v === 'string' ? Buffer.from(v, 'hex') : v)) as Json;
      return Buffer.from(type.encode(type.fromObject(copy)).finish());
    };
    const weird: unknown[] = [null, true, 0, -1, 1.5, 2 ** 64, '', 'x'.repeat(70_000), '\u0000', '\ud800', [], {}, { a: [{ b: null }] }, '1', 'NaN',
      '2026-02-30T00:00:00.000Z', '2026-11-29T25:00:00.000Z', '0000-01-01T00:00:00.000Z'];
    const mutate = (o: Json, depth = 0): void => {
      const key = pick(Object.keys(o));
      const value = o[key];
      if (depth < 5 && value !== null && typeof value === 'object' && rnd() < 0.5) {
        const inner = Array.isArray(value) ? value[0] : value;
        if (inner !== null && typeof inner === 'object') return mutate(inner as Json, depth + 1);
      }
      const r = rnd();
      if (r < 0.7) o[key] = pick(weird);
      else if (r < 0.8) delete o[key];
      else Object.defineProperty(o, pick(['__proto__', 'constructor', 'toString', `extra_${hex(4)}`]), { value: pick(weird), enumerable: true, configurable: true, writable: true });
    };
    const damage = (b: Buffer): Buffer => {
      const r = rnd();
      const at = Math.floor(rnd() * b.length);
      if (r < 0.35) {
        const out = Buffer.from(b);
        for (let k = 0; k < 3; k++) out[Math.floor(rnd() * out.length)] = Math.floor(rnd() * 256);
        return out;
      }
      if (r < 0.6) return b.subarray(0, at);
      if (r < 0.8) return Buffer.concat([b.subarray(0, at), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), b.subarray(at)]);
      return Buffer.concat([b, Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)))]);
    };

    const acknowledged = new Set<string>();
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    for (let i = 0; i < 300 && failures.length < 10; i++) {
      const kind = pick(['audit', 'audit', 'audit', 'traces', 'traces', 'logs', 'random']);
      let path = '/v1/audit';
      let type = 'application/x-ndjson';
      let body: Buffer;
      let ids: string[] = [];
      let what: string;
      if (kind === 'audit') {
        const events = auditEvents(3, `fz-${i}`).map((e) => ({ ...e, event_id: uuidv7() }) as unknown as Json);
        ids = events.map((e) => e.event_id as string);
        const r = rnd();
        if (r < 0.55) mutate(events[Math.floor(rnd() * events.length)] as Json);
        let text = events.map((e) => JSON.stringify(e)).join(pick(['\n', '\n', '\r\n', '\n\n', '\n \n']));
        if (r >= 0.55 && r < 0.6) text = `\ufeff${text}`;
        body = Buffer.from(text);
        if (r >= 0.75) body = damage(body);
        what = body.toString('utf8', 0, 300);
      } else if (kind === 'traces' || kind === 'logs') {
        path = `/v1/${kind}`;
        const o = kind === 'traces' ? traces() : logs();
        if (rnd() < 0.5) {
          type = 'application/json';
          mutate(o);
          body = Buffer.from(JSON.stringify(o));
          if (rnd() < 0.3) body = damage(body);
        } else {
          type = 'application/x-protobuf';
          body = damage(protobufOf(kind === 'traces' ? types.traces : types.logs, o));
        }
        what = `${type} ${body.toString(type === 'application/json' ? 'utf8' : 'hex', 0, 200)}`;
      } else {
        path = pick(['/v1/audit', '/v1/traces', '/v1/logs', '/v1/rules']);
        type = pick(['application/x-protobuf', 'application/json', 'application/x-ndjson']);
        body = Buffer.from(Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)));
        what = `random ${body.length} bytes`;
      }
      const gzip = rnd() < 0.3;
      const res = await fetch(`${c.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${c.token}`, 'content-type': type, ...(gzip ? { 'content-encoding': 'gzip' } : {}) },
        body: gzip ? gzipSync(body) : body,
      });
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (![200, 400, 413, 415].includes(res.status)) failures.push(`#${i} ${path} ${res.status} ${text.slice(0, 200)} for ${what}`);
      else if (res.status !== 200 && text.length < 10) failures.push(`#${i} ${path} ${res.status} without a reason for ${what}`);
      if (res.status === 200) for (const id of ids) acknowledged.add(id);
    }
    assert.deepEqual(failures, []);
    assert.equal(c.process.child.exitCode, null, 'the collector is still running');
    assert.ok((statuses.get(200) ?? 0) >= 30 && (statuses.get(400) ?? 0) >= 100, `statuses: ${JSON.stringify([...statuses])}`);
    assert.ok(acknowledged.size >= 30, `${acknowledged.size} events acknowledged`);

    await c.stop();
    const [rows] = await queryStore<{ n: string; d: string }>(c.dataDir, [{ sql: 'SELECT count() AS n, uniqExact(event_id) AS d FROM audit_events WHERE event_id IN {ids:Array(String)}', params: { ids: [...acknowledged] } }]);
    const stored = rows?.[0];
    assert.deepEqual([Number(stored?.n), Number(stored?.d)], [acknowledged.size, acknowledged.size], 'every acknowledged event stored, once');
  });
});
