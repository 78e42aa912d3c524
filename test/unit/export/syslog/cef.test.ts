import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cefAudit, cefFinding, cefHeaderEscape, cefValueEscape } from '../../../../collector/export/syslog/cef.js';
import type { StoredFinding } from '../../../../collector/detect/findings-store.js';
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
      const c = parseCef(text);
      assert.deepEqual(fieldsFromCef(r.stream, c), expected);
      assert.equal(c.ext.has('tunnelwatchTruncated'), false, 'nothing is cut');
    });
  }
});

// The lengths of docs/siem-syslog.md ("Field lengths"), from the ArcSight Extension Dictionary, written
// out again here so that the encoder is checked against the documentation rather than against itself.
const AUDIT_LENGTHS: Partial<Record<keyof ExportedAuditEvent, [string, number]>> = {
  event_id: ['externalId', 40], emitter: ['deviceFacility', 1023], emitter_id: ['deviceExternalId', 255],
  subaccount: ['cs1', 4000], location_id: ['cs2', 4000], cloud_app: ['cs3', 4000], principal: ['suser', 1023],
  protocol: ['app', 31], method: ['requestMethod', 1023], virtual_host: ['dhost', 1023], internal_host: ['cs4', 4000],
  path: ['request', 1023], query: ['cs5', 4000], user_agent: ['requestClientApplication', 1023], rule_id: ['cs6', 4000],
  deny_reason: ['reason', 1023], error_type: ['flexString1', 1023], decision: ['act', 63],
};
const FINDING_LENGTHS: Partial<Record<keyof StoredFinding, [string, number]>> = {
  finding_id: ['externalId', 40], detector: ['cs4', 4000], severity: ['cs5', 4000], subaccount: ['cs1', 4000],
  entity_type: ['cs2', 4000], entity: ['cs3', 4000], explanation: ['msg', 1023],
};
/** Keys that hold no free text: numbers, times, addresses, and the labels (constants, well within 128). */
const TYPED_KEYS = new Set(['rt', 'start', 'end', 'dpt', 'in', 'out', 'src', 'c6a2', 'cn1', 'cn2', 'cn3', 'cfp1', 'flexNumber1', 'flexNumber2', 'deviceCustomDate1', 'cat', 'outcome']);

/** Text `length` long with every CEF escaping case, so that a cut can land next to any of them. */
function longText(length: number, unit = 'a=b\\c|d\ne\r\n ü😀'): string {
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/** What the documentation says a value becomes: whole when it fits, else cut to `max` with '...' (no half emoji). */
function capped(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = max - 3;
  if (/[\uD800-\uDBFF]/.test(value[end - 1] ?? '')) end--;
  return `${value.slice(0, end)}...`;
}

describe('CEF field lengths (ArcSight Extension Dictionary)', () => {
  const base = (trafficRecords(1)[0] as { event: ExportedAuditEvent }).event;
  const nasty = findingRecords().at(-1) as ExportRecord & { stream: 'findings' };

  test('every free-text key sent has a documented length, or is one of ours', () => {
    const long = Object.fromEntries(Object.keys(AUDIT_LENGTHS).map((k) => [k, 'x'])) as Partial<ExportedAuditEvent>;
    const keys = [...parseCef(cefAudit({ ...base, ...long })).ext.keys(), ...parseCef(cefFinding(nasty.id, nasty.finding)).ext.keys()];
    const documented = new Set([...Object.values(AUDIT_LENGTHS), ...Object.values(FINDING_LENGTHS)].map(([key]) => key));
    for (const key of keys) {
      if (key.startsWith('tunnelwatch') || key.endsWith('Label') || TYPED_KEYS.has(key)) continue;
      assert.ok(documented.has(key), `${key} has no documented length`);
    }
  });

  test('an audit value longer than its key allows is cut to that length, ends in "...", and is named in tunnelwatchTruncated', () => {
    const long = Object.fromEntries(Object.entries(AUDIT_LENGTHS).map(([field, [, max]]) => [field, longText(max + 500)]));
    const e = { ...base, ...long } as ExportedAuditEvent;
    const text = cefAudit(e);
    assert.doesNotMatch(text, /[\r\n]/, 'one line');
    const c = parseCef(text);
    for (const [field, [key, max]] of Object.entries(AUDIT_LENGTHS)) {
      const got = c.ext.get(key) ?? '';
      assert.equal(got.length, max, key);
      assert.equal(got, capped(e[field as keyof ExportedAuditEvent] as string, max), key);
    }
    // The long error_type makes the header long too: "audit.error.<error_type>", "call failed: <error_type>".
    assert.equal(c.eventClass, capped(`audit.error.${e.error_type.replace(/\r\n|[\r\n]/g, ' ')}`, 1023));
    assert.equal(c.name, capped(`call failed: ${e.error_type.replace(/\r\n|[\r\n]/g, ' ')}`, 512));
    const cut = [...Object.values(AUDIT_LENGTHS).map(([key]) => key), 'deviceEventClassId', 'name'];
    assert.deepEqual(c.ext.get('tunnelwatchTruncated')?.split(',').sort(), cut.sort());
    // Fields without a dictionary length, and the numbers, are untouched.
    assert.equal(c.ext.get('tunnelwatchHash'), e.hash);
    assert.equal(c.ext.get('cn2'), String(e.seq));
  });

  test('a value of exactly the length is sent whole; one character more is cut', () => {
    const whole = parseCef(cefAudit({ ...base, path: 'p'.repeat(1023) }));
    assert.equal(whole.ext.get('request'), 'p'.repeat(1023));
    assert.equal(whole.ext.has('tunnelwatchTruncated'), false);
    const text = cefAudit({ ...base, path: 'p'.repeat(1024) });
    const cut = parseCef(text);
    assert.equal(cut.ext.get('request'), `${'p'.repeat(1020)}...`);
    assert.equal(cut.ext.get('tunnelwatchTruncated'), 'request');
    assert.match(text, /\|tunnelwatchTruncated=request externalId=/, 'the first key: a UDP cut drops the last ones');
  });

  test('a cut never splits an emoji (a UTF-16 surrogate pair)', () => {
    for (const lead of ['', 'x']) {
      const path = lead + '😀'.repeat(600);
      const got = parseCef(cefAudit({ ...base, path })).ext.get('request') ?? '';
      assert.doesNotMatch(got, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/, `no lone surrogate (lead "${lead}")`);
      assert.ok(got.endsWith('😀...'));
      assert.ok(got.length === 1023 || got.length === 1022, String(got.length));
      assert.equal(got, capped(path, 1023));
    }
  });

  test('a cut next to a backslash, "=" or newline leaves no half escape', () => {
    for (const unit of ['\\', '=', '\n', '\r\n', 'x\\', 'xy\\']) {
      const path = longText(2000, unit);
      const text = cefAudit({ ...base, path });
      const raw = /(?:^|\|| )request=(.*?) \w+=/.exec(text)?.[1] ?? '';
      assert.match(raw, /(?<!\\)(\\\\)*\.\.\.$/, `even backslashes before the mark (${JSON.stringify(unit)})`);
      assert.equal(parseCef(text).ext.get('request'), capped(path, 1023));
    }
  });

  test('a finding: msg and custom strings are cut, and so is a title longer than the 512 of Name (newlines counted as the spaces they become)', () => {
    const f = { ...nasty.finding, explanation: longText(3000), entity: longText(5000), title: 'T|\\\n'.repeat(300) };
    const c = parseCef(cefFinding(nasty.id, f));
    assert.equal(c.ext.get('msg'), capped(f.explanation, 1023));
    assert.equal(c.ext.get('cs3'), capped(f.entity, 4000));
    assert.equal(c.name, capped('T|\\ '.repeat(300), 512));
    assert.equal(c.name.length, 512);
    assert.deepEqual(c.ext.get('tunnelwatchTruncated')?.split(',').sort(), ['cs3', 'msg', 'name']);
    assert.equal(c.ext.get('tunnelwatchEvidence'), JSON.stringify(f.evidence), 'our own keys are not cut');
  });

  test('in and out beyond a 32-bit int are sent as 2147483647, the exact count beside them', () => {
    const e = { ...base, bytes_in: 5_000_000_000, bytes_out: 2_147_483_647 };
    const c = parseCef(cefAudit(e));
    assert.equal(c.ext.get('in'), '2147483647');
    assert.equal(c.ext.get('tunnelwatchBytesIn'), '5000000000');
    assert.equal(c.ext.get('out'), '2147483647');
    assert.equal(c.ext.has('tunnelwatchBytesOut'), false, 'a count that fits is sent once');
    assert.equal(fieldsFromCef('audit', c).bytes_in, '5000000000', 'the documented mapping reads the exact count');
    const over = parseCef(cefAudit({ ...base, bytes_out: 2_147_483_648 }));
    assert.deepEqual([over.ext.get('out'), over.ext.get('tunnelwatchBytesOut')], ['2147483647', '2147483648']);
  });
});
