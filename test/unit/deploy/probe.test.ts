// deploy/docker/probe.mjs is the health check of the compose services (their /readyz routes; the chart's
// kubelet probes use httpGet): it must say healthy exactly when the target is.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoPath } from './deploy-files.js';

function probe(target: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [repoPath('deploy/docker/probe.mjs'), target], { stdio: 'ignore' });
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

describe('deploy/docker/probe.mjs', () => {
  let server: Server;
  let port = 0;
  let closedPort = 0;
  const dir = mkdtempSync(join(tmpdir(), 'tw-probe-'));
  before(async () => {
    server = createServer((req, res) => res.writeHead(req.url === '/readyz' ? 503 : 200).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    const spare = createTcpServer();
    await new Promise<void>((r) => spare.listen(0, '127.0.0.1', r));
    closedPort = (spare.address() as AddressInfo).port;
    await new Promise((r) => spare.close(r));
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('http: 0 on a 2xx answer, 1 on a 503 or when nothing listens', async () => {
    assert.equal(await probe(`http://127.0.0.1:${port}/healthz`), 0);
    assert.equal(await probe(`http://127.0.0.1:${port}/readyz`), 1);
    assert.equal(await probe(`http://127.0.0.1:${closedPort}/healthz`), 1);
  });

  it('tcp: 0 when a connection opens, 1 when it is refused', async () => {
    assert.equal(await probe(`tcp://127.0.0.1:${port}`), 0);
    assert.equal(await probe(`tcp://127.0.0.1:${closedPort}`), 1);
  });

  it('dir: 0 for a writable folder, 1 for a missing one or a read-only one', async () => {
    assert.equal(await probe(`dir:${dir}`), 0);
    assert.equal(await probe(`dir:${dir}/missing`), 1);
    const readOnly = join(dir, 'ro');
    mkdirSync(readOnly);
    chmodSync(readOnly, 0o500);
    // root may write anyway (CAP_DAC_OVERRIDE): then access() says writable, as it would for root in a container.
    const expected = process.getuid?.() === 0 ? 0 : 1;
    assert.equal(await probe(`dir:${readOnly}`), expected);
    assert.equal(await probe('ftp://x'), 1);
  });
});
