import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AUDIT_EXPORT_FIELDS, FINDING_EXPORT_FIELDS } from '../../../../collector/export/syslog/fields.js';
import { createFormatter } from '../../../../collector/export/syslog/message.js';
import { enterpriseSdId, header, isParamName, isSdName, pri, sdElement, sdEscape } from '../../../../collector/export/syslog/rfc5424.js';
import { parse5424, parseSd } from './decoders.js';
import { expectedFields, fieldsFromSd } from './mappings.js';
import { findingRecords, nastyAuditRecords, trafficRecords } from './records.js';

describe('RFC 5424 PARAM-VALUE escaping (§6.3.3)', () => {
  const cases: [string, string, string][] = [
    ['a double quote', 'say "hi"', 'say \\"hi\\"'],
    ['a backslash', 'C:\\dir', 'C:\\\\dir'],
    ['a closing bracket', 'a]b', 'a\\]b'],
    ['an opening bracket, which needs none', 'a[b', 'a[b'],
    ['a trailing backslash, so the closing quote stays a quote', 'end\\', 'end\\\\'],
    ['an already escaped-looking sequence', '\\"', '\\\\\\"'],
    ['newlines, carried as they are', 'a\nb\r\nc', 'a\nb\r\nc'],
    ['non-ASCII, carried as UTF-8', 'ünï 日本 😀', 'ünï 日本 😀'],
    ['"=" and "|", which need none', 'a=b|c', 'a=b|c'],
    ['the empty value', '', ''],
  ];
  for (const [what, input, output] of cases) test(`escapes ${what}`, () => assert.equal(sdEscape(input), output));
});

describe('RFC 5424 names', () => {
  test('accepts SD-IDs of the form name@PEN and rejects =, space, ], ", non-ASCII and more than 32 characters', () => {
    assert.equal(enterpriseSdId('tunnelwatch', 32473), 'tunnelwatch@32473');
    assert.ok(isSdName('tunnelwatch@32473'));
    for (const bad of ['a=b', 'a b', 'a]b', 'a"b', 'ü', '', 'x'.repeat(33)]) assert.equal(isSdName(bad), false, bad);
    assert.equal(isParamName('a@b'), false);
    assert.throws(() => enterpriseSdId('a b', 1));
  });

  test('every exported field name is a valid PARAM-NAME', () => {
    for (const name of [...AUDIT_EXPORT_FIELDS, ...FINDING_EXPORT_FIELDS]) assert.ok(isParamName(name), name);
  });
});

describe('RFC 5424 header', () => {
  test('computes PRI as facility * 8 + severity', () => {
    assert.equal(pri(16, 6), 134);
    assert.equal(pri(0, 0), 0);
    assert.equal(pri(23, 7), 191);
  });

  test('writes version 1, the timestamp or the NILVALUE, and the fixed fields', () => {
    const parts = { facility: 13, hostname: 'h', appName: 'tunnelwatch', procId: '7' };
    assert.equal(header(parts, 4, '2026-01-02T03:04:05.678Z', 'audit'), '<108>1 2026-01-02T03:04:05.678Z h tunnelwatch 7 audit ');
    assert.equal(header(parts, 4, undefined, 'finding'), '<108>1 - h tunnelwatch 7 finding ');
  });

  test('writes an SD-ELEMENT with every parameter in order', () => {
    assert.equal(sdElement('x@1', { names: ['a', 'b'], values: ['1', 'q"]\\'] }), '[x@1 a="1" b="q\\"\\]\\\\"]');
  });
});

describe('structured-data messages read back field for field', () => {
  const format = createFormatter({ format: 'rfc5424', facilityCode: 16, hostname: 'collector-1', app_name: 'tunnelwatch', enterprise_number: 32473, bom: 'auto' }, '4242');
  const records = [...nastyAuditRecords(), ...findingRecords(), ...trafficRecords(50)];
  for (const r of records) {
    test(`${r.stream} ${r.id}`, () => {
      const m = parse5424(format(r));
      assert.equal(m.version, '1');
      assert.equal(m.hostname, 'collector-1');
      assert.equal(m.appName, 'tunnelwatch');
      assert.equal(m.procId, '4242');
      assert.equal(m.msgId, r.stream === 'audit' ? 'audit' : 'finding');
      assert.equal(m.timestamp, r.stream === 'audit' ? r.event.ts : r.finding.detected_at);
      assert.equal(m.msg, '', 'structured data only: no MSG');
      assert.equal(Math.floor(m.pri / 8), 16);
      assert.deepEqual(fieldsFromSd(parseSd(m.sd), 'tunnelwatch@32473'), expectedFields(r));
    });
  }
});
