// runCheck's TLS step against real TLS backends with certificates made in the test: trusted, self-signed,
// from an unknown CA, expired, for another host, expiring soon, plain text, and client certificates.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MappingConfig } from '../../connector/agent/config-schema.js';
import type { CheckOptions } from '../../connector/diagnostics/run-check.js';
import {
  answer, backendMapping, checker, makeCertificates, startHttpBackend, startTlsBackend, stepOf, type TestCertificates,
} from '../helpers/faulty-backends.js';

let dir: string;
const check = checker(() => ({ timeoutMs: 800, latencyWarnMs: 2000, certWarnDays: 30, resolvePath: (p) => join(dir, p) }));
const mapping = backendMapping;
const step = stepOf;
let certs: TestCertificates;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tw-check-tls-'));
  certs = await makeCertificates();
  await writeFile(join(dir, 'ca.pem'), certs.ca.cert);
});
after(() => rm(dir, { recursive: true, force: true }));

describe('runCheck judges TLS itself', () => {
  const tlsCheck = async (pem: { cert: string; key: string }, extra: Partial<MappingConfig> = {}, host = 'localhost', options: Partial<CheckOptions> = {}) => {
    const b = await startTlsBackend(pem);
    try {
      return await check(mapping(`${host}:${b.port}`, 'https', extra), options);
    } finally {
      await b.close();
    }
  };

  test('a certificate from the mapping\'s CA, for the host, is up with subject, issuer and expiry in the detail', async () => {
    const r = await tlsCheck(certs.valid, { ca: 'ca.pem' });
    assert.equal(r.state, 'up', JSON.stringify(r.steps));
    const t = step(r, 'tls');
    assert.equal(t.detail.subject, 'CN=localhost');
    assert.equal(t.detail.issuer, 'CN=Diagnostics Test CA');
    assert.ok((t.detail.days_left as number) >= 363);
    assert.deepEqual(t.detail.sans, ['DNS:localhost', 'IP Address:127.0.0.1']);
    assert.match(String(t.detail.protocol), /^TLSv1\.[23]$/);
    assert.match(t.message, /trusted by the mapping's ca ca\.pem/);
  });

  test('a self-signed certificate is tls_self_signed', async () => {
    const r = await tlsCheck(certs.selfSigned);
    assert.equal(r.classification, 'tls_self_signed');
    assert.equal(r.state, 'down');
    assert.match(r.summary, /the certificate of 127\.0\.0\.1:\d+ \(CN=localhost\) is self-signed and not trusted by the system trust store/);
    assert.equal(step(r, 'probe').outcome, 'skipped');
  });

  test('a CA the connector does not trust is tls_untrusted_issuer', async () => {
    const r = await tlsCheck(certs.valid);
    assert.equal(r.classification, 'tls_untrusted_issuer');
    assert.match(r.summary, /was issued by CN=Diagnostics Test CA, which the system trust store does not trust/);
  });

  test('an expired certificate is tls_expired, with its date and how long ago', async () => {
    const r = await tlsCheck(certs.expired, { ca: 'ca.pem' });
    assert.equal(r.classification, 'tls_expired');
    assert.match(r.summary, /\(CN=localhost\) expired on \d{4}-\d\d-\d\dT.*Z \((10|11) days ago\)/);
    assert.ok((step(r, 'tls').detail.days_left as number) < 0);
  });

  test('a certificate for another host is tls_hostname_mismatch, naming both', async () => {
    const r = await tlsCheck(certs.wrongHost, { ca: 'ca.pem' });
    assert.equal(r.classification, 'tls_hostname_mismatch');
    assert.match(r.summary, /is for DNS:other\.example, not for localhost/);
  });

  test('a certificate expiring within cert_warn_days is a tls_expiring_soon warning; the probe still runs', async () => {
    const r = await tlsCheck(certs.expiringSoon, { ca: 'ca.pem' });
    assert.equal(r.state, 'degraded');
    assert.equal(r.classification, 'tls_expiring_soon');
    assert.match(r.summary, /expires on .* in 5 days \(warning below 30\)/);
    assert.equal(step(r, 'probe').outcome, 'ok');
  });

  test('plain HTTP on an https mapping is tls_protocol_error', async () => {
    const b = await startHttpBackend(answer(200));
    try {
      const r = await check(mapping(`127.0.0.1:${b.port}`, 'https'));
      assert.equal(r.classification, 'tls_protocol_error');
      assert.match(r.summary, /does not speak TLS/);
    } finally {
      await b.close();
    }
  });

  for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
    test(`a backend that requires a client certificate is tls_client_cert_required (${maxVersion})`, async () => {
      const b = await startTlsBackend({ ...certs.valid, requireClientCert: true, maxVersion });
      try {
        const r = await check(mapping(`localhost:${b.port}`, 'https', { ca: 'ca.pem' }));
        assert.equal(r.classification, 'tls_client_cert_required', JSON.stringify(r.steps));
        assert.match(r.summary, /requires a TLS client certificate/);
      } finally {
        await b.close();
      }
    });
  }

  test('tcps with a banner runs the banner probe over TLS', async () => {
    const b = await startTlsBackend({ ...certs.valid, banner: '* OK IMAP4rev1 ready\r\n' });
    try {
      const r = await check(mapping(`localhost:${b.port}`, 'tcps', { ca: 'ca.pem', probe: { path: '/', method: 'HEAD', expect_banner: '^\\* OK' } }));
      assert.equal(r.state, 'up', JSON.stringify(r.steps));
      assert.equal(step(r, 'tls').outcome, 'ok');
      assert.equal(step(r, 'probe').detail.banner, '* OK IMAP4rev1 ready\\r\\n');
    } finally {
      await b.close();
    }
  });

  test('an unreadable ca file fails the tls step naming the file; an exception in the check becomes a failed step', async () => {
    const missing = await tlsCheck(certs.valid, { ca: 'no-such-ca.pem' });
    assert.equal(missing.classification, 'tls_untrusted_issuer');
    assert.match(missing.summary, /cannot read the mapping's ca file .*no-such-ca\.pem \(ENOENT\)/);
    const thrown = await tlsCheck(certs.valid, { ca: 'ca.pem' }, 'localhost', { resolvePath: () => { throw new Error('resolver exploded'); } });
    assert.equal(thrown.state, 'down');
    assert.equal(thrown.classification, 'tls_handshake_failed');
    assert.equal(stepOf(thrown, 'tls').message, 'unexpected error while checking: resolver exploded');
    assert.equal(stepOf(thrown, 'probe').outcome, 'skipped');
  });
});
