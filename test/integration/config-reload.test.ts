// SIGHUP reloads a running connector's rules: a valid file applies at once and becomes an admin event
// (who, what, before and after) in the collector's chain; an invalid one is refused whole and the rules in
// force stay. Real relay, connector and collector processes, a node backend.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { queryStore, startCollectorProcess, type CollectorProcess } from '../helpers/collector-process.js';
import { waitFor, type StartedProcess } from '../helpers/processes.js';
import { proxyRequest } from '../helpers/proxy-client.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN = 'tw_cloud_app_token_reload_0123456789';
const RELOADED = 'configuration reloaded';
const REFUSED = 'configuration reload refused';
const ACCEPTED = 'rule snapshot accepted by the collector';

function logCount(p: StartedProcess | undefined, prefix: string): number {
  return `${p?.stderr() ?? ''}\n${p?.stdout() ?? ''}`.split('\n').filter((line) => {
    try {
      return (JSON.parse(line) as { msg?: string }).msg?.startsWith(prefix) === true;
    } catch {
      return false;
    }
  }).length;
}

describe('configuration reload (SIGHUP)', () => {
  let collector: CollectorProcess;
  let stack: TunnelStack;
  let backend: Server;
  let file: string;
  const status = async (path: string): Promise<number> => (await proxyRequest(stack.proxyPort, `http://erp.virtual:8000${path}`, { token: TOKEN })).status;
  const hup = async (prefix: string): Promise<void> => {
    const p = stack.connector('connector-1');
    const before = logCount(p, prefix);
    process.kill(p?.pid as number, 'SIGHUP');
    await waitFor(() => (logCount(stack.connector('connector-1'), prefix) > before ? true : undefined), { timeoutMs: 10_000, message: `"${prefix}" in the connector log` });
  };
  const editRules = async (edit: (subaccounts: Record<string, { mappings: { resources: { path: string }[] }[] }>) => void): Promise<void> => {
    const doc = parse(await readFile(file, 'utf8')) as { subaccounts: Record<string, { mappings: { resources: { path: string }[] }[] }> };
    edit(doc.subaccounts);
    await writeFile(file, stringify(doc));
  };

  before(async () => {
    backend = createServer((req, res) => res.end(`ok ${req.url}\n`));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    collector = await startCollectorProcess();
    const tokenFile = join(collector.dir, 'ingest.token');
    await writeFile(tokenFile, collector.token);
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'portal', token: TOKEN }],
      connectors: [{
        id: 'connector-1',
        subaccounts: { acme: { mappings: [{ virtual: 'erp.virtual:8000', internal: `127.0.0.1:${(backend.address() as AddressInfo).port}`, protocol: 'http', resources: [{ path: '/api', methods: ['GET'] }] }] } },
        extra: { audit: { dir: 'audit/connector-1', collector: { url: collector.url, token_file: tokenFile, flush_interval_ms: 50 } } },
      }],
    });
    file = join(stack.dir, 'connector-1.yaml');
  });
  after(async () => {
    await stack?.stop();
    await collector?.stop();
    await new Promise((r) => backend?.close(r));
  });

  test('a valid reload applies at once, with no restart and no dropped tunnel', async () => {
    assert.equal(await status('/api/orders'), 200);
    assert.equal(await status('/admin/users'), 403);
    const pid = stack.connector('connector-1')?.pid;
    await editRules((s) => s.acme?.mappings[0]?.resources.push({ path: '/admin' }));
    await hup(RELOADED);
    assert.equal(await status('/admin/users'), 200);
    assert.equal(await status('/api/orders'), 200);
    assert.equal(stack.connector('connector-1')?.pid, pid, 'the same process');
  });

  test('an invalid reload is refused whole: the rules in force stay', async () => {
    // A valid rule next to an invalid one: nothing of it may apply.
    await editRules((s) => {
      s.acme?.mappings[0]?.resources.push({ path: '/reports' });
      s.acme?.mappings[0]?.resources.push({ path: 'no-leading-slash' });
    });
    await hup(REFUSED);
    assert.equal(await status('/reports/q1'), 403, 'the valid part of a refused file is not applied');
    assert.equal(await status('/admin/users'), 200, 'the rules in force stay');
    await writeFile(file, 'subaccounts: [this is: not valid yaml');
    await hup(REFUSED);
    assert.equal(await status('/admin/users'), 200);
    assert.equal(await status('/api/orders'), 200);
  });

  test('the applied change is an admin event with who, before and after; the refused ones are not', async () => {
    // The rules of the start and of the one applied reload, both accepted by the collector.
    await waitFor(() => (logCount(stack.connector('connector-1'), ACCEPTED) >= 2 ? true : undefined), { timeoutMs: 15_000, message: 'two rule snapshots accepted' });
    await stack.stop();
    await collector.stop();
    const [events] = await queryStore<{ action: string; actor: string; via: string; target: string; reason: string; before: string; after: string; emitter: string }>(collector.dataDir, [
      { sql: "SELECT action, actor, via, target, reason, before, after, emitter FROM admin_events FINAL WHERE action = 'rules.change' ORDER BY seq" },
    ]);
    assert.deepEqual(events?.map((e) => e.via), ['connector:start', 'connector:reload']);
    const reload = events?.[1];
    assert.match(reload?.actor ?? '', /^SIGHUP to pid \d+ on /);
    assert.equal(reload?.target, 'connector-1');
    assert.equal(reload?.emitter, 'collector');
    assert.match(reload?.reason ?? '', /changed acme/);
    assert.doesNotMatch(reload?.before ?? '', /\/admin/);
    assert.match(reload?.after ?? '', /"path":"\/admin"/);
    assert.doesNotMatch(reload?.after ?? '', /reports|no-leading-slash/);
  });
});
