// Reloading a running collector (SIGHUP and POST /api/v1/admin/reload): a valid file puts a new dashboard
// user, a new ingest token and a changed exporter in force at once (the exporter delivers to its new URL);
// an invalid one is refused whole; the dashboard route needs an admin; every applied change is an admin
// event `config.change` with who, before and after (password hashes only as fingerprints), and every
// refused one a `config.reload` failure. A real collector process with its dashboard and a webhook receiver.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import type { AuditEvent } from '../../common/audit/event.js';
import { fingerprint } from '../../common/config/config-report.js';
import { hashPassword } from '../../dashboard/auth/password.js';
import { trafficEvents } from '../helpers/audit-traffic.js';
import { queryStore } from '../helpers/collector-process.js';
import { freePort } from '../helpers/ports.js';
import { startProcess, waitFor, type StartedProcess } from '../helpers/processes.js';
import { CLI, sha256 } from '../helpers/tunnel-stack.js';

const INGEST = 'tw_collector_reload_ingest_0123456789';
const INGEST_2 = 'tw_collector_reload_ingest_2_0123456789';
const ADMIN_TOKEN = 'tw_collector_reload_admin_0123456789';
const VIEWER_TOKEN = 'tw_collector_reload_viewer_0123456789';
const CHEAP = { N: 1024, r: 8, p: 1 };

type Yaml = {
  collector: { ingest_tokens: { name: string; sha256: string }[] };
  dashboard: { users: { name: string; role: string; password_hash: string }[] };
  exporters: { name: string; url: string }[];
};

const logCount = (p: StartedProcess, prefix: string): number =>
  `${p.stderr()}\n${p.stdout()}`.split('\n').filter((line) => {
    try {
      return (JSON.parse(line) as { msg?: string }).msg?.startsWith(prefix) === true;
    } catch {
      return false;
    }
  }).length;

describe('collector configuration reload', () => {
  let dir: string;
  let file: string;
  let proc: StartedProcess;
  let receiver: Server;
  let ingestUrl: string;
  let dashUrl: string;
  const received: { path: string; body: string }[] = [];
  const hashes: Record<string, string> = {};
  let events: AuditEvent[];

  const edit = async (change: (doc: Yaml) => void): Promise<void> => {
    const doc = parse(await readFile(file, 'utf8')) as Yaml;
    change(doc);
    await writeFile(file, stringify(doc));
  };
  const hup = async (prefix: string): Promise<void> => {
    const before = logCount(proc, prefix);
    process.kill(proc.pid, 'SIGHUP');
    await waitFor(() => (logCount(proc, prefix) > before ? true : undefined), { timeoutMs: 15_000, message: `"${prefix}" in the collector log` });
  };
  const ingest = (batch: readonly AuditEvent[], token = INGEST): Promise<Response> =>
    fetch(`${ingestUrl}/v1/audit`, { method: 'POST', body: batch.map((e) => `${JSON.stringify(e)}\n`).join(''), headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${token}` } });
  const signIn = (username: string): Promise<Response> =>
    fetch(`${dashUrl}/api/v1/session`, { method: 'POST', body: JSON.stringify({ username, password: `${username}-pw` }), headers: { 'content-type': 'application/json' } });
  const delivered = (batch: readonly AuditEvent[], path: string): Promise<true> =>
    waitFor(() => (batch.every((e) => received.some((r) => r.path === path && r.body.includes(e.event_id))) ? true : undefined), { timeoutMs: 20_000, message: `${batch.length} events delivered to ${path}` });
  const reloadApi = (token: string): Promise<Response> => fetch(`${dashUrl}/api/v1/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), 'tw-collector-reload-'));
    file = join(dir, 'collector.yaml');
    await writeFile(join(dir, 'hook.secret'), 'a-webhook-secret-of-some-length');
    for (const name of ['adam', 'vera', 'nina', 'otto']) hashes[name] = await hashPassword(`${name}-pw`, CHEAP);
    const [ingestPort, dashPort] = [await freePort(), await freePort()];
    ingestUrl = `http://127.0.0.1:${ingestPort}`;
    dashUrl = `http://127.0.0.1:${dashPort}`;
    await writeFile(file, stringify({
      collector: { listen: `127.0.0.1:${ingestPort}`, ingest_tokens: [{ name: 'relay', sha256: sha256(INGEST) }] },
      store: { data_dir: './store' },
      dashboard: {
        listen: `127.0.0.1:${dashPort}`,
        users: [{ name: 'adam', role: 'admin', password_hash: hashes.adam }, { name: 'vera', role: 'viewer', password_hash: hashes.vera }],
        api_tokens: [{ name: 'automation', role: 'admin', sha256: sha256(ADMIN_TOKEN) }, { name: 'wallboard', role: 'viewer', sha256: sha256(VIEWER_TOKEN) }],
      },
      detection: { enabled: false },
      export: { settle_ms: 200, poll_interval_ms: 100, cursor_save_interval_ms: 100 },
      exporters: [{ name: 'soar', type: 'webhook', url: `${hook}/a`, secret_file: 'hook.secret', streams: ['audit'], batch_size: 50 }],
      log: { level: 'info' },
    }));
    proc = await startProcess(process.execPath, [CLI, 'collector', '--config', file], { cwd: dir, readyWhen: /"msg":"dashboard listening"/, timeoutMs: 30_000 });
    const now = Date.now();
    events = trafficEvents({ count: 60, from: new Date(now - 10 * 60_000), to: new Date(now - 60_000), seed: 11, emitterId: 'connector-reload' });
  });
  after(async () => {
    await proc?.stop('SIGTERM', 15_000);
    await new Promise((r) => receiver?.close(r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('SIGHUP puts a new user, ingest token and exporter URL in force at once', async () => {
    assert.equal((await ingest(events.slice(0, 20))).status, 200);
    await delivered(events.slice(0, 20), '/a');
    assert.equal((await signIn('nina')).status, 401);
    assert.equal((await ingest(events.slice(20, 21), INGEST_2)).status, 401);
    const pid = proc.pid;
    await edit((doc) => {
      doc.dashboard.users.push({ name: 'nina', role: 'analyst', password_hash: hashes.nina as string });
      doc.collector.ingest_tokens.push({ name: 'relay-2', sha256: sha256(INGEST_2) });
      (doc.exporters[0] as { url: string }).url = (doc.exporters[0] as { url: string }).url.replace(/\/a$/, '/b');
    });
    await hup('configuration reloaded');
    assert.equal((await signIn('nina')).status, 200, 'the new user signs in');
    assert.equal((await signIn('adam')).status, 200, 'the others still do');
    assert.equal((await ingest(events.slice(20, 40), INGEST_2)).status, 200, 'the new ingest token is accepted');
    await delivered(events.slice(20, 40), '/b');
    assert.ok(!received.some((r) => r.path === '/a' && events.slice(20, 40).some((e) => r.body.includes(e.event_id))), 'nothing new goes to the old URL');
    assert.equal(proc.pid, pid);
  });

  test('an invalid file is refused whole: the settings in force stay', async () => {
    // Schema-valid, but a user name twice: found only when the users are built. A valid change beside it.
    await edit((doc) => {
      doc.dashboard.users.push({ name: 'otto', role: 'viewer', password_hash: hashes.otto as string }, { name: 'otto', role: 'admin', password_hash: hashes.otto as string });
      (doc.exporters[0] as { url: string }).url = (doc.exporters[0] as { url: string }).url.replace(/\/b$/, '/c');
    });
    await hup('configuration reload refused');
    assert.equal((await signIn('otto')).status, 401);
    assert.equal((await ingest(events.slice(40, 50))).status, 200);
    await delivered(events.slice(40, 50), '/b');
    assert.ok(!received.some((r) => r.path === '/c'), 'the exporter kept its URL');
    await edit((doc) => {
      doc.dashboard.users = doc.dashboard.users.filter((u) => u.name !== 'otto');
      (doc.exporters[0] as { url: string }).url = (doc.exporters[0] as { url: string }).url.replace(/\/c$/, '/b');
    });
  });

  test('POST /api/v1/admin/reload refuses non-admins, applies for an admin and ends sessions of removed users', async () => {
    const vera = await signIn('vera');
    const cookie = /tw_session=([^;]+)/.exec(vera.headers.get('set-cookie') ?? '')?.[1] ?? '';
    await edit((doc) => {
      doc.dashboard.users = doc.dashboard.users.filter((u) => u.name !== 'vera');
    });
    const viewer = await reloadApi(VIEWER_TOKEN);
    assert.equal(viewer.status, 403);
    assert.equal(((await viewer.json()) as { error: { code: string } }).error.code, 'TW_ERR_DASH_FORBIDDEN');
    assert.equal((await reloadApi('tw_not_a_token')).status, 401);
    assert.equal((await signIn('vera')).status, 200, 'nothing reloaded yet');
    const ok = await reloadApi(ADMIN_TOKEN);
    const body = (await ok.json()) as { applied: boolean; changed: string[]; restart_needed: string[] };
    assert.equal(ok.status, 200, JSON.stringify(body));
    assert.deepEqual([body.applied, body.changed, body.restart_needed], [true, ['dashboard.users'], []]);
    assert.equal((await signIn('vera')).status, 401, 'the removed user cannot sign in');
    assert.equal((await fetch(`${dashUrl}/api/v1/session`, { headers: { cookie: `tw_session=${cookie}` } })).status, 401, 'her session ended');
    const saved = await readFile(file, 'utf8');
    await writeFile(file, 'dashboard: [not: valid');
    const refused = await reloadApi(ADMIN_TOKEN);
    assert.equal(refused.status, 422);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'TW_ERR_DASH_RELOAD_REFUSED');
    await writeFile(file, saved);
    assert.equal((await signIn('nina')).status, 200);
  });

  test('each applied change is a config.change admin event with who, before and after; refusals are config.reload failures', async () => {
    await proc.stop('SIGTERM', 15_000);
    type Row = { action: string; outcome: string; actor: string; actor_role: string; via: string; target: string; reason: string; before: string; after: string };
    const [rows] = await queryStore<Row>(join(dir, 'store'), [
      { sql: "SELECT action, outcome, actor, actor_role, via, target, reason, before, after FROM admin_events FINAL WHERE action IN ('config.change', 'config.reload') AND emitter = 'collector' ORDER BY seq" },
    ]);
    const reloads = (rows ?? []).filter((r) => !r.via.startsWith('file:'));
    assert.deepEqual(reloads.map((r) => [r.action, r.outcome, r.target]), [
      ['config.change', 'success', 'collector.ingest_tokens'],
      ['config.change', 'success', 'dashboard.users'],
      ['config.change', 'success', 'exporters'],
      ['config.reload', 'failure', 'collector.yaml'],
      ['config.change', 'success', 'dashboard.users'],
      ['config.reload', 'failure', 'collector.yaml'],
    ]);
    const [tokens, users, exporters, refusedHup, apiUsers, refusedApi] = reloads as [Row, Row, Row, Row, Row, Row];
    for (const r of [tokens, users, exporters, refusedHup]) {
      assert.match(r.actor, /^SIGHUP to pid \d+ on /);
      assert.equal(r.via, `sighup:file:${file}`);
    }
    assert.match(refusedHup.reason, /otto appears twice/);
    assert.deepEqual([apiUsers.actor, apiUsers.actor_role, apiUsers.via], ['automation', 'admin', `api:file:${file}`]);
    assert.equal(refusedApi.actor, 'automation');
    const before = JSON.parse(users.before) as { name: string; password_hash: string }[];
    const afterUsers = JSON.parse(users.after) as typeof before;
    assert.deepEqual(before.map((u) => u.name), ['adam', 'vera']);
    assert.deepEqual(afterUsers.map((u) => [u.name, u.password_hash]), [['adam', fingerprint(hashes.adam as string)], ['vera', fingerprint(hashes.vera as string)], ['nina', fingerprint(hashes.nina as string)]]);
    assert.deepEqual((JSON.parse(apiUsers.after) as { name: string }[]).map((u) => u.name), ['adam', 'nina']);
    assert.match(exporters.before, /\/a"/);
    assert.match(exporters.after, /\/b"/);
    for (const r of rows ?? []) {
      for (const secret of [...Object.values(hashes), sha256(INGEST), sha256(INGEST_2), sha256(ADMIN_TOKEN), INGEST, INGEST_2, ADMIN_TOKEN]) {
        assert.ok(!`${r.before}${r.after}${r.reason}`.includes(secret), `no secret in ${r.action} ${r.target}`);
      }
    }
  });
});
