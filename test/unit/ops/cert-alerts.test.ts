// The certificate watch over real certificates from the quickstart PKI, with an injected clock: a fine
// certificate only clears at start; one within 30 days fires medium with its fingerprint as the episode,
// once; it turns high within 7 days and again when it expires; a renewed file on disk is named but the
// loaded certificate still counts; a bundle counts by its first-expiring certificate.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { createCa, issueConnectorCertificate, type IssuedCertificate } from '../../../connector/pki/pki.js';
import { CertWatch, pemCertificates, startCertAlerts } from '../../../common/ops/cert-alerts.js';
import type { OpsEvent } from '../../../common/ops/ops-events.js';
import { createLogger } from '../../../common/log.js';

const DAY = 86_400_000;
const T = { warnDays: 30, highDays: 7 };
const log = createLogger({ name: 'test', level: 'silent' });

describe('certificate expiry alerts', () => {
  let dir: string;
  let ca: IssuedCertificate;
  let short: IssuedCertificate;
  let long: IssuedCertificate;
  let now = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tw-cert-alerts-'));
    ca = await createCa({ validityDays: 3650 });
    short = await issueConnectorCertificate(ca, { name: 'conn-1', validityDays: 20 });
    long = await issueConnectorCertificate(ca, { name: 'conn-1', validityDays: 400 });
    writeFileSync(join(dir, 'short.crt'), short.certPem);
    writeFileSync(join(dir, 'long.crt'), long.certPem);
    writeFileSync(join(dir, 'bundle.crt'), `${long.certPem}\n${short.certPem}`);
    // After issuing: "now" is a little past the start of the 20 days.
    now = Date.now();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const at = (days: number): Date => new Date(now + days * DAY);

  it('a certificate far from expiry: one clear at start, then nothing', () => {
    const w = new CertWatch('conn-1', [{ name: 'relay.tls.cert', path: join(dir, 'long.crt') }], T, log);
    const [clear, ...rest] = w.check(at(0));
    assert.deepEqual([clear?.type, clear?.state, clear?.episode, clear?.subject, rest.length], ['cert_expiring', 'resolved', undefined, 'conn-1/relay.tls.cert', 0]);
    assert.deepEqual(w.check(at(1)), []);
  });

  it('fires medium within 30 days, once; high within 7 days; again when expired; episode = fingerprint', () => {
    const w = new CertWatch('conn-1', [{ name: 'relay.tls.cert', path: join(dir, 'short.crt') }], T, log);
    const fingerprint = new X509Certificate(short.certPem).fingerprint256;
    const seen: [number, OpsEvent[]][] = [0, 1, 12, 13, 14, 19, 21].map((d) => [d, w.check(at(d))]);
    const fired = seen.filter(([, e]) => e.length > 0).map(([d, e]) => [d, e[0]?.state, e[0]?.severity, e[0]?.detail.days_left, e[0]?.detail.expired]);
    assert.deepEqual(fired, [
      [0, 'firing', 'medium', 19, false],
      [13, 'firing', 'high', 6, false],
      [21, 'firing', 'high', -2, true],
    ]);
    const first = seen[0]?.[1][0] as OpsEvent;
    assert.equal(first.episode, fingerprint);
    assert.equal(first.detail.subject_cn, 'conn-1');
    assert.equal(first.detail.valid_to, new Date(Date.parse(new X509Certificate(short.certPem).validTo)).toISOString());
    assert.ok(seen.every(([, e]) => e.every((x) => x.episode === fingerprint)), 'one episode for one certificate');
  });

  it('counts what the process loaded, and names a renewed file on disk', () => {
    const w = new CertWatch('relay-1', [{ name: 'tunnel.tls.cert', path: join(dir, 'long.crt'), loaded: Buffer.from(short.certPem) }], T, log);
    const [e] = w.check(at(0));
    assert.deepEqual([e?.state, e?.severity, e?.episode], ['firing', 'medium', new X509Certificate(short.certPem).fingerprint256]);
    assert.equal(e?.detail.renewed_on_disk_valid_to, new Date(Date.parse(new X509Certificate(long.certPem).validTo)).toISOString());
  });

  it('a bundle counts by the certificate that expires first', () => {
    assert.equal(pemCertificates(`${long.certPem}\n${short.certPem}`).length, 2);
    const w = new CertWatch('conn-1', [{ name: 'relay.tls.ca', path: join(dir, 'bundle.crt') }], T, log);
    const [e] = w.check(at(0));
    assert.deepEqual([e?.state, e?.detail.days_left], ['firing', 19]);
  });

  it('an unreadable file with nothing loaded gives no alert (a log line), and the others still count', () => {
    const w = new CertWatch('conn-1', [{ name: 'a', path: join(dir, 'missing.crt') }, { name: 'b', path: join(dir, 'short.crt') }], T, log);
    const events = w.check(at(0));
    assert.deepEqual(events.map((e) => e.subject), ['conn-1/b']);
  });

  it('startCertAlerts checks at start', () => {
    const events: OpsEvent[] = [];
    const s = startCertAlerts({ emitterId: 'conn-1', sources: [{ name: 'relay.tls.cert', path: join(dir, 'short.crt') }], ...T, intervalMs: 3_600_000, report: (e) => events.push(e), log });
    s.stop();
    assert.deepEqual(events.map((e) => [e.state, e.severity]), [['firing', 'medium']]);
  });
});
