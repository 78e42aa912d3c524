import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DELIMITER, leefAudit, leefFinding, leefHeaderEscape, leefValueEscape } from '../../../../collector/export/syslog/leef.js';
import type { ExportedAuditEvent, ExportRecord } from '../../../../collector/export/types.js';
import { parseLeef } from './decoders.js';
import { expectedFields, fieldsFromLeef } from './mappings.js';
import { findingRecords, nastyAuditRecords, trafficRecords } from './records.js';

describe('LEEF 2.0 escaping', () => {
  test('header fields: backslash and pipe get a backslash, newlines become spaces', () => {
    assert.equal(leefHeaderEscape('a|b\\c'), 'a\\|b\\\\c');
    assert.equal(leefHeaderEscape('x\ny'), 'x y');
  });

  test('values: backslash and the ^ delimiter get a backslash, CR and LF become \\r and \\n; "=", "|" and tab stay', () => {
    assert.equal(DELIMITER, '^');
    assert.equal(leefValueEscape('a^b'), 'a\\^b');
    assert.equal(leefValueEscape('C:\\x'), 'C:\\\\x');
    assert.equal(leefValueEscape('l1\nl2\r\n'), 'l1\\nl2\\r\\n');
    assert.equal(leefValueEscape('a=b|c\td'), 'a=b|c\td');
    assert.equal(leefValueEscape('end\\'), 'end\\\\');
  });
});

describe('LEEF 2.0 messages', () => {
  const audit = (r: ExportRecord): ExportedAuditEvent => (r as { event: ExportedAuditEvent }).event;
  const [allowed, denied, ipv6] = nastyAuditRecords() as [ExportRecord, ExportRecord, ExportRecord];

  test('declare the delimiter in the header and carry cat, sev and devTime with its format', () => {
    const l = parseLeef(leefAudit(audit(denied)));
    assert.deepEqual([l.version, l.vendor, l.product, l.productVersion, l.eventId, l.delimiter], ['2.0', 'Tunnelwatch', 'Tunnelwatch', '0.1.0', 'audit.deny.path_not_allowed', '^']);
    assert.equal(l.attrs.get('cat'), 'audit');
    assert.equal(l.attrs.get('sev'), '6');
    assert.equal(l.attrs.get('devTime'), audit(denied).ts);
    assert.equal(l.attrs.get('devTimeFormat'), "yyyy-MM-dd'T'HH:mm:ss.SSSX");
    assert.equal(l.attrs.get('proto'), 'TCP');
    assert.equal(l.attrs.has('dstPort'), false, 'port 0 (denied before mapping) is left out');
  });

  test('use src and dst only for addresses: a host name stays under its own key', () => {
    const a = parseLeef(leefAudit(audit(allowed)));
    assert.equal(a.attrs.get('src'), audit(allowed).client_ip);
    assert.equal(a.attrs.has('dst'), false);
    assert.equal(a.attrs.get('internal_host'), 'erp-backend.internal');
    const v6 = parseLeef(leefAudit(audit(ipv6)));
    assert.equal(v6.attrs.get('src'), '2001:db8::42');
    assert.equal(v6.attrs.get('dst'), audit(ipv6).internal_host);
    assert.equal(v6.attrs.get('sev'), '3');
  });

  for (const r of [...nastyAuditRecords(), ...findingRecords(), ...trafficRecords(50)]) {
    test(`read back field for field: ${r.stream} ${r.id}`, () => {
      const text = r.stream === 'audit' ? leefAudit(r.event) : leefFinding(r.id, r.finding);
      assert.doesNotMatch(text, /[\r\n]/, 'one line');
      const l = parseLeef(text);
      assert.deepEqual(fieldsFromLeef(r.stream, l), expectedFields(r));
      assert.equal(l.attrs.has('truncated'), false, 'nothing is cut');
    });
  }
});

describe('LEEF 2.0 field lengths', () => {
  const base = (trafficRecords(1)[0] as { event: ExportedAuditEvent }).event;
  const nasty = findingRecords().at(-1) as ExportRecord & { stream: 'findings' };

  test('usrName is cut to the 255 characters QRadar takes, ends in "...", and is named in truncated; other keys are sent whole', () => {
    const principal = 'ädmin^=\\|\n😀'.repeat(40);
    const path = `/${'p^\\'.repeat(2000)}`;
    const text = leefAudit({ ...base, principal, path });
    assert.match(text, /\|\^\|truncated=usrName\^cat=audit\^/, 'the first key: a UDP cut drops the last ones');
    const l = parseLeef(text);
    const name = l.attrs.get('usrName') ?? '';
    assert.equal(name.length, 255);
    assert.equal(name, `${principal.slice(0, 252)}...`);
    assert.equal(l.attrs.get('truncated'), 'usrName');
    assert.equal(l.attrs.get('path'), path, 'no length for keys QRadar does not normalise');
  });

  test('a cut never splits an emoji', () => {
    const principal = `x${'😀'.repeat(200)}`;
    const name = parseLeef(leefAudit({ ...base, principal })).attrs.get('usrName') ?? '';
    assert.equal(name, `${principal.slice(0, 251)}...`, 'cut before the pair the limit falls in');
  });

  test('an EventID longer than 255 characters is cut', () => {
    const detector = `d|\\${'x'.repeat(400)}`;
    const l = parseLeef(leefFinding(nasty.id, { ...nasty.finding, detector }));
    assert.equal(l.eventId.length, 255);
    assert.equal(l.eventId, `${`finding.${detector}`.slice(0, 252)}...`);
    assert.equal(l.attrs.get('truncated'), 'EventID');
  });

  test('srcBytes and dstBytes carry counts beyond 32 bits exactly', () => {
    const l = parseLeef(leefAudit({ ...base, bytes_in: 5_000_000_000, bytes_out: 2 ** 40 }));
    assert.deepEqual([l.attrs.get('srcBytes'), l.attrs.get('dstBytes')], ['5000000000', String(2 ** 40)]);
  });
});
