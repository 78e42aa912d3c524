// The ECS row path (ecs-rows.ts) against auditEcsJson(), on rows read back from a real embedded store: the
// same bytes for every record (JSON escaping of quotes, backslashes and every control character, non-ASCII,
// IPv4 and IPv6 clients and hosts, empty fields, extension fields, UInt64 beyond 2^53), and a refusal (so
// the decoded event is mapped instead) where they could differ.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auditEcsJson } from '../../../../collector/export/elasticsearch/ecs.js';
import { createEcsRowWriter } from '../../../../collector/export/elasticsearch/ecs-rows.js';
import type { ExportRecord } from '../../../../collector/export/types.js';
import type { AuditEvent } from '../../../../common/audit/event.js';
import { trafficEvents } from '../../../helpers/audit-traffic.js';
import { openTestStore, type TestStore } from '../../../helpers/dashboard.js';
import { insertEdgeRows, readAllAudit } from '../../../helpers/export-records.js';
import { NASTY, nastyAuditEvents, storedAuditRecords } from '../syslog/records.js';

type AuditRecord = Extract<ExportRecord, { stream: 'audit' }>;
const NAMESPACE = 'prod "eu" \\ 1';
/** Every control character JSON.stringify escapes, DEL (which it does not), U+2028 and text beyond the BMP. */
const CONTROLS = `${Array.from({ length: 32 }, (_, c) => String.fromCharCode(c)).join('')}\u007f\u2028\u2029 😀 "q" \\`;

/** Events that take every branch of the mapping: protocols, decisions, empty and repeated fields, hosts that are IPs. */
function branchEvents(now: number): AuditEvent[] {
  const base = trafficEvents({ count: 12, from: new Date(now - 60_000), to: new Date(now), seed: 21 });
  const edits: Partial<AuditEvent>[] = [
    { protocol: 'tcp', method: '', path: '', query: '', status: 0, client_ip: '' },
    { protocol: 'http', decision: 'deny', deny_reason: '', query: '?', method: '', status: 0, virtual_port: 0 },
    { protocol: 'https', query: '??a=1', client_ip: 'fe80::1%eth0', virtual_host: '10.1.2.3', internal_host: '10.1.2.3' },
    { client_ip: '::ffff:192.0.2.1', internal_host: '2001:db8::1', internal_port: 0, virtual_host: '', virtual_port: 0 },
    { client_ip: 'not-an-ip', cloud_app: 'same', principal: 'same', virtual_host: 'h.virtual', internal_host: 'h.virtual' },
    { cloud_app: '', principal: 'only-principal', internal_host: '', internal_port: 9000, error_type: 'backend_timeout' },
    { cloud_app: '', principal: '', virtual_host: '', internal_host: '', subaccount: '', user_agent: '', trace_id: '', span_id: '', rule_id: '' },
    { path: `/c/${CONTROLS}`, query: `x=${CONTROLS}`, user_agent: CONTROLS, principal: CONTROLS, method: 'PATCH' },
    { protocol: 'tcp', decision: 'deny', deny_reason: 'no_connector', error_type: 'connect_refused' },
    { bytes_in: 0, bytes_out: Number.MAX_SAFE_INTEGER, duration_us: 9_007_199_254_741 },
  ];
  return base.map((e, i) => ({ ...e, ...(edits[i] ?? {}) }) as AuditEvent);
}

describe('ECS documents from stored rows', () => {
  let ts: TestStore;
  let records: AuditRecord[];
  const write = createEcsRowWriter(NAMESPACE);
  const rowPath = (r: AuditRecord): Buffer | undefined => {
    assert.ok(r.row, 'a stored record carries its row');
    return write(r.row);
  };

  before(async () => {
    ts = await openTestStore();
    const now = Date.now();
    const extra = { ...(nastyAuditEvents()[0] as AuditEvent), event_id: 'x-extra', nested: { a: [1, 2.5, null, true], s: CONTROLS } } as AuditEvent;
    const events: AuditEvent[] = [
      ...nastyAuditEvents(),
      extra,
      ...branchEvents(now),
      ...trafficEvents({ count: 300, from: new Date(now - 3_600_000), to: new Date(now), seed: 11, denyShare: 0.3, errorShare: 0.2 }),
    ];
    records = (await storedAuditRecords(ts.store, events)) as AuditRecord[];
    assert.equal(records.length, events.length);
  });
  after(async () => {
    await ts?.close();
  });

  it('writes every stored record byte for byte as auditEcsJson() does', () => {
    for (const r of records) {
      const doc = rowPath(r);
      assert.ok(doc, `the row path took ${r.id}`);
      const expected = auditEcsJson(r.event, NAMESPACE);
      assert.equal(doc.toString('utf8'), expected, r.id);
      assert.ok(doc.equals(Buffer.from(expected, 'utf8')), `bytes of ${r.id}`);
    }
    // The cases were really in the rows, and came out parsed as they went in.
    const parsed = records.map((r) => JSON.parse((rowPath(r) as Buffer).toString('utf8')) as unknown);
    const some = (test: (at: (path: string) => unknown) => boolean): boolean =>
      parsed.some((d) => test((path) => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], d)));
    assert.ok(some((at) => at('user.name') === CONTROLS), 'every control character in a principal');
    assert.ok(some((at) => String(at('url.path')).includes(NASTY)), 'the syslog escaping cases in a path');
    assert.ok(some((at) => at('source.ip') === 'fe80::1%eth0' && at('server.ip') === '10.1.2.3'), 'IPv6 client with a zone, a virtual host that is an IP');
    assert.ok(some((at) => at('source.address') === 'not-an-ip' && at('source.ip') === undefined && (at('related.user') as unknown[]).length === 1), 'a client that is no IP; app and principal the same');
    assert.ok(some((at) => at('url.query') === '?a=1'), 'only the first ? is taken off a query');
    assert.ok(some((at) => at('tunnelwatch.extra.nested.s') === CONTROLS), 'extension fields');
    assert.ok(some((at) => at('tunnelwatch.bytes_out') === Number.MAX_SAFE_INTEGER && at('event.duration') === 9_007_199_254_741_000), 'numbers beyond 2^53 after scaling');
    assert.ok(some((at) => at('network.transport') === 'tcp' && at('network.protocol') === undefined && at('url') === undefined), 'a TCP call');
  });

  it('documents of many rows share slabs and stay intact', () => {
    const docs = records.map((r) => rowPath(r) as Buffer);
    for (let i = 0; i < 40; i++) docs.push(...records.map((r) => rowPath(r) as Buffer));
    const slabs = new Set(docs.map((d) => d.buffer));
    assert.ok(slabs.size > 1 && slabs.size < docs.length / 10, `${slabs.size} slabs for ${docs.length} documents`);
    docs.forEach((d, i) => {
      const r = records[i % records.length] as AuditRecord;
      assert.equal(d.toString('utf8'), auditEcsJson(r.event, NAMESPACE), `document ${i}`);
    });
  });

  it('a UInt64 beyond 2^53 reads as the decoder reads it; bytes that are not UTF-8 are left to the decoded event', async () => {
    const source = records[5] as AuditRecord;
    await insertEdgeRows(ts.store, source.id);
    const all = (await readAllAudit(ts.store)) as AuditRecord[];
    const huge = all.find((r) => r.id === 'x-huge-u64') as AuditRecord;
    const doc = rowPath(huge);
    assert.equal(doc?.toString('utf8'), auditEcsJson(huge.event, NAMESPACE));
    assert.match(doc?.toString('utf8') ?? '', /"bytes_in":18446744073709552000,"bytes_out":9007199254740992,/);
    assert.match(doc?.toString('utf8') ?? '', /"duration":1\.8446744073709552e\+22,/);

    const broken = all.find((r) => r.id === 'x-not-utf8') as AuditRecord;
    assert.equal(rowPath(broken), undefined, 'declined');
    assert.match(auditEcsJson(broken.event, NAMESPACE), /"path":"\/a\uFFFDb"/, 'the decoded event has U+FFFD, as before');
  });

  it('declines a row cut short, or bytes that are not a Buffer', () => {
    const r = records[0] as AuditRecord;
    const row = r.row as NonNullable<AuditRecord['row']>;
    assert.equal(write({ buf: row.buf.subarray(0, row.at + 40), at: row.at }), undefined);
    assert.equal(write({ buf: new Uint8Array(row.buf) as Buffer, at: row.at }), undefined);
  });
});
