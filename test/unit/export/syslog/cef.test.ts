import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cefAudit, cefFinding, cefHeaderEscape, cefValueEscape } from '../../../../collector/export/syslog/cef.js';
import type { ExportedAuditEvent, ExportRecord } from '../../../../collector/export/types.js';
import { parseCef } from './decoders.js';
import { expectedFields, fieldsFromCef } from './mappings.js';
import { findingRecords, nastyAuditRecords, trafficRecords } from './records.js';

describe('CEF escaping', () => {
  test('header fields: backslash and pipe get a backslash, newlines become spaces, "=" stays', () => {
    assert.equal(cefHeaderEscape('a|b'), 'a\\|b');
    assert.equal(cefHeaderEscape('C:\\x'), 'C:\\\\x');
    assert.equal(cefHeaderEscape('\\|'), '\\\\\\|');
    assert.equal(cefHeaderEscape('one\ntwo\r\nthree\rfour'), 'one two three four');
    assert.equal(cefHeaderEscape('x=y'), 'x=y');
    assert.equal(cefHeaderEscape('plain'), 'plain');
  });

  test('extension values: backslash and "=" get a backslash, CR and LF become \\r and \\n, pipe stays', () => {
    assert.equal(cefValueEscape('a=b'), 'a\\=b');
    assert.equal(cefValueEscape('C:\\dir'), 'C:\\\\dir');
    assert.equal(cefValueEscape('l1\nl2\r\nl3'), 'l1\\nl2\\r\\nl3');
    assert.equal(cefValueEscape('a|b'), 'a|b');
    assert.equal(cefValueEscape('end\\'), 'end\\\\');
    assert.equal(cefValueEscape('x suser=admin'), 'x suser\\=admin', 'text that looks like a key is not one');
    assert.equal(cefValueEscape('ünï 日本 😀'), 'ünï 日本 😀');
  });
});

describe('CEF messages', () => {
  const audit = (r: ExportRecord): ExportedAuditEvent => (r as { event: ExportedAuditEvent }).event;
  const [allowed, denied, ipv6] = nastyAuditRecords() as [ExportRecord, ExportRecord, ExportRecord];

  test('carry vendor, product, version, event class, name and severity in the header', () => {
    const c = parseCef(cefAudit(audit(denied)));
    assert.deepEqual([c.version, c.vendor, c.product, c.deviceVersion], ['0', 'Tunnelwatch', 'Tunnelwatch', '0.1.0']);
    assert.equal(c.eventClass, 'audit.deny.path_not_allowed');
    assert.equal(c.name, 'call denied: path_not_allowed');
    assert.equal(c.severity, '6');
    assert.equal(c.ext.get('act'), 'deny');
    assert.equal(c.ext.get('outcome'), 'failure');
    assert.equal(c.ext.get('cat'), 'audit');
  });

  test('put IPv4 in src, IPv6 in c6a2, and leave out fields with the empty value', () => {
    const v4 = parseCef(cefAudit(audit(allowed)));
    assert.equal(v4.ext.get('src'), audit(allowed).client_ip);
    const v6 = parseCef(cefAudit(audit(ipv6)));
    assert.equal(v6.ext.get('src'), undefined);
    assert.equal(v6.ext.get('c6a2'), '2001:db8::42');
    assert.equal(v6.eventClass, 'audit.error.connect_refused');
    const d = parseCef(cefAudit(audit(denied)));
    for (const key of ['suser', 'cs6', 'cs6Label', 'requestClientApplication', 'cs4', 'flexString1']) assert.equal(d.ext.has(key), false, key);
    assert.equal(d.ext.get('cn3'), '0', 'numbers are always there');
  });

  test('a finding carries its title as Name (newlines as spaces) and its severity as 0-10', () => {
    const nasty = findingRecords().at(-1) as ExportRecord & { stream: 'findings' };
    const c = parseCef(cefFinding(nasty.id, nasty.finding));
    assert.equal(c.eventClass, 'finding.deny_burst');
    assert.equal(c.name, 'Burst | from "app" \\ x=y ] ^ ünï second line');
    assert.equal(c.severity, '10');
    assert.equal(c.ext.get('cat'), 'finding');
  });

  for (const r of [...nastyAuditRecords(), ...findingRecords(), ...trafficRecords(50)]) {
    test(`read back field for field: ${r.stream} ${r.id}`, () => {
      const text = r.stream === 'audit' ? cefAudit(r.event) : cefFinding(r.id, r.finding);
      assert.doesNotMatch(text, /[\r\n]/, 'one line');
      const expected = expectedFields(r);
      if (r.stream === 'findings') expected.title = expected.title?.replace(/\r\n|[\r\n]/g, ' ') ?? '';
      assert.deepEqual(fieldsFromCef(r.stream, parseCef(text)), expected);
    });
  }
});
