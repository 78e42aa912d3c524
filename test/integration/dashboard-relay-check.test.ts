// A check asked for on the dashboard travels the whole real path: dashboard -> relay admin API -> the
// tunnel's control channel -> the connector, which checks its own mapping and answers; the report is
// stored and shown. A viewer and an analyst are refused. Real relay and connector processes, a node
// backend, an embedded store.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { CheckReport } from '../../connector/diagnostics/types.js';
import { buildDashboardApp } from '../../dashboard/app.js';
import { bearer, openTestStore, testDashboard, TEST_SETTINGS, type TestDashboard, type TestStore } from '../helpers/dashboard.js';
import { freePort } from '../helpers/ports.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const ADMIN_TOKEN = 'tw_relay_admin_token_dashboard_0123456789';

describe('dashboard-triggered backend check through a real relay and connector', () => {
  let ts: TestStore;
  let dash: TestDashboard;
  let app: FastifyInstance;
  let stack: TunnelStack;
  let backend: Server;
  let closedPort: number;

  before(async () => {
    backend = createServer((_req, res) => res.end('ok\n'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    closedPort = await freePort();
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'portal', token: 'tw_cloud_app_token_relay_check_0123456789' }],
      relayAdmin: { tokens: [{ name: 'dashboard', token: ADMIN_TOKEN }] },
      connectors: [{
        id: 'connector-1',
        subaccounts: {
          acme: {
            mappings: [
              { virtual: 'erp.virtual:8000', internal: `127.0.0.1:${(backend.address() as AddressInfo).port}`, protocol: 'http', resources: [{ path: '/api' }] },
              { virtual: 'gone.virtual:9000', internal: `127.0.0.1:${closedPort}`, protocol: 'tcp' },
            ],
          },
        },
        extra: { diagnostics: { interval_ms: 0, timeout_ms: 2000 } },
      }],
    });
    ts = await openTestStore();
    dash = await testDashboard(ts.store);
    writeFileSync(join(ts.dir, 'relay-admin.token'), `${ADMIN_TOKEN}\n`);
    const settings = { ...TEST_SETTINGS, relay_admin: { url: `http://127.0.0.1:${stack.adminPort}`, token_file: 'relay-admin.token', timeout_ms: 15_000 } };
    app = await buildDashboardApp({ ...dash.ctx, settings, configFile: join(ts.dir, 'dashboard.yaml') });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await dash?.app.close();
    await ts?.close();
    await stack?.stop();
    await new Promise((r) => backend?.close(r));
  });

  const check = (token: string, virtual_host: string) =>
    app.inject({ method: 'POST', url: '/api/v1/backends/check', headers: bearer(token), payload: { subaccount: 'acme', virtual_host } });

  it('an admin\'s check reaches the connector and comes back as its report, stored for the history', async () => {
    const up = await check('admin', 'erp.virtual:8000');
    assert.equal(up.statusCode, 200, up.body);
    const { report, stored } = up.json<{ report: CheckReport; stored: { accepted: number } }>();
    assert.equal(stored.accepted, 1);
    assert.equal(report.state, 'up', report.summary);
    assert.deepEqual([report.trigger, report.requested_by], ['dashboard', 'test-admin']);
    assert.equal(report.connector_id, 'connector-1');
    assert.equal(report.internal_host, `127.0.0.1:${(backend.address() as AddressInfo).port}`);
    assert.deepEqual(report.steps.map((s) => s.step), ['dns', 'tcp', 'tls', 'probe', 'auth', 'latency']);

    const down = await check('admin', 'gone.virtual:9000');
    assert.equal(down.statusCode, 200, down.body);
    const failed = down.json<{ report: CheckReport }>().report;
    assert.equal(failed.state, 'down');
    assert.equal(failed.classification, 'tcp_refused');
    assert.match(failed.summary, new RegExp(`refused at 127\\.0\\.0\\.1:${closedPort}`));

    const last = await app.inject({ url: '/api/v1/backends/last?subaccount=acme&virtual_host=gone.virtual:9000', headers: bearer('viewer') });
    assert.equal(last.statusCode, 200, last.body);
    assert.equal(last.json<{ report: CheckReport }>().report.check_id, failed.check_id, 'the dashboard stored the report it got');
  });

  it('a mapping the connector does not have is 404, and a viewer or an analyst may not run checks', async () => {
    assert.equal((await check('admin', 'nowhere.virtual:1')).statusCode, 404);
    for (const token of ['viewer', 'analyst']) {
      const r = await check(token, 'erp.virtual:8000');
      assert.equal(r.statusCode, 403, `${token}: ${r.body}`);
    }
  });

  it('the tunnel view lists the connector as the relay sees it', async () => {
    const r = await app.inject({ url: '/api/v1/backends/tunnel', headers: bearer('viewer') });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json<{ connectors: { connector_id: string; subaccounts: string[] }[] }>();
    assert.deepEqual(body.connectors.map((c) => [c.connector_id, c.subaccounts]), [['connector-1', ['acme']]]);
  });
});
