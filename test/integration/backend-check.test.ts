// runCheck against backends that really fail, all on 127.0.0.1: each failure mode gets its classification,
// the right state and a message that names what was seen. TLS: backend-check-tls.test.ts; the CLI:
// backend-check-cli.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MappingConfig } from '../../connector/agent/config-schema.js';
import { CLASSIFICATIONS } from '../../connector/diagnostics/classifications.js';
import {
  answer, backendMapping, checker, closedPort, outcomesOf, startBannerBackend, startHangingBackend, startHttpBackend, startResettingBackend, stepOf,
} from '../helpers/faulty-backends.js';
import { startSlapd, type Slapd } from '../helpers/slapd.js';

let dir: string;
const check = checker(() => ({ timeoutMs: 800, latencyWarnMs: 2000, certWarnDays: 30, resolvePath: (p) => join(dir, p) }));
const mapping = backendMapping;
const step = stepOf;
const outcomes = outcomesOf;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tw-check-'));
  await writeFile(join(dir, 'ldap-password'), 'wrong-password\n');
});
after(() => rm(dir, { recursive: true, force: true }));

describe('runCheck on real failure modes', () => {
  test('a closed port is tcp_refused: down, the message names the address and says nothing listens there', async () => {
    const port = await closedPort();
    const r = await check(mapping(`127.0.0.1:${port}`, 'http'));
    assert.equal(r.state, 'down');
    assert.equal(r.classification, 'tcp_refused');
    assert.equal(outcomes(r), 'dns:ok tcp:fail tls:skipped probe:skipped auth:skipped latency:skipped');
    const tcp = step(r, 'tcp');
    assert.match(tcp.message, new RegExp(`^connection refused at 127\\.0\\.0\\.1:${port} means nothing listens there: check the mapping's internal port`));
    assert.equal(tcp.fix, CLASSIFICATIONS.tcp_refused.fix);
    assert.equal(r.summary, tcp.message);
    assert.equal(step(r, 'dns').detail.resolved, false);
    assert.equal(step(r, 'latency').duration_ms, 0);
  });

  test('a name that does not resolve is dns_not_found and stops before tcp', async () => {
    const r = await check(mapping('nothing.invalid:8080', 'http'));
    assert.equal(r.state, 'down');
    assert.equal(r.classification, 'dns_not_found');
    assert.match(step(r, 'dns').message, /^nothing\.invalid does not resolve \(ENOTFOUND\)/);
    assert.equal(step(r, 'tcp').outcome, 'skipped');
    assert.match(step(r, 'tcp').message, /the dns step failed/);
  });

  test('a healthy http backend is up, gets HEAD / with the virtual Host header, and reports its timings', async () => {
    const b = await startHttpBackend(answer(200));
    try {
      const r = await check(mapping(`localhost:${b.port}`, 'http', { virtual: 'ERP.virtual:8000' }));
      assert.equal(r.state, 'up', JSON.stringify(r.steps));
      assert.equal(r.classification, 'ok');
      assert.match(r.summary, /^reachable in \d+ ms$/);
      assert.equal(outcomes(r), 'dns:ok tcp:ok tls:skipped probe:ok auth:ok latency:ok');
      assert.deepEqual(step(r, 'dns').detail.addresses, ['127.0.0.1']);
      assert.equal(b.requests.length, 1);
      assert.equal(b.requests[0]?.method, 'HEAD');
      assert.equal(b.requests[0]?.url, '/');
      assert.equal(b.requests[0]?.headers.host, 'erp.virtual:8000');
      assert.equal(step(r, 'probe').detail.status, 200);
      assert.ok(r.steps.every((s) => s.fix === ''));
      assert.match(r.started_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.match(r.check_id, /^[0-9a-f-]{36}$/);
    } finally {
      await b.close();
    }
  });

  test('a backend that accepts and then hangs is probe_timeout after the step timeout', async () => {
    const b = await startHangingBackend();
    try {
      const started = Date.now();
      const r = await check(mapping(`127.0.0.1:${b.port}`, 'http'), { timeoutMs: 400 });
      assert.equal(r.classification, 'probe_timeout');
      assert.equal(r.state, 'down');
      assert.match(step(r, 'probe').message, new RegExp(`127\\.0\\.0\\.1:${b.port} accepted the connection but did not answer HEAD / within 400 ms`));
      assert.ok(Date.now() - started < 3000);
      assert.ok(step(r, 'probe').duration_ms >= 390, String(step(r, 'probe').duration_ms));
    } finally {
      await b.close();
    }
  });

  test('503 is probe_unavailable (down), with the Retry-After the backend sent', async () => {
    const b = await startHttpBackend(answer(503, { 'retry-after': '120' }));
    try {
      const r = await check(mapping(`127.0.0.1:${b.port}`, 'http'));
      assert.equal(r.state, 'down');
      assert.equal(r.classification, 'probe_unavailable');
      assert.match(r.summary, /answered 503 Service Unavailable to HEAD \/ .*\(Retry-After: 120\)/);
      assert.equal(step(r, 'probe').detail.status, 503);
    } finally {
      await b.close();
    }
  });

  test('other 5xx are probe_server_error', async () => {
    const b = await startHttpBackend(answer(502));
    try {
      const r = await check(mapping(`127.0.0.1:${b.port}`, 'http'));
      assert.equal(r.classification, 'probe_server_error');
      assert.match(r.summary, /answered 502 Bad Gateway/);
    } finally {
      await b.close();
    }
  });

  test('401 is auth_required: degraded, a warning that says the backend wants credentials', async () => {
    const b = await startHttpBackend(answer(401, { 'www-authenticate': 'Basic realm="erp"' }));
    try {
      const r = await check(mapping(`127.0.0.1:${b.port}`, 'http'));
      assert.equal(r.state, 'degraded');
      assert.equal(r.classification, 'auth_required');
      assert.equal(outcomes(r), 'dns:ok tcp:ok tls:skipped probe:ok auth:warn latency:ok');
      const auth = step(r, 'auth');
      assert.match(auth.message, /reachable but answered 401 to HEAD \/ \(WWW-Authenticate: Basic\): it wants credentials the cloud app must send/);
      assert.equal(auth.fix, CLASSIFICATIONS.auth_required.fix);
    } finally {
      await b.close();
    }
  });

  test('403 is auth_forbidden (degraded); a configured probe path and GET are used', async () => {
    const b = await startHttpBackend(answer(403));
    try {
      const r = await check(mapping(`127.0.0.1:${b.port}`, 'http', { host_header: 'internal', probe: { path: '/health', method: 'GET' } }));
      assert.equal(r.classification, 'auth_forbidden');
      assert.equal(r.state, 'degraded');
      assert.equal(b.requests[0]?.method, 'GET');
      assert.equal(b.requests[0]?.url, '/health');
      assert.equal(b.requests[0]?.headers.host, `127.0.0.1:${b.port}`);
    } finally {
      await b.close();
    }
  });

  test('404 on a configured probe.path is a probe_not_found warning; on the default / it is just an answer', async () => {
    const b = await startHttpBackend(answer(404));
    try {
      const configured = await check(mapping(`127.0.0.1:${b.port}`, 'http', { probe: { path: '/healthz', method: 'HEAD' } }));
      assert.equal(configured.state, 'degraded');
      assert.equal(configured.classification, 'probe_not_found');
      assert.match(configured.summary, /answered 404 Not Found to HEAD \/healthz .*probe\.path does not exist there/);
      const plain = await check(mapping(`127.0.0.1:${b.port}`, 'http'));
      assert.equal(plain.state, 'up');
    } finally {
      await b.close();
    }
  });

  test('a slow answer is latency_high (degraded), with the step timings', async () => {
    const b = await startHttpBackend((req, res) => setTimeout(() => answer(200)(req, res), 250));
    try {
      const r = await check(mapping(`127.0.0.1:${b.port}`, 'http'), { latencyWarnMs: 100 });
      assert.equal(r.classification, 'latency_high');
      assert.equal(r.state, 'degraded');
      assert.match(step(r, 'latency').message, /the backend took \d+ ms to answer \(dns 0, connect \d+, response \d+ ms\), more than the 100 ms warning threshold/);
      assert.ok((step(r, 'latency').detail.total_ms as number) >= 240);
    } finally {
      await b.close();
    }
  });

  test('a backend that recovers: down while nothing listens, up once it runs on the same port', async () => {
    const port = await closedPort();
    const m = mapping(`127.0.0.1:${port}`, 'http');
    const down = await check(m);
    assert.equal(down.state, 'down');
    assert.equal(down.classification, 'tcp_refused');
    const b = await startHttpBackend(answer(204), port);
    try {
      const up = await check(m);
      assert.equal(up.state, 'up');
      assert.equal(up.classification, 'ok');
      assert.equal(step(up, 'probe').detail.status, 204);
      assert.notEqual(up.check_id, down.check_id);
    } finally {
      await b.close();
    }
  });

  test('a backend that closes the connection on the request is probe_closed', async () => {
    const b = await startResettingBackend();
    try {
      const r = await check(mapping(`127.0.0.1:${b.port}`, 'http'));
      assert.equal(r.classification, 'probe_closed');
      assert.match(r.summary, new RegExp(`127\\.0\\.0\\.1:${b.port} closed the connection without answering HEAD /`));
    } finally {
      await b.close();
    }
  });

  test('garbage instead of HTTP is probe_bad_response', async () => {
    const b = await startBannerBackend('SSH-2.0-OpenSSH_9.2\r\n');
    try {
      const r = await check(mapping(`127.0.0.1:${b.port}`, 'http'));
      assert.equal(r.classification, 'probe_bad_response');
      assert.match(r.summary, /something that is not HTTP \(HPE_/);
    } finally {
      await b.close();
    }
  });

  test('tcp banners: a match is up, another service is banner_mismatch with what it said', async () => {
    const b = await startBannerBackend('220 mail.example ESMTP\r\n');
    try {
      const good = await check(mapping(`127.0.0.1:${b.port}`, 'tcp', { probe: { path: '/', method: 'HEAD', expect_banner: '^220 ' } }));
      assert.equal(good.state, 'up', JSON.stringify(good.steps));
      assert.match(step(good, 'probe').message, /greeted with "220 mail\.example ESMTP\\r\\n", which matches/);
      const bad = await check(mapping(`127.0.0.1:${b.port}`, 'tcp', { probe: { path: '/', method: 'HEAD', expect_banner: '^SSH-' } }));
      assert.equal(bad.classification, 'banner_mismatch');
      assert.match(bad.summary, /greeted with "220 mail.example ESMTP\\r\\n", which does not match \/\^SSH-\//);
    } finally {
      await b.close();
    }
  });
});

describe('runCheck binds to LDAP where the mapping says so', () => {
  let slapd: Slapd;
  before(async () => {
    slapd = await startSlapd();
  });
  after(() => slapd.stop());

  const ldapMapping = (passwordFile: string): MappingConfig =>
    mapping(`127.0.0.1:${slapd.port}`, 'tcp', { probe: { path: '/', method: 'HEAD', ldap: { bind_dn: slapd.serviceDn, password_file: passwordFile } } });

  test('a bind with the right password is up, and the auth step says who bound', async () => {
    await writeFile(join(dir, 'ldap-right'), `${slapd.servicePassword}\n`);
    const r = await check(ldapMapping('ldap-right'));
    assert.equal(r.state, 'up', JSON.stringify(r.steps));
    assert.match(step(r, 'auth').message, new RegExp(`simple bind as ${slapd.serviceDn}`));
  });

  test('a refused bind is ldap_bind_failed with result code 49, and the password appears nowhere', async () => {
    const r = await check(ldapMapping('ldap-password'));
    assert.equal(r.classification, 'ldap_bind_failed');
    assert.equal(r.state, 'down');
    assert.match(r.summary, /refused the simple bind as cn=dashboard-svc,dc=example,dc=com: result code 49 \(InvalidCredentials\)/);
    assert.equal(step(r, 'probe').detail.result_code, 49);
    assert.ok(!JSON.stringify(r).includes('wrong-password'));
  });
});
