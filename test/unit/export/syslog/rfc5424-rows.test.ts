// The RFC 5424 row path (rfc5424-rows.ts) against the string formatter, on rows read back from a real
// embedded store: the same bytes for every record (escaping cases, non-ASCII, extension fields, every
// severity, UInt64 beyond 2^53), and a refusal (so the string path takes over) where they could differ.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FrameBuilder } from '../../../../collector/export/syslog/framing.js';
import { createAuditRowWriter, createFormatter } from '../../../../collector/export/syslog/message.js';
import type { ExportRecord } from '../../../../collector/export/types.js';
import type { AuditEvent } from '../../../../common/audit/event.js';
import { trafficEvents } from '../../../helpers/audit-traffic.js';
import { openTestStore, type TestStore } from '../../../helpers/dashboard.js';
import { insertEdgeRows, readAllAudit } from '../../../helpers/export-records.js';
import { nastyAuditEvents, storedAuditRecords } from './records.js';

const config = { format: 'rfc5424', facilityCode: 20, hostname: 'collector-1', app_name: 'tw', enterprise_number: 32473, bom: 'auto' } as const;
const format = createFormatter(config, '4242');
const writeRow = createAuditRowWriter(config, '4242');
type AuditRecord = Extract<ExportRecord, { stream: 'audit' }>;

/** The frame the string path makes of a record, and the one the row path makes (undefined when it declines). */
function bothWays(r: AuditRecord): { strings: Buffer; rows: Buffer | undefined } {
  const s = new FrameBuilder(16);
  s.addString(format(r));
  const b = new FrameBuilder(16);
  assert.ok(writeRow && r.row, 'a stored record carries its row, and rfc5424 has a row writer');
  const written = writeRow(r.row, b);
  assert.equal(b.count, written ? 1 : 0, 'a declined row writes nothing');
  return { strings: s.take(), rows: written ? b.take() : undefined };
}

describe('RFC 5424 messages from stored rows', () => {
  let ts: TestStore;
  let records: AuditRecord[];
  before(async () => {
    ts = await openTestStore();
    const now = Date.now();
    const events: AuditEvent[] = [
      ...nastyAuditEvents(),
      ...trafficEvents({ count: 400, from: new Date(now - 3_600_000), to: new Date(now), seed: 11, denyShare: 0.3, errorShare: 0.2 }),
      // Operational denial, an empty-everything event, and the largest UInt64 an event may carry.
      ...trafficEvents({ count: 3, from: new Date(now - 60_000), to: new Date(now), seed: 12 }).map((e, i) => (
        i === 0 ? { ...e, decision: 'deny', deny_reason: 'no_connector', status: 502 }
          : i === 1 ? { ...e, principal: '', user_agent: '', query: '', rule_id: '', location_id: '', trace_id: '', span_id: '' }
            : { ...e, bytes_out: Number.MAX_SAFE_INTEGER, duration_us: 0 }
      ) as AuditEvent),
    ];
    records = (await storedAuditRecords(ts.store, events)) as AuditRecord[];
    assert.equal(records.length, events.length);
  });
  after(async () => {
    await ts?.close();
  });

  it('writes every stored record byte for byte as the string formatter does', () => {
    const severities = new Set<number>();
    for (const r of records) {
      const { strings, rows } = bothWays(r);
      assert.ok(rows, `the row path took ${r.id}`);
      assert.equal(rows.toString('utf8'), strings.toString('utf8'), r.id);
      assert.ok(rows.equals(strings), `bytes of ${r.id}`);
      severities.add(Number(/^\d+ <(\d+)>/.exec(strings.toString('latin1'))?.[1]) % 8);
    }
    // Allowed, backend error, operational and policy denial: each urgency went through the row path.
    assert.deepEqual([...severities].sort(), [4, 5, 6]);
    assert.ok(records.some((r) => r.event.extra.includes('suser=admin')), 'the extension fields (with escaping cases) were in a row');
  });

  it('frames of many rows in one builder are the frames of the messages one after the other', () => {
    const strings = new FrameBuilder(1024);
    const rows = new FrameBuilder(1024);
    for (const r of records) {
      strings.addString(format(r));
      assert.ok(writeRow?.(r.row as NonNullable<AuditRecord['row']>, rows));
    }
    assert.equal(rows.count, records.length);
    assert.ok(rows.take().equals(strings.take()));
  });

  it('a UInt64 beyond 2^53 reads as the decoder reads it; bytes that are not UTF-8 are left to the string path', async () => {
    const source = records[5] as AuditRecord;
    await insertEdgeRows(ts.store, source.id);
    const all = (await readAllAudit(ts.store)) as AuditRecord[];
    const huge = all.find((r) => r.id === 'x-huge-u64') as AuditRecord;
    const both = bothWays(huge);
    assert.ok(both.rows?.equals(both.strings));
    assert.match(both.strings.toString(), /bytes_in="18446744073709552000"/);
    assert.match(both.strings.toString(), /bytes_out="9007199254740992"/);

    const broken = all.find((r) => r.id === 'x-not-utf8') as AuditRecord;
    const { strings, rows } = bothWays(broken);
    assert.equal(rows, undefined, 'declined');
    assert.match(strings.toString('utf8'), /path="\/a\uFFFDb"/, 'the string path writes U+FFFD, as before');
  });

  it('declines a row cut short instead of reading past it', () => {
    const r = records[0] as AuditRecord;
    const row = r.row as NonNullable<AuditRecord['row']>;
    const cut = row.buf.subarray(0, row.at + 40);
    const b = new FrameBuilder(16);
    assert.equal(writeRow?.({ buf: cut, at: row.at }, b), false);
    assert.equal(b.count, 0);
  });

  it('declines bytes that are not a Buffer (left to the string path)', () => {
    const r = records[0] as AuditRecord;
    const row = r.row as NonNullable<AuditRecord['row']>;
    const b = new FrameBuilder(16);
    assert.equal(writeRow?.({ buf: new Uint8Array(row.buf) as Buffer, at: row.at }, b), false);
    assert.equal(b.count, 0);
  });

  it('CEF and LEEF have no row path', () => {
    assert.equal(createAuditRowWriter({ ...config, format: 'cef' }), undefined);
    assert.equal(createAuditRowWriter({ ...config, format: 'leef' }), undefined);
  });
});
