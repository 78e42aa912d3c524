// `tunnelwatch check` as a real process (bin/tunnelwatch.js) on a generated connector.yaml: NDJSON and
// human output, selection by subaccount and virtual host, and the exit codes.
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { CLASSIFICATIONS } from '../../connector/diagnostics/classifications.js';
import type { CheckBatch, CheckReport } from '../../connector/diagnostics/types.js';
import { answer, closedPort, startHttpBackend } from '../helpers/faulty-backends.js';
import { run } from '../helpers/processes.js';
import { CLI } from '../helpers/tunnel-stack.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tw-check-cli-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('tunnelwatch check as a real process', () => {
  let healthy: Awaited<ReturnType<typeof startHttpBackend>>;
  let locked: Awaited<ReturnType<typeof startHttpBackend>>;
  let file: string;
  before(async () => {
    healthy = await startHttpBackend(answer(200));
    locked = await startHttpBackend(answer(401));
    const closed = await closedPort();
    file = join(dir, 'connector.yaml');
    await writeFile(file, stringify({
      connector: { id: 'connector-1' },
      relay: { address: '127.0.0.1:1', tls: { cert: 'pki/c.crt', key: 'pki/c.key', ca: 'pki/ca.crt' } },
      diagnostics: { timeout_ms: 1000 },
      subaccounts: {
        acme: {
          mappings: [
            { virtual: 'erp.virtual:443', internal: `127.0.0.1:${healthy.port}`, protocol: 'http' },
            { virtual: 'hr.virtual:443', internal: `127.0.0.1:${closed}`, protocol: 'http' },
          ],
        },
        globex: { mappings: [{ virtual: 'crm.virtual:80', internal: `127.0.0.1:${locked.port}`, protocol: 'http' }] },
      },
    }));
  });
  after(async () => {
    await healthy.close();
    await locked.close();
  });
  const tw = (...args: string[]) => run(process.execPath, [CLI, 'check', '--config', file, ...args], { timeoutMs: 20_000 });

  test('--json prints one CheckReport per mapping, in config order, and exits 1 when one is down', async () => {
    const r = await tw('--json');
    assert.equal(r.code, 1, r.stderr);
    const reports = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as CheckReport);
    assert.deepEqual(reports.map((x) => `${x.subaccount} ${x.virtual_host} ${x.state} ${x.classification}`), [
      'acme erp.virtual:443 up ok',
      'acme hr.virtual:443 down tcp_refused',
      'globex crm.virtual:80 degraded auth_required',
    ]);
    assert.ok(reports.every((x) => x.trigger === 'cli' && x.connector_id === 'connector-1' && x.steps.length === 6));
  });

  test('the human table of one healthy mapping says UP and exits 0', async () => {
    const r = await tw('--virtual', 'ERP.virtual:443');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^acme {2}erp\.virtual:443 -> 127\.0\.0\.1:\d+ \(http\): UP, reachable in \d+ ms$/m);
    assert.match(r.stdout, /^ {2}probe +ok +\d+ ms +127\.0\.0\.1:\d+ answered 200 OK to HEAD \//m);
    assert.match(r.stdout, /^1 mapping checked: 1 up, 0 degraded, 0 down$/m);
  });

  test('a degraded mapping alone exits 2, and the table carries the warning and its fix', async () => {
    const r = await tw('--subaccount', 'globex');
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /: DEGRADED, auth_required$/m);
    assert.match(r.stdout, /^ {2}auth +WARN +\d+ ms +127\.0\.0\.1:\d+ is reachable but answered 401/m);
    assert.ok(r.stdout.includes(`fix: ${CLASSIFICATIONS.auth_required.fix}`));
  });

  test('a down mapping prints the failing step with its fix; unknown names and bad config exit 64', async () => {
    const down = await tw('--virtual', 'hr.virtual:443');
    assert.equal(down.code, 1);
    assert.match(down.stdout, /^ {2}tcp +FAIL +\d+ ms +connection refused at 127\.0\.0\.1:\d+ means nothing listens there/m);
    assert.match(down.stdout, /^ {2}tls +skipped +- +not run: the tcp step failed$/m);
    const unknown = await tw('--subaccount', 'initech');
    assert.equal(unknown.code, 64);
    assert.match(unknown.stderr, /no subaccount "initech"/);
    const bad = await run(process.execPath, [CLI, 'check', '--config', join(dir, 'missing.yaml')], { timeoutMs: 20_000 });
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /TW_ERR_CONFIG_READ/);
  });

  test('with audit.collector the reports are sent to POST /v1/checks with the ingest token', async () => {
    const batches: { auth: string | undefined; body: CheckBatch }[] = [];
    const collector = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        if (req.url === '/v1/checks') batches.push({ auth: req.headers.authorization, body: JSON.parse(body) as CheckBatch });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    try {
      const config = parse(await readFile(file, 'utf8')) as { audit?: unknown };
      config.audit = { collector: { url: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`, token_file: 'ingest-token' } };
      await writeFile(join(dir, 'ingest-token'), 'secret-ingest-token\n');
      const shipping = join(dir, 'shipping.yaml');
      await writeFile(shipping, stringify(config));
      const r = await run(process.execPath, [CLI, 'check', '--config', shipping, '--subaccount', 'acme', '--json'], { timeoutMs: 20_000 });
      assert.equal(r.code, 1, r.stderr);
      const shipped = batches.flatMap((b) => b.body.reports);
      assert.deepEqual(shipped.map((x) => `${x.virtual_host} ${x.state} ${x.trigger}`).sort(), ['erp.virtual:443 up cli', 'hr.virtual:443 down cli']);
      assert.equal(batches[0]?.auth, 'Bearer secret-ingest-token');
      assert.equal(batches[0]?.body.schema, 'tunnelwatch.checks/1');
    } finally {
      await new Promise((resolve) => collector.close(resolve));
    }
  });
});
