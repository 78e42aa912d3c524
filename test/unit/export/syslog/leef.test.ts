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
      assert.deepEqual(fieldsFromLeef(r.stream, parseLeef(text)), expectedFields(r));
    });
  }
});
