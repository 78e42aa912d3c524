import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFormatter } from '../../../../collector/export/syslog/message.js';
import type { ExportRecord } from '../../../../collector/export/types.js';
import { parse5424 } from './decoders.js';
import { findingRecords, nastyAuditRecords } from './records.js';

const config = { facilityCode: 10, hostname: 'h', app_name: 'tw', enterprise_number: 1, bom: 'auto' } as const;
const [nasty, denied] = nastyAuditRecords() as [ExportRecord, ExportRecord];
const plainFinding = findingRecords()[0] as ExportRecord;

test('CEF and LEEF bodies follow a NILVALUE structured data', () => {
  for (const format of ['cef', 'leef'] as const) {
    const m = parse5424(createFormatter({ ...config, format }, '1')(denied));
    assert.equal(m.sd, '-');
    assert.ok(m.msg.replace(/^\uFEFF/, '').startsWith(format === 'cef' ? 'CEF:0|' : 'LEEF:2.0|'), m.msg.slice(0, 20));
  }
});

test('bom auto: a BOM only before a body with non-ASCII characters; always and never do what they say', () => {
  const read = (bom: 'auto' | 'always' | 'never', r: ExportRecord): string => parse5424(createFormatter({ ...config, format: 'cef', bom }, '1')(r)).msg;
  assert.ok(read('auto', nasty).startsWith('\uFEFFCEF:'));
  assert.ok(read('auto', plainFinding).startsWith('CEF:'));
  assert.ok(read('always', plainFinding).startsWith('\uFEFFCEF:'));
  assert.ok(read('never', nasty).startsWith('CEF:'));
  // The BOM is the three bytes EF BB BF on the wire.
  const raw = Buffer.from(createFormatter({ ...config, format: 'leef' }, '1')(nasty), 'utf8');
  assert.ok(raw.includes(Buffer.from([0x20, 0xef, 0xbb, 0xbf, 0x4c])));
});

test('PRI carries the facility and the record\'s severity; MSGID says audit or finding', () => {
  const f = createFormatter({ ...config, format: 'rfc5424' }, '1');
  assert.equal(parse5424(f(nasty)).pri, 10 * 8 + 6);
  assert.equal(parse5424(f(denied)).pri, 10 * 8 + 4);
  const critical = findingRecords().at(-1) as ExportRecord;
  const m = parse5424(f(critical));
  assert.equal(m.pri, 10 * 8 + 2);
  assert.equal(m.msgId, 'finding');
});

test('the header timestamp is RFC 3339 UTC with milliseconds even when the store gave another form, and NIL when it is no time', () => {
  const r = nastyAuditRecords()[0] as ExportRecord & { stream: 'audit' };
  const f = createFormatter({ ...config, format: 'rfc5424' }, '1');
  const clickhouse = { ...r, event: { ...r.event, ts: '2026-11-27 21:00:00.5' } };
  assert.equal(parse5424(f(clickhouse)).timestamp, '2026-11-27T21:00:00.500Z');
  const broken = { ...r, event: { ...r.event, ts: 'yesterday' } };
  assert.equal(parse5424(f(broken)).timestamp, '-');
});
