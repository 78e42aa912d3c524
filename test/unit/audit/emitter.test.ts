import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../../common/audit/canonical-json.js';
import { AuditEmitter } from '../../../common/audit/emitter.js';
import { emptyCallRecord, type AuditEvent, type CallRecord } from '../../../common/audit/event.js';
import { computeEventHash, EMPTY_CHAIN } from '../../../common/audit/hash-chain.js';
import type { AuditSink } from '../../../common/audit/sink.js';

// Copied from the spec table (audit-event-v1.md) on purpose, so a drift in AUDIT_FIELDS shows up here.
const SPEC_FIELDS = [
  'schema', 'event_id', 'ts', 'duration_us', 'emitter', 'emitter_id', 'seq', 'prev_hash', 'hash',
  'subaccount', 'location_id', 'cloud_app', 'principal', 'client_ip', 'protocol', 'method',
  'virtual_host', 'virtual_port', 'internal_host', 'internal_port', 'path', 'query', 'user_agent',
  'decision', 'rule_id', 'deny_reason', 'status', 'error_type', 'bytes_in', 'bytes_out',
  'backend_connect_us', 'backend_ttfb_us', 'trace_id', 'span_id',
];

function memorySink(): AuditSink & { lines: string[]; events: AuditEvent[] } {
  const lines: string[] = [];
  const events: AuditEvent[] = [];
  return {
    lines,
    events,
    write(event, line) {
      events.push(event);
      lines.push(line);
    },
    flush: async () => {},
    close: async () => {},
  };
}

function call(i: number): CallRecord {
  return {
    ...emptyCallRecord(),
    ts: new Date(Date.UTC(2026, 10, 27, 21, 40, 54, i)).toISOString(),
    duration_us: 1000 + i,
    subaccount: 'acme-prod',
    cloud_app: 'orders-app',
    client_ip: '203.0.113.7',
    protocol: 'https',
    method: 'GET',
    virtual_host: 'erp.virtual',
    virtual_port: 443,
    internal_host: 'erp.corp.local',
    internal_port: 8443,
    path: `/api/orders/${i}`,
    decision: 'allow',
    rule_id: 'r1',
    status: 200,
    bytes_out: 512 + i,
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    span_id: '00f067aa0ba902b7',
  };
}

function newEmitter(sink: AuditSink, emitterId = 'connector-1'): AuditEmitter {
  return new AuditEmitter({ emitter: 'connector', emitterId, sinks: [sink], chain: EMPTY_CHAIN });
}

describe('AuditEmitter', () => {
  it('writes every field of the spec, in spec order, with the emitter identity and schema filled in', () => {
    const sink = memorySink();
    newEmitter(sink).emit(call(1));
    const line = sink.lines[0] as string;
    assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), 'one NDJSON line');
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), SPEC_FIELDS);
    assert.equal(parsed.schema, 'tunnelwatch.audit/1');
    assert.equal(parsed.emitter, 'connector');
    assert.equal(parsed.emitter_id, 'connector-1');
    assert.equal(parsed.path, '/api/orders/1');
  });

  it('numbers events from seq 1 and chains each prev_hash to the previous hash, starting from ""', () => {
    const sink = memorySink();
    const emitter = newEmitter(sink);
    for (let i = 0; i < 5; i++) emitter.emit(call(i));
    assert.deepEqual(sink.events.map((e) => e.seq), [1, 2, 3, 4, 5]);
    assert.equal(sink.events[0]?.prev_hash, '');
    for (let i = 1; i < 5; i++) assert.equal(sink.events[i]?.prev_hash, sink.events[i - 1]?.hash);
    assert.deepEqual(emitter.chain, { seq: 5, hash: sink.events[4]?.hash });
  });

  it('writes a hash that is the SHA-256 of the canonical JSON of the written line without hash', () => {
    const sink = memorySink();
    const emitter = newEmitter(sink);
    for (let i = 0; i < 3; i++) emitter.emit(call(i));
    for (const line of sink.lines) {
      const { hash, ...rest } = JSON.parse(line) as Record<string, unknown>;
      assert.match(hash as string, /^[0-9a-f]{64}$/);
      assert.equal(hash, createHash('sha256').update(canonicalJson(rest)).digest('hex'));
      assert.equal(hash, computeEventHash(JSON.parse(line) as Record<string, unknown>));
    }
  });

  it('gives each event a unique UUIDv7 event_id, in the order the events were emitted', () => {
    const sink = memorySink();
    const emitter = newEmitter(sink);
    for (let i = 0; i < 2000; i++) emitter.emit(call(i));
    const ids = sink.events.map((e) => e.event_id);
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids, 'lexical order of the ids is emit order');
    const ms = Number.parseInt((ids[0] as string).replace(/-/g, '').slice(0, 12), 16);
    assert.ok(Math.abs(ms - Date.now()) < 60_000, 'the id carries the current time in milliseconds');
  });

  it('continues a chain read back from disk rather than starting over at seq 1', () => {
    const first = memorySink();
    const a = newEmitter(first);
    a.emit(call(1));
    a.emit(call(2));
    const second = memorySink();
    const b = new AuditEmitter({ emitter: 'connector', emitterId: 'connector-1', sinks: [second], chain: a.chain });
    b.emit(call(3));
    assert.equal(second.events[0]?.seq, 3);
    assert.equal(second.events[0]?.prev_hash, first.events[1]?.hash);
  });

  it('keeps extension fields after the spec fields and covers them by the hash', () => {
    const sink = memorySink();
    const record = { ...call(1), x_site: 'fra-1', x_labels: { tier: 'gold', 'ä': [1, 2] } } as CallRecord;
    newEmitter(sink).emit(record);
    const parsed = JSON.parse(sink.lines[0] as string) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed).slice(-2), ['x_site', 'x_labels']);
    assert.deepEqual(parsed.x_labels, { tier: 'gold', 'ä': [1, 2] });
    assert.equal(computeEventHash(parsed), parsed.hash);
    assert.notEqual(computeEventHash({ ...parsed, x_site: 'fra-2' }), parsed.hash, 'changing an extension changes the hash');
  });

  it('does not let a call record override the chain or identity fields', () => {
    const sink = memorySink();
    const forged = { ...call(1), seq: 99, prev_hash: 'f'.repeat(64), emitter_id: 'someone-else', hash: 'x' } as unknown as CallRecord;
    const event = newEmitter(sink).emit(forged);
    assert.equal(event.seq, 1);
    assert.equal(event.prev_hash, '');
    assert.equal(event.emitter_id, 'connector-1');
    assert.equal(event.hash, computeEventHash(event as unknown as Record<string, unknown>));
  });

  it('does not advance the chain when a sink refuses the event', () => {
    const failing: AuditSink = { write: () => { throw new Error('disk full'); }, flush: async () => {}, close: async () => {} };
    const emitter = newEmitter(failing);
    assert.throws(() => emitter.emit(call(1)), /disk full/);
    assert.deepEqual(emitter.chain, EMPTY_CHAIN);
  });
});
