// An answer cut in the middle must reach the cloud app cut, never as a shorter answer that looks complete:
// a chunked body whose backend fails, or whose connector dies (kill -9), loses its final chunk, and the
// call keeps an audit event (the connector's, or the relay's tunnel_down when the connector died).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '../../common/audit/event.js';
import { waitFor } from '../helpers/processes.js';
import { proxyRequest } from '../helpers/proxy-client.js';
import { startOneMappingStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN = 'tw_test_cut_answers_0123456789abcdef';
const CONNECTOR = 'connector-1';
const RELAY = 'relay-1';

describe('answers cut in the middle', () => {
  let backend: http.Server;
  let stack: TunnelStack;
  let chunksSent = 0;

  before(async () => {
    backend = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }); // chunked: no Content-Length
      if (req.url === '/fails-mid-body') {
        res.write('part one\n');
        setTimeout(() => res.socket?.destroy(), 100);
        return;
      }
      // /slow: a chunk every 200 ms for 10 s.
      const timer = setInterval(() => {
        chunksSent++;
        res.write(`tick ${chunksSent}\n`);
        if (chunksSent >= 50) {
          clearInterval(timer);
          res.end();
        }
      }, 200);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const port = (backend.address() as AddressInfo).port;
    stack = await startOneMappingStack({ token: TOKEN, backendPort: port, connectorId: CONNECTOR });
  });

  after(async () => {
    await stack?.stop();
    await new Promise((resolve) => backend?.close(resolve));
  });

  it('a backend failing mid-body: the cloud app sees the answer cut, and the connector\'s event says why', async () => {
    const connectorBefore = (await stack.auditEvents(CONNECTOR)).length;
    const relayBefore = (await stack.auditEvents(RELAY)).length;
    await assert.rejects(proxyRequest(stack.proxyPort, 'http://app.virtual:8000/fails-mid-body', { token: TOKEN }), /aborted|ECONNRESET|socket hang up|terminated/i, 'a cut answer, not a short one that ends cleanly');
    const [event] = (await stack.waitForAudit(CONNECTOR, connectorBefore + 1, 5000)).slice(connectorBefore) as AuditEvent[];
    assert.equal(event?.status, 200);
    assert.notEqual(event?.error_type, '', 'the connector records the failure');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await stack.auditEvents(RELAY)).length, relayBefore, 'the relay adds no event: the tunnel held');
  });

  it('a connector killed mid-answer: the cloud app sees the answer cut, and the relay writes tunnel_down', async () => {
    const relayBefore = (await stack.auditEvents(RELAY)).length;
    // Settled into a value at once: the answer fails while kill9() is still being awaited.
    const answer = proxyRequest(stack.proxyPort, 'http://app.virtual:8000/slow', { token: TOKEN, timeoutMs: 20_000 }).then(
      (r) => ({ complete: true as const, body: r.body }),
      (err: Error) => ({ complete: false as const, error: err.message }),
    );
    await waitFor(() => chunksSent >= 3, { timeoutMs: 5000, message: 'the slow answer is under way' });
    await stack.connector(CONNECTOR)?.kill9();
    const got = await answer;
    assert.equal(got.complete, false, `a cut answer, not a short one that ends cleanly: ${JSON.stringify(got)}`);
    assert.match(got.complete ? '' : got.error, /aborted|ECONNRESET|socket hang up|terminated/i);
    const events = (await stack.waitForAudit(RELAY, relayBefore + 1, 5000)).slice(relayBefore) as AuditEvent[];
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.deepEqual([events[0]?.decision, events[0]?.error_type, events[0]?.status, events[0]?.path], ['allow', 'tunnel_down', 200, '/slow']);
  });
});
