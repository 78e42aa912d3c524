// Several active relays (docs/ha.md, "Several relays"): one connector with relay.addresses keeps a tunnel to
// each of two real relays at once; cloud apps call either relay. Each relay routes its own calls to its own
// session and audits (and counts) only what it handled; one relay stopped does not disturb calls through the
// other, and once it is back the connector registers with it again. Then a master/shadow pair on the same two
// relays: kill -9 of the master, and the shadow serves through both.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import type { AuditEvent } from '../../common/audit/event.js';
import { haCertFiles, issueHaFiles } from '../../connector/ha/ha-pki.js';
import { initPki } from '../../connector/pki/pki.js';
import { freePort } from '../helpers/ports.js';
import { run, startProcess, waitFor, type StartedProcess } from '../helpers/processes.js';
import { proxyRequest } from '../helpers/proxy-client.js';
import { CLI, sha256 } from '../helpers/tunnel-stack.js';

const TOKEN = 'tw_test_acme_multi_relay_0123456789abcdef';
const ERP = 'http://erp.virtual:8000';
const RELAYS = ['relay-1', 'relay-2'] as const;
const CONNECTORS = ['conn-m', 'conn-a', 'conn-b'];

interface RelaySpec { id: string; proxyPort: number; tunnelPort: number; adminPort: number; process?: StartedProcess }
interface Health { tunnel: string; relays: { address: string; tunnel: string }[]; ha?: { active: boolean } }

let dir: string;
let backend: http.Server;
let backendPort: number;
const seen: string[] = [];
const relays = new Map<string, RelaySpec>();
const connectors = new Map<string, StartedProcess>();
const opsPorts = new Map<string, number>();

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const traceparent = (traceId: string) => `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
const relay = (id: string): RelaySpec => relays.get(id) as RelaySpec;
const addressOf = (id: string): string => `127.0.0.1:${relay(id).tunnelPort}`;

async function startRelay(id: string): Promise<void> {
  const r = relay(id);
  r.process = await startProcess(process.execPath, [CLI, 'relay', '--config', join(dir, `${id}.yaml`)], { cwd: dir, readyWhen: /"msg":"relay listening"/, timeoutMs: 15_000 });
}

async function writeConnector(id: string, extra: Record<string, unknown> = {}): Promise<void> {
  opsPorts.set(id, await freePort());
  await writeFile(join(dir, `${id}.yaml`), stringify({
    connector: { id },
    relay: {
      addresses: RELAYS.map(addressOf),
      server_name: 'localhost',
      tls: { cert: `pki/${id}.crt`, key: `pki/${id}.key`, ca: 'pki/ca.crt' },
      ping_interval_ms: 1000,
      reconnect: { initial_delay_ms: 100, max_delay_ms: 500, jitter: 0.3 },
    },
    ops: { listen: `127.0.0.1:${opsPorts.get(id)}` },
    subaccounts: { acme: { mappings: [{ virtual: 'erp.virtual:8000', internal: `127.0.0.1:${backendPort}`, protocol: 'http', resources: [{ path: '/api', methods: ['GET'] }] }] } },
    audit: { dir: `audit/${id}` },
    diagnostics: { interval_ms: 0 },
    log: { level: 'info' },
    ...extra,
  }));
}

async function health(id: string): Promise<Health> {
  return (await (await fetch(`http://127.0.0.1:${opsPorts.get(id)}/healthz`)).json()) as Health;
}

/** Every relay's tunnel of this connector registered (optionally: and HA active or standby as asked). */
async function startConnector(id: string): Promise<void> {
  connectors.set(id, await startProcess(process.execPath, [CLI, 'connector', '--config', join(dir, `${id}.yaml`)], {
    cwd: dir,
    timeoutMs: 15_000,
    readyWhen: async () => (await health(id).catch(() => undefined))?.relays.every((r) => r.tunnel === 'registered') === true,
  }));
}

async function auditEvents(emitterId: string): Promise<AuditEvent[]> {
  const d = join(dir, 'audit', emitterId);
  const names = (await readdir(d).catch(() => [] as string[])).filter((n) => /^audit-.+-\d+\.ndjson$/.test(n)).sort();
  const events: AuditEvent[] = [];
  for (const n of names) for (const line of (await readFile(join(d, n), 'utf8')).split('\n')) if (line) events.push(JSON.parse(line) as AuditEvent);
  return events;
}

async function relayMetric(id: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${relay(id).adminPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

interface Call { relay: string; traceId: string; path: string; status: number; error: string; startedMs: number; endedMs: number }

async function call(relayId: string, path: string, token = TOKEN): Promise<Call> {
  const traceId = randomBytes(16).toString('hex');
  const startedMs = Date.now();
  try {
    const r = await proxyRequest(relay(relayId).proxyPort, `${ERP}${path}`, { token, timeoutMs: 5_000, headers: { traceparent: traceparent(traceId) } });
    return { relay: relayId, traceId, path, status: r.status, error: String(r.headers['x-tunnel-error'] ?? ''), startedMs, endedMs: Date.now() };
  } catch (err) {
    return { relay: relayId, traceId, path, status: 0, error: (err as Error).message, startedMs, endedMs: Date.now() };
  }
}

/** Calls through the given relays, one loop per relay, for durationMs. */
async function load(relayIds: readonly string[], durationMs: number, tag: string): Promise<Call[]> {
  const calls: Call[] = [];
  const until = Date.now() + durationMs;
  await Promise.all(relayIds.map(async (r) => {
    for (let n = 0; Date.now() < until; n++) {
      calls.push(await call(r, `/api/${tag}/${r}-${n}`));
      await sleep(10);
    }
  }));
  return calls;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tw-multi-relay-'));
  backend = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    res.end(JSON.stringify({ url: req.url }));
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  backendPort = (backend.address() as { port: number }).port;
  await initPki(join(dir, 'pki'), { connectors: CONNECTORS });
  for (const id of RELAYS) {
    const spec: RelaySpec = { id, proxyPort: await freePort(), tunnelPort: await freePort(), adminPort: await freePort() };
    relays.set(id, spec);
    // The same tokens and connectors on both; each relay its own id, audit chain and ports.
    await writeFile(join(dir, `${id}.yaml`), stringify({
      relay: { id },
      proxy: { listen: `127.0.0.1:${spec.proxyPort}` },
      tunnel: { listen: `127.0.0.1:${spec.tunnelPort}`, tls: { cert: 'pki/relay.crt', key: 'pki/relay.key', ca: 'pki/ca.crt' }, ping_interval_ms: 1000, connectors: CONNECTORS.map((cn) => ({ cn, subaccounts: ['acme'] })) },
      tokens: [{ subaccount: 'acme', cloud_app: 'portal', sha256: sha256(TOKEN) }],
      admin: { listen: `127.0.0.1:${spec.adminPort}`, tokens: [{ name: 'ops', sha256: sha256('tw_admin_multi_relay_0123456789abcdef') }] },
      audit: { dir: `audit/${id}` },
      log: { level: 'info' },
    }));
    await startRelay(id);
  }
});

after(async () => {
  await Promise.all([...connectors.values()].map((p) => p.stop()));
  await Promise.all([...relays.values()].map((r) => r.process?.stop()));
  await new Promise((r) => backend?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('one connector, two active relays', { timeout: 90_000 }, () => {
  before(async () => {
    await writeConnector('conn-m');
    await startConnector('conn-m');
  });
  after(async () => {
    await connectors.get('conn-m')?.stop();
    connectors.delete('conn-m');
  });

  test('calls through each relay succeed; each relay routes, counts and audits only its own calls', async () => {
    const h = await health('conn-m');
    assert.equal(h.tunnel, 'registered');
    assert.deepEqual(h.relays.map((r) => [r.address, r.tunnel]), RELAYS.map((id) => [addressOf(id), 'registered']));
    const ready = await fetch(`http://127.0.0.1:${opsPorts.get('conn-m')}/readyz`);
    assert.equal(ready.status, 200);
    const calls: Call[] = [];
    for (const id of RELAYS) for (let i = 0; i < 5; i++) calls.push(await call(id, `/api/both/${id}-${i}`));
    const denied = await call('relay-2', '/admin/secret');
    const unauthenticated = await call('relay-2', '/api/no-token', 'tw_wrong_token_0123456789abcdef');
    assert.deepEqual(calls.map((c) => c.status), calls.map(() => 200));
    assert.equal(denied.status, 403, 'the connector\'s rules apply to calls from every relay');
    assert.equal(unauthenticated.status, 407);

    // The connector decided (and audited) every call, whichever relay carried it: one event each.
    const events = await waitFor(async () => {
      const list = await auditEvents('conn-m');
      return list.length >= calls.length + 1 ? list : undefined;
    }, { message: 'the connector\'s audit events' });
    for (const c of [...calls, denied]) assert.equal(events.filter((e) => e.trace_id === c.traceId).length, 1, c.path);
    assert.deepEqual(seen.filter((u) => u.startsWith('/admin')), [], 'the denied path never reached the backend');
    // Each relay handled exactly its own calls, and audited what it refused itself.
    assert.equal(await relayMetric('relay-1', 'tunnelwatch_calls_total'), 5, 'relay-1 counted its own five calls');
    assert.equal(await relayMetric('relay-2', 'tunnelwatch_calls_total'), 7, 'relay-2 counted its own seven calls (five, the denied one, the unauthenticated one)');
    const relay2 = await waitFor(async () => (await auditEvents('relay-2')).find((e) => e.path === '/api/no-token'), { message: 'relay-2 audited the refusal' });
    assert.equal(relay2.status, 407);
    assert.ok(!(await auditEvents('relay-1')).some((e) => e.path === '/api/no-token'), 'relay-1 saw nothing of it');
    const metrics = await (await fetch(`http://127.0.0.1:${opsPorts.get('conn-m')}/metrics`)).text();
    for (const id of RELAYS) assert.match(metrics, new RegExp(`tunnelwatch_tunnel_relay_state\\{relay="${addressOf(id)}",state="registered"\\} 1`));
    assert.match(metrics, /tunnelwatch_tunnel_sessions\{state="registered"\} 2/);
  });

  test('relay-2 stops under load: calls through relay-1 never fail; the connector stays ready and names relay-2', async () => {
    const running = load(['relay-1'], 3_000, 'outage');
    await sleep(700);
    await relay('relay-2').process?.stop();
    const calls = await running;
    assert.ok(calls.length > 20, `${calls.length} calls`);
    assert.deepEqual(calls.filter((c) => c.status !== 200).map((c) => `${c.path} ${c.status} ${c.error}`), [], 'no call through relay-1 failed');
    const h = await waitFor(async () => {
      const v = await health('conn-m');
      return v.relays.find((r) => r.address === addressOf('relay-2'))?.tunnel !== 'registered' ? v : undefined;
    }, { message: 'the connector sees relay-2 down' });
    assert.equal(h.tunnel, 'registered', 'still registered with relay-1');
    const ready = await fetch(`http://127.0.0.1:${opsPorts.get('conn-m')}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { relays_not_registered?: string[] };
    assert.equal(body.relays_not_registered?.length, 1);
    assert.match(body.relays_not_registered?.[0] ?? '', new RegExp(`^${addressOf('relay-2')} \\((waiting|connecting)`));
    // `tunnelwatch doctor` checks every relay: one report each; the one that is down fails the run.
    const doctor = await run(process.execPath, [CLI, 'doctor', '--config', join(dir, 'conn-m.yaml'), '--json', '--timeout-ms', '2000'], { timeoutMs: 30_000 });
    assert.equal(doctor.code, 1, doctor.stderr);
    const report = JSON.parse(doctor.stdout) as { state: string; reports: { relay_address: string; state: string; steps: { step: string; outcome: string }[] }[] };
    assert.equal(report.state, 'down');
    assert.deepEqual(report.reports.map((r) => r.relay_address), RELAYS.map(addressOf));
    const outcome = (i: number, step: string) => report.reports[i]?.steps.find((x) => x.step === step)?.outcome;
    assert.deepEqual([outcome(0, 'tls'), outcome(0, 'hello'), report.reports[0]?.state === 'down'], ['ok', 'ok', false]);
    assert.deepEqual([outcome(1, 'tcp'), report.reports[1]?.state], ['fail', 'down']);
  });

  test('relay-2 starts again: the connector registers with it, and calls through it succeed', async () => {
    await startRelay('relay-2');
    await waitFor(async () => (await health('conn-m')).relays.every((r) => r.tunnel === 'registered'), { timeoutMs: 10_000, message: 'registered with relay-2 again' });
    const calls = await load(RELAYS, 1_000, 'back');
    assert.ok(calls.some((c) => c.relay === 'relay-2'));
    assert.deepEqual(calls.filter((c) => c.status !== 200).map((c) => `${c.relay} ${c.path} ${c.status} ${c.error}`), []);
    const events = await waitFor(async () => {
      const list = await auditEvents('conn-m');
      return calls.every((c) => list.some((e) => e.trace_id === c.traceId)) ? list : undefined;
    }, { message: 'an event for each call' });
    assert.ok(events.length > 0);
  });
});

describe('a master/shadow pair on two active relays', { timeout: 90_000 }, () => {
  before(async () => {
    await issueHaFiles(join(dir, 'pki'), 'conn-a');
    await issueHaFiles(join(dir, 'pki'), 'conn-b');
    const haPorts: Record<string, number> = { 'conn-a': await freePort(), 'conn-b': await freePort() };
    for (const [id, peer, role] of [['conn-a', 'conn-b', 'master'], ['conn-b', 'conn-a', 'shadow']] as const) {
      await writeConnector(id, {
        ha: {
          role, listen: `127.0.0.1:${haPorts[id]}`, peer: `127.0.0.1:${haPorts[peer]}`, peer_id: peer,
          tls: { cert: `pki/${haCertFiles(id).cert}`, key: `pki/${haCertFiles(id).key}`, ca: 'pki/ca.crt' },
          check_interval_ms: 250, takeover_delay_ms: 1000, drain_timeout_ms: 5000,
        },
      });
    }
    await startConnector('conn-a');
    await startConnector('conn-b');
    await waitFor(async () => (await health('conn-a')).ha?.active === true && (await health('conn-b')).ha?.active === false, { message: 'the master active, the shadow standby' });
  });

  test('kill -9 of the master under load through both relays: the shadow serves through both', async () => {
    const running = load(RELAYS, 4_000, 'failover');
    await sleep(1_500);
    const killedAt = Date.now();
    await connectors.get('conn-a')?.kill9();
    const calls = await running;
    const shadow = new Set((await waitFor(async () => {
      const list = await auditEvents('conn-b');
      return list.length > 0 ? list : undefined;
    })).map((e) => e.trace_id));
    // Every call ends with an answer; what fails, fails cleanly (5xx with x-tunnel-error) and only around the kill.
    assert.deepEqual(calls.filter((c) => !(c.status === 200 || (c.status >= 500 && c.error !== ''))).map((c) => `${c.relay} ${c.path} ${c.status} ${c.error}`), []);
    for (const id of RELAYS) {
      const served = calls.filter((c) => c.relay === id && c.status === 200 && shadow.has(c.traceId)).sort((a, b) => a.endedMs - b.endedMs);
      assert.ok(served.length > 0, `the shadow served calls through ${id}`);
      console.log(`# ${id}: first call served by the shadow ${(served[0]?.endedMs ?? 0) - killedAt} ms after the kill`);
      assert.ok((served[0]?.endedMs ?? Infinity) - killedAt <= 5_000);
      assert.deepEqual(calls.filter((c) => c.relay === id && c.startedMs > (served[0]?.endedMs ?? 0) && c.status !== 200).map((c) => c.path), [], `nothing fails through ${id} once the shadow serves`);
    }
    const h = await health('conn-b');
    assert.equal(h.ha?.active, true);
  });
});
