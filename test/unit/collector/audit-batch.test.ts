import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AUDIT_FIELDS } from '../../../common/audit/event.js';
import { FIELD_CHECKS, fileLineProblem, parseAuditBatch, parseJsonLine, printable } from '../../../collector/audit-batch.js';
import { auditEvents, ndjson } from '../../helpers/collector-fixtures.js';

const one = () => auditEvents(1)[0] as unknown as Record<string, unknown>;

function reject(mutate: (e: Record<string, unknown>) => void): { line: number; reason: string } {
  const events = auditEvents(3) as unknown as Record<string, unknown>[];
  mutate(events[1] as Record<string, unknown>);
  const r = parseAuditBatch(ndjson(events));
  assert.equal(r.ok, false, 'the batch should be refused');
  return r as { line: number; reason: string };
}

test('checks every field of audit-event-v1, and nothing else', () => {
  assert.deepEqual(Object.keys(FIELD_CHECKS), [...AUDIT_FIELDS]);
});

test('accepts events as the emitter writes them, with or without a final newline and with blank lines', () => {
  const events = auditEvents(5);
  assert.equal(parseAuditBatch(ndjson(events)).ok, true);
  const r = parseAuditBatch(`\n${ndjson(events).trimEnd()}\r\n\n`);
  assert.ok(r.ok);
  assert.equal(r.events.length, 5);
});

test('keeps unknown extension fields as they came', () => {
  const e = { ...one(), x_tenant_tier: 'gold', x_nested: { a: [1, 2] } };
  const r = parseAuditBatch(ndjson([e]));
  assert.ok(r.ok);
  assert.deepEqual(r.events[0], e);
});

test('refuses a line that is not JSON, naming the line', () => {
  const events = auditEvents(2);
  const r = parseAuditBatch(`${JSON.stringify(events[0])}\n{"schema": "tunnelwatch.audit/1",\n${JSON.stringify(events[1])}\n`);
  assert.deepEqual(r.ok, false);
  assert.equal((r as { line: number }).line, 2);
  assert.match((r as { reason: string }).reason, /^not JSON: /);
});

test('counts blank lines when naming the bad line', () => {
  const events = auditEvents(2);
  const r = parseAuditBatch(`${JSON.stringify(events[0])}\n\n[1,2]\n`);
  assert.equal((r as { line: number }).line, 3);
  assert.match((r as { reason: string }).reason, /expected a JSON object/);
});

test('refuses an event with a missing field', () => {
  const r = reject((e) => delete e.subaccount);
  assert.equal(r.line, 2);
  assert.match(r.reason, /missing field "subaccount"/);
});

test('refuses a wrong enum value, listing the allowed ones', () => {
  const r = reject((e) => (e.protocol = 'ftp'));
  assert.match(r.reason, /field "protocol": expected one of "http", "https", "tcp", "tcps" \(got "ftp"\)/);
  assert.match(reject((e) => (e.deny_reason = 'because')).reason, /field "deny_reason"/);
  assert.match(reject((e) => (e.error_type = 'oops')).reason, /field "error_type"/);
  assert.match(reject((e) => (e.decision = 'maybe')).reason, /field "decision"/);
  assert.match(reject((e) => (e.emitter = 'proxy')).reason, /field "emitter"/);
});

test('refuses wrong types and out-of-range numbers', () => {
  assert.match(reject((e) => (e.status = '200')).reason, /field "status": expected an integer from 0 to 999 \(got "200"\)/);
  assert.match(reject((e) => (e.virtual_port = 70000)).reason, /field "virtual_port"/);
  assert.match(reject((e) => (e.bytes_in = -1)).reason, /field "bytes_in"/);
  assert.match(reject((e) => (e.duration_us = 1.5)).reason, /field "duration_us"/);
  assert.match(reject((e) => (e.seq = 0)).reason, /field "seq"/);
  assert.match(reject((e) => (e.path = null)).reason, /field "path": expected a string/);
});

test('refuses malformed ids, hashes, times and subaccounts', () => {
  assert.match(reject((e) => (e.schema = 'tunnelwatch.audit/2')).reason, /field "schema"/);
  assert.match(reject((e) => (e.event_id = 'not-a-uuid')).reason, /field "event_id": expected a lower-case UUIDv7/);
  assert.match(reject((e) => (e.event_id = '0190163d-8694-4000-8000-000000000000')).reason, /field "event_id"/, 'a UUIDv4 is not a UUIDv7');
  assert.match(reject((e) => (e.ts = '2026-11-27T21:40:54Z')).reason, /field "ts": expected an RFC 3339 UTC time with milliseconds/);
  assert.match(reject((e) => (e.ts = '2026-02-30T21:40:54.123Z')).reason, /field "ts"/);
  for (const ts of ['2106-02-07T06:28:16.000Z', '9999-12-31T23:59:59.999Z', '2100-01-01T00:00:00.000Z', '1969-12-31T23:59:59.999Z', '0001-01-01T00:00:00.000Z']) {
    assert.match(reject((e) => (e.ts = ts)).reason, /field "ts": expected a time from 1970-01-01 to 2099-12-31/, ts);
  }
  for (const ts of ['1970-01-01T00:00:00.000Z', '2099-12-31T23:59:59.999Z']) {
    assert.equal(parseAuditBatch(ndjson([{ ...one(), ts }])).ok, true, ts);
  }
  assert.match(reject((e) => (e.hash = 'abc')).reason, /field "hash"/);
  assert.match(reject((e) => (e.prev_hash = 'ABC')).reason, /field "prev_hash"/);
  assert.match(reject((e) => (e.subaccount = 'Acme Corp')).reason, /field "subaccount"/);
  assert.match(reject((e) => (e.trace_id = '4BF92F3577B34DA6A3CE929D0E0E4736')).reason, /field "trace_id"/);
  assert.match(reject((e) => (e.span_id = '00f067aa')).reason, /field "span_id"/);
});

test('takes the empty values the spec allows', () => {
  const e = { ...one(), subaccount: '', prev_hash: '', deny_reason: '', error_type: '', trace_id: '', span_id: '', status: 0 };
  assert.equal(parseAuditBatch(ndjson([e])).ok, true);
});

test('an empty body is an empty batch', () => {
  const r = parseAuditBatch('');
  assert.ok(r.ok);
  assert.equal(r.events.length, 0);
});

test('reports lines that are not JSON or not UTF-8 in printable text', () => {
  assert.equal(printable('a\u0000b\u001bc\u007fd\ufffd'), 'a\\u0000b\\u001bc\\u007fd\\ufffd');
  const r = parseJsonLine('{"x": "\u0000');
  assert.ok(r.reason !== undefined && r.reason.startsWith('not JSON: '), JSON.stringify(r));
  // eslint-disable-next-line no-control-regex -- no raw control character may be left
  assert.doesNotMatch(r.reason ?? '', /[\u0000-\u001f]/);
  assert.match(fileLineProblem('{"path": "/caf\ufffd"}') ?? '', /not valid UTF-8/);
  assert.equal(fileLineProblem('{"path": "/caf\u00e9"}'), undefined);
});
