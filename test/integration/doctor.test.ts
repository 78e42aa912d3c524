// `tunnelwatch doctor` as a real process against a real relay (and a running connector it must not disturb),
// and against what goes wrong: a closed port, the proxy port, a wrong server name, a certificate from
// another CA, and a clock that disagrees with the collector's.
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import type { DoctorReport, DoctorStepName } from '../../connector/diagnostics/doctor.js';
import { initPki, issueConnectorCertificate, loadCa, pemFiles, writePemFiles } from '../../connector/pki/pki.js';
import { closedPort } from '../helpers/faulty-backends.js';
import { run } from '../helpers/processes.js';
import { CLI, startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

let stack: TunnelStack;
let base: Record<string, unknown>;

before(async () => {
  stack = await startTunnelStack({
    tokens: [{ subaccount: 'acme', cloudApp: 'app', token: 'tok-acme' }],
    connectors: [{ id: 'connector-1', subaccounts: { acme: { mappings: [] } } }],
  });
  base = parse(await readFile(join(stack.dir, 'connector-1.yaml'), 'utf8')) as Record<string, unknown>;
});
after(() => stack.stop());

/** The keys of connector.yaml these tests change. */
interface ConnectorYaml {
  relay: { address: string; server_name?: string; tls: { cert: string; key: string; ca: string } };
  audit: { collector?: { url: string; token_file: string } };
  diagnostics?: { timeout_ms: number };
}

/** Writes a variant of the running connector's config and runs doctor on it. */
async function doctor(name: string, change: (c: ConnectorYaml) => void, ...flags: string[]) {
  const config = structuredClone(base) as unknown as ConnectorYaml;
  config.diagnostics = { timeout_ms: 2000 };
  change(config);
  const file = join(stack.dir, `${name}.yaml`);
  await writeFile(file, stringify(config));
  return run(process.execPath, [CLI, 'doctor', '--config', file, ...flags], { timeoutMs: 20_000 });
}

async function doctorJson(name: string, change: (c: ConnectorYaml) => void) {
  const r = await doctor(name, change, '--json');
  const report = JSON.parse(r.stdout) as DoctorReport;
  const step = (n: DoctorStepName) => report.steps.find((s) => s.step === n) as DoctorReport['steps'][number];
  return { code: r.code, report, step, stderr: r.stderr };
}

test('doctor against the running relay: every step passes, the clock is not measurable without a collector, exit 0', async () => {
  const registeredBefore = (stack.relay()?.stdout() ?? '').split('connector registered').length;
  const { code, report, step } = await doctorJson('ok', () => {});
  assert.equal(code, 0, JSON.stringify(report, null, 2));
  assert.equal(report.state, 'up');
  assert.equal(report.server_name, 'localhost');
  assert.deepEqual(report.steps.map((s) => `${s.step}:${s.outcome}`), ['dns:ok', 'tcp:ok', 'tls:ok', 'relay_cert:ok', 'hello:ok', 'client_cert:ok', 'clock:skipped']);
  assert.equal(step('tls').detail.alpn, 'tunnelwatch-h2/1');
  assert.equal(step('relay_cert').detail.subject, 'CN=localhost');
  assert.ok((step('relay_cert').detail.days_left as number) > 800);
  assert.equal(step('hello').detail.relay_id, 'relay-1');
  assert.equal(step('client_cert').detail.cn, 'connector-1');
  assert.match(step('clock').message, /cannot be measured: the relay's tunnel port sends no time/);
  // Doctor announced no subaccounts: the running connector's session stays the one the relay routes.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal((stack.relay()?.stdout() ?? '').split('connector registered').length, registeredBefore);
  assert.doesNotMatch(stack.connector('connector-1')?.stdout() ?? '', /reconnecting/);
});

test('the human report is a table with a row per step and exit 0', async () => {
  const r = await doctor('human', () => {});
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^connector connector-1 -> relay 127\.0\.0\.1:\d+, server name localhost: UP$/m);
  assert.match(r.stdout, /^ {2}relay_cert +ok +\d+ ms +the relay certificate CN=localhost \(issued by CN=Tunnelwatch CA\) is trusted by relay.tls.ca/m);
  assert.match(r.stdout, /^ {2}clock +skipped +- +cannot be measured/m);
});

test('a closed port: tcp_refused with the relay hint, TLS steps skipped, the local certificate still checked, exit 1', async () => {
  const port = await closedPort();
  const { code, report, step } = await doctorJson('closed', (c) => (c.relay.address = `127.0.0.1:${port}`));
  assert.equal(code, 1);
  assert.equal(report.state, 'down');
  assert.equal(report.classification, 'tcp_refused');
  assert.match(step('tcp').message, new RegExp(`connection refused at 127\\.0\\.0\\.1:${port} means nothing listens there: check relay.address`));
  assert.match(step('tcp').fix, /relay\.address .*tunnel\.listen/);
  assert.equal(step('tls').outcome, 'skipped');
  assert.equal(step('hello').outcome, 'skipped');
  assert.equal(step('client_cert').outcome, 'ok');
});

test('the relay\'s proxy port instead of its tunnel port is tls_protocol_error', async () => {
  const { code, report } = await doctorJson('proxy-port', (c) => (c.relay.address = `127.0.0.1:${stack.proxyPort}`));
  assert.equal(code, 1);
  assert.equal(report.classification, 'tls_protocol_error');
  assert.match(report.summary, /does not speak TLS/);
});

test('a server name the relay certificate does not carry is tls_hostname_mismatch on relay_cert', async () => {
  const { code, report, step } = await doctorJson('wrong-name', (c) => (c.relay.server_name = 'relay.elsewhere.example'));
  assert.equal(code, 1);
  assert.equal(report.classification, 'tls_hostname_mismatch');
  assert.match(step('relay_cert').message, /is for DNS:localhost, IP Address:127\.0\.0\.1, not for relay\.elsewhere\.example/);
  assert.match(step('relay_cert').fix, /relay\.server_name/);
});

test('a connector certificate from another CA is tls_client_cert_rejected', async () => {
  const other = join(stack.dir, 'other-pki');
  await initPki(other, { connectors: ['connector-1'] });
  const { code, report } = await doctorJson('other-ca', (c) => {
    c.relay.tls.cert = 'other-pki/connector-1.crt';
    c.relay.tls.key = 'other-pki/connector-1.key';
  });
  assert.equal(code, 1, JSON.stringify(report, null, 2));
  assert.equal(report.classification, 'tls_client_cert_rejected');
  assert.match(report.summary, /refused this connector's certificate/);
});

test('an expired connector certificate from the right CA: the headline says expired, not "not signed by the CA"', async () => {
  const pki = join(stack.dir, 'pki');
  const ca = await loadCa(await readFile(join(pki, 'ca.crt'), 'utf8'), await readFile(join(pki, 'ca.key'), 'utf8'));
  const expired = join(stack.dir, 'expired-pki');
  await writePemFiles(expired, pemFiles('connector-1', await issueConnectorCertificate(ca, { name: 'connector-1', validityDays: -2 })));
  const { code, report, step } = await doctorJson('expired-cert', (c) => {
    c.relay.tls.cert = 'expired-pki/connector-1.crt';
    c.relay.tls.key = 'expired-pki/connector-1.key';
  });
  assert.equal(code, 1, JSON.stringify(report, null, 2));
  assert.equal(report.classification, 'client_cert_expired');
  assert.match(report.summary, /expired on .* \((1|2) days? ago\)/);
  assert.equal(step('tls').outcome, 'fail', 'the relay refused the handshake too');
});

test('a clock an hour ahead of the collector\'s Date header is clock_skew', async () => {
  const collector = http.createServer((_req, res) => {
    res.setHeader('date', new Date(Date.now() - 3_600_000).toUTCString());
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const { code, report, step } = await doctorJson('skew', (c) => (c.audit.collector = { url, token_file: 'token' }));
    assert.equal(code, 1);
    assert.equal(report.classification, 'clock_skew');
    assert.match(step('clock').message, /this host's clock runs (3599|3600|3601) s ahead of the collector's/);
    assert.equal(step('hello').outcome, 'ok');
  } finally {
    await new Promise((resolve) => collector.close(resolve));
  }
});

test('doctor without --config is a usage error: exit 64', async () => {
  const r = await run(process.execPath, [CLI, 'doctor'], { timeoutMs: 20_000 });
  assert.equal(r.code, 64);
  assert.match(r.stderr, /--config FILE is required/);
});
