// The connector's audit disk refuses writes (its audit file is /dev/full, which answers ENOSPC): the call
// whose event cannot be written must not reach the caller complete. A crash before the disk recovers would
// otherwise leave a full 200 answer with no event anywhere (docs/audit-delivery.md, "fsync policy").
import assert from 'node:assert/strict';
import { mkdir, symlink } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { proxyRequest, refusalOf } from '../helpers/proxy-client.js';
import { startOneMappingStack, type TunnelStack } from '../helpers/tunnel-stack.js';
import { waitFor } from '../helpers/processes.js';

const TOKEN = 'tw_test_disk_full_cut_0123456789abcdef';
const CONNECTOR = 'connector-1';
const BODY = 'x'.repeat(4000);

describe('an answer whose audit event cannot be written', () => {
  let backend: http.Server;
  let stack: TunnelStack;

  before(async () => {
    backend = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(BODY.length) });
      res.end(BODY);
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const port = (backend.address() as AddressInfo).port;
    stack = await startOneMappingStack({
      token: TOKEN,
      backendPort: port,
      connectorId: CONNECTOR,
      beforeStart: async (dir) => {
        // The file the connector's first event goes to is /dev/full.
        const audit = join(dir, 'audit', CONNECTOR);
        await mkdir(audit, { recursive: true });
        await symlink('/dev/full', join(audit, `audit-${CONNECTOR}-000000000001.ndjson`));
      },
    });
  });

  after(async () => {
    await stack?.stop();
    await new Promise((resolve) => backend?.close(resolve));
  });

  it('is cut before its end, and the next call is refused until the disk takes writes again', async () => {
    // The first call finds the emitter healthy: its answer starts, and its end is held back by the write.
    const first = await proxyRequest(stack.proxyPort, 'http://app.virtual:8000/data', { token: TOKEN }).then(
      (r) => ({ ok: true as const, status: r.status, body: r.body }),
      (err: Error) => ({ ok: false as const, error: err.message }),
    );
    if (first.ok) {
      // A complete answer is only acceptable if it is not the backend's (the relay's refusal of a broken call).
      assert.notEqual(first.body, BODY, 'the backend\'s complete answer reached the caller without an audit event on disk');
      assert.equal(first.status, 502, JSON.stringify(first));
    } else {
      assert.match(first.error, /aborted|socket hang up|ECONNRESET|terminated|premature/i);
    }
    const connector = stack.connector(CONNECTOR);
    await waitFor(() => /answer cut before its end: its audit event could not be written/.test(`${connector?.stdout() ?? ''}${connector?.stderr() ?? ''}`), { timeoutMs: 5000, message: 'the connector logs the cut' });

    const second = await proxyRequest(stack.proxyPort, 'http://app.virtual:8000/data', { token: TOKEN });
    assert.equal(second.status, 503);
    assert.equal(refusalOf(second.body)?.code, 'TW_ERR_AUDIT_UNAVAILABLE');
    assert.equal(refusalOf(second.body)?.detail, 'the connector cannot keep audit events: the audit disk refuses writes', 'the refusal says which: the disk, not the spool');
  });
});
