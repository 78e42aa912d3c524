// A real connector reports the rules it enforces to a real collector (POST /v1/rules), which stores them
// as one snapshot and one row per rule, each rule row carrying the rule_id that the connector's audit
// events name. Also: bad bodies get 400 with the reason, no token 401, the same rules twice are one
// snapshot, and a collector that is down when the connector starts gets the snapshot once it is up.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { flattenRules, rulesHash, type RuleSet } from '../../collector/store/rule-snapshots.js';
import { describePolicy, compilePolicy } from '../../connector/acl/policy.js';
import type { ConnectorConfig } from '../../connector/agent/config-schema.js';
import { createRuleReporter } from '../../connector/agent/rule-report.js';
import { createLogger } from '../../common/log.js';
import { queryStore, startCollectorProcess, type CollectorProcess } from '../helpers/collector-process.js';
import { freePort } from '../helpers/ports.js';
import { waitFor, type StartedProcess } from '../helpers/processes.js';
import { proxyConnect, proxyRequest } from '../helpers/proxy-client.js';
import { waitRoutable } from '../helpers/routable.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN = 'tw_test_rules_token_0123456789';
const ACCEPTED = 'rule snapshot accepted by the collector';

/** Every key spelled out (no defaults), so compilePolicy() here sees exactly what the connector loads. */
function subaccounts(httpPort: number, tcpPort: number): Record<string, unknown> {
  return {
    acme: {
      trusted_apps: ['portal'],
      mappings: [
        {
          virtual: 'erp.virtual:8000', internal: `127.0.0.1:${httpPort}`, protocol: 'http', host_header: 'virtual',
          resources: [
            { id: 'acme-orders', path: '/api/orders', match: 'prefix', methods: ['GET', 'POST'], active: true, websocket: false },
            { path: '/api/health', match: 'exact', methods: ['GET', 'HEAD'], active: true, websocket: false },
            { id: 'acme-admin', path: '/api/admin', match: 'prefix', methods: [], active: false, websocket: false },
          ],
        },
        { id: 'acme-db', virtual: 'db.virtual:5432', internal: `127.0.0.1:${tcpPort}`, protocol: 'tcp', host_header: 'virtual', resources: [] },
        { virtual: 'empty.virtual:80', internal: '127.0.0.1:9', protocol: 'http', host_header: 'virtual', resources: [] },
      ],
    },
    globex: {
      trusted_apps: [],
      mappings: [{
        virtual: 'shop.virtual:443', internal: '127.0.0.1:9', protocol: 'https', host_header: 'internal',
        resources: [{ id: 'globex-ws', path: '/ws/', match: 'prefix', methods: ['GET'], active: true, websocket: true }],
      }],
    },
  };
}

function rulesOf(config: Record<string, unknown>): RuleSet {
  return describePolicy(compilePolicy(config as ConnectorConfig['subaccounts'])) as RuleSet;
}

interface LogLine {
  msg: string;
  snapshot_hash?: string;
  known?: boolean;
  rules?: number;
}

function logLines(p: StartedProcess | undefined, msg: string): LogLine[] {
  // pino writes to stderr.
  return `${p?.stdout() ?? ''}\n${p?.stderr() ?? ''}`.split('\n').flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as LogLine;
      return parsed.msg === msg ? [parsed] : [];
    } catch {
      return [];
    }
  });
}

const waitLog = (p: () => StartedProcess | undefined, msg: string, timeoutMs = 20_000) =>
  waitFor(() => logLines(p(), msg)[0], { timeoutMs, intervalMs: 100, message: `"${msg}" in the connector log` });

function validBody(connectorId: string, rules: RuleSet): Record<string, unknown> {
  return { schema: 'tunnelwatch.rules/1', connector_id: connectorId, location_id: '', taken_at: new Date().toISOString(), snapshot_hash: rulesHash(rules), rules };
}

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; json: { error?: { code: string; reason: string }; known?: boolean; rules?: number } }> {
  const r = await fetch(`${url}/v1/rules`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as never };
}

describe('rule snapshots from a running connector', () => {
  let collector: CollectorProcess;
  let stack: TunnelStack;
  let backend: http.Server;
  let tcpBackend: net.Server;
  let config: Record<string, unknown>;

  before(async () => {
    backend = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    tcpBackend = net.createServer((socket) => socket.end('db\n'));
    await new Promise<void>((r) => tcpBackend.listen(0, '127.0.0.1', r));
    config = subaccounts((backend.address() as AddressInfo).port, (tcpBackend.address() as AddressInfo).port);
    collector = await startCollectorProcess();
    const tokenFile = join(collector.dir, 'ingest.token');
    await writeFile(tokenFile, collector.token);
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'portal', token: TOKEN }],
      connectors: [{
        id: 'connector-1',
        locationId: 'dc-1',
        subaccounts: config,
        extra: { audit: { dir: 'audit/connector-1', collector: { url: collector.url, token_file: tokenFile, flush_interval_ms: 50 } } },
      }],
    });
  });
  after(async () => {
    await stack?.stop();
    await collector?.stop();
    await new Promise((r) => backend?.close(r));
    await new Promise((r) => tcpBackend?.close(r));
  });

  test('the connector reports its rules at start, hashed over their canonical JSON', async () => {
    const line = await waitLog(() => stack.connector('connector-1'), ACCEPTED);
    assert.equal(line.snapshot_hash, rulesHash(rulesOf(config)));
    assert.equal(line.known, false, 'the first report is a new snapshot');
    assert.equal(line.rules, flattenRules('connector-1', '', rulesOf(config)).length);
  });

  test('bad bodies get 400 with the reason, nothing stored; no or a wrong token gets 401', async () => {
    const auth = { authorization: `Bearer ${collector.token}` };
    const rules = rulesOf(config);
    const good = validBody('connector-x', rules);
    assert.equal((await post(collector.url, good, {})).status, 401);
    const wrong = await post(collector.url, good, { authorization: 'Bearer not-a-token' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.error?.code, 'TW_ERR_INGEST_UNAUTHENTICATED');

    const bad: [string, unknown, RegExp][] = [
      ['not JSON', '{"schema":', /not JSON/],
      ['another schema', { ...good, schema: 'tunnelwatch.rules/2' }, /schema: must be "tunnelwatch.rules\/1"/],
      ['a missing field', { ...good, taken_at: undefined }, /missing field "taken_at"/],
      ['an unknown field', { ...good, extra: 1 }, /unknown field "extra"/],
      ['a hash that is not the rules\' hash', { ...good, snapshot_hash: 'a'.repeat(64) }, /snapshot_hash: .* is not the SHA-256/],
      ['a connector id with a space', { ...good, connector_id: 'a b' }, /connector_id/],
      ['a bad protocol', withRules(rules, (r) => { (r.subaccounts[0]!.mappings[0] as { protocol: string }).protocol = 'ftp'; }), /rules\.subaccounts\[0\]\.mappings\[0\]\.protocol/],
      ['a rule id used twice', withRules(rules, (r) => { const m = r.subaccounts[0]!.mappings[0]!; (m.resources[1] as { id: string }).id = m.resources[0]!.id; }), /rule id acme-orders is used twice in subaccount acme/],
      ['resources on a tcp mapping', withRules(rules, (r) => { const [http0, tcp] = r.subaccounts[0]!.mappings; tcp!.resources.push(http0!.resources[0]!); }), /tcp mapping carries no HTTP resources/],
    ];
    for (const [what, body, reason] of bad) {
      const r = await post(collector.url, body, auth);
      assert.equal(r.status, 400, what);
      assert.equal(r.json.error?.code, 'TW_ERR_INGEST_MALFORMED', what);
      assert.match(r.json.error?.reason ?? '', reason, what);
    }
    const text = await fetch(`${collector.url}/v1/rules`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: JSON.stringify(good) });
    assert.equal(text.status, 415);

    // The same snapshot twice is one snapshot: the second answer says it was known.
    const first = await post(collector.url, good, auth);
    assert.deepEqual([first.status, first.json.known], [200, false]);
    const again = await post(collector.url, { ...good, taken_at: new Date(Date.now() + 1000).toISOString() }, auth);
    assert.deepEqual([again.status, again.json.known], [200, true]);
  });

  test('calls the connector allows name the rule ids of its snapshot', async () => {
    // The connector serves location dc-1, which cloud apps name in a header.
    const headers = { 'x-tunnel-location-id': 'dc-1' };
    assert.equal(await waitRoutable(stack.proxyPort, 'http://erp.virtual:8000/api/health', TOKEN, { headers }), 200);
    assert.equal((await proxyRequest(stack.proxyPort, 'http://erp.virtual:8000/api/orders/7', { token: TOKEN, headers })).status, 200);
    const c = await proxyConnect(stack.proxyPort, 'db.virtual:5432', { token: TOKEN, headers });
    assert.equal(c.status, 200);
    await new Promise((r) => c.socket.once('close', r).resume());
    await stack.waitForShipped('connector-1');
  });

  test('a restarted connector with the same rules adds no second snapshot', async () => {
    const p = stack.connector('connector-1');
    await p?.stop();
    await stack.startConnector('connector-1');
    const line = await waitLog(() => stack.connector('connector-1'), ACCEPTED);
    assert.equal(line.known, true);
  });

  test('the store holds one snapshot and one row per rule, joinable to the audit events', async () => {
    await stack.stop();
    await collector.stop();
    const rules = rulesOf(config);
    const hash = rulesHash(rules);
    const [snapshots, rows, allowed] = await queryStore<Record<string, unknown>>(collector.dataDir, [
      { sql: 'SELECT connector_id, location_id, snapshot_hash, rule_count, rules, taken_at, received_at FROM rule_snapshots FINAL ORDER BY connector_id' },
      { sql: 'SELECT * FROM rule_snapshot_rules FINAL WHERE connector_id = {c:String} ORDER BY position', params: { c: 'connector-1' } },
      { sql: "SELECT DISTINCT subaccount, rule_id FROM audit_events FINAL WHERE emitter_id = 'connector-1' AND decision = 'allow' ORDER BY rule_id" },
    ]);
    assert.deepEqual(snapshots?.map((s) => [s.connector_id, s.snapshot_hash]), [['connector-1', hash], ['connector-x', hash]]);
    const mine = snapshots?.[0] as Record<string, unknown>;
    assert.equal(mine.location_id, 'dc-1');
    assert.deepEqual(JSON.parse(String(mine.rules)), rules);
    // Three resources and the tcp mapping of acme, one resource of globex (the empty mapping is not a rule).
    assert.equal(Number(mine.rule_count), 5);

    const expected = flattenRules('connector-1', hash, rules);
    assert.deepEqual(rows?.map((r) => ({ ...r, position: Number(r.position) })), expected.map((r) => ({ ...r })));
    assert.deepEqual(expected.map((r) => [r.subaccount, r.rule_id, r.kind]), [
      ['acme', 'acme-orders', 'resource'],
      ['acme', 'erp.virtual:8000/api/health', 'resource'],
      ['acme', 'acme-admin', 'resource'],
      ['acme', 'acme-db', 'tcp_mapping'],
      ['acme', '', 'empty_mapping'],
      ['globex', 'globex-ws', 'resource'],
    ]);
    assert.deepEqual(allowed, [
      { subaccount: 'acme', rule_id: 'acme-db' },
      { subaccount: 'acme', rule_id: 'acme-orders' },
      { subaccount: 'acme', rule_id: 'erp.virtual:8000/api/health' },
    ]);
  });
});

function withRules(rules: RuleSet, change: (r: RuleSet) => void): Record<string, unknown> {
  const copy = structuredClone(rules);
  change(copy);
  // A consistent hash, so the body fails for the change and not for the hash.
  return validBody('connector-x', copy);
}

describe('a collector that is down when the connector starts', () => {
  let stack: TunnelStack | undefined;
  let collector: CollectorProcess | undefined;
  let dir: string;

  after(async () => {
    await stack?.stop();
    await collector?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('gets the snapshot once it is up', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tw-rules-late-'));
    const port = await freePort();
    // The collector's token is known only once it runs; the reporter reads the file before every attempt.
    const tokenFile = join(dir, 'ingest.token');
    await writeFile(tokenFile, 'tw_placeholder_token_0123456789');
    const config = { acme: { trusted_apps: [], mappings: [{ id: 'late-db', virtual: 'late.virtual:5432', internal: '127.0.0.1:9', protocol: 'tcp', host_header: 'virtual', resources: [] }] } };
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'portal', token: TOKEN }],
      connectors: [{ id: 'connector-2', subaccounts: config, extra: { audit: { dir: 'audit/connector-2', collector: { url: `http://127.0.0.1:${port}`, token_file: tokenFile } } } }],
    });
    const connector = () => stack?.connector('connector-2');
    await waitLog(connector, 'rule snapshot not delivered; retrying with backoff');
    assert.equal(logLines(connector(), ACCEPTED).length, 0);

    collector = await startCollectorProcess({ dir, port });
    await writeFile(tokenFile, collector.token);
    const line = await waitLog(connector, ACCEPTED, 60_000);
    assert.equal(line.snapshot_hash, rulesHash(rulesOf(config)));
    await stack.stop();
    stack = undefined;
    await collector.stop();
    const [rows] = await queryStore<Record<string, unknown>>(collector.dataDir, [
      { sql: 'SELECT s.connector_id AS connector_id, r.rule_id AS rule_id, r.kind AS kind FROM rule_snapshots AS s FINAL INNER JOIN rule_snapshot_rules AS r FINAL ON r.connector_id = s.connector_id AND r.snapshot_hash = s.snapshot_hash' },
    ]);
    collector = undefined;
    assert.deepEqual(rows, [{ connector_id: 'connector-2', rule_id: 'late-db', kind: 'tcp_mapping' }]);
  });
});

describe('the rule reporter against a collector stand-in', () => {
  const tcp = (id: string) => ({ acme: { trusted_apps: [], mappings: [{ id, virtual: `${id}.virtual:5432`, internal: '127.0.0.1:9', protocol: 'tcp', host_header: 'virtual', resources: [] }] } });
  let server: http.Server;
  let url: string;
  let dir: string;
  /** Each request's snapshot hash, and the status it was answered with. */
  let seen: { hash: string; status: number }[];
  let answer: (n: number) => number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tw-rules-reporter-'));
    await writeFile(join(dir, 'token'), 'tw_reporter_token_0123456789');
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const status = answer(seen.length);
        seen.push({ hash: (JSON.parse(body) as { snapshot_hash: string }).snapshot_hash, status });
        res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{"rules":1,"known":false}' : '{"error":{"reason":"no"}}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const reporter = () => createRuleReporter({
    url, tokenFile: join(dir, 'token'), connectorId: 'c1', locationId: '', requestTimeoutMs: 2000, refreshMs: 0,
    log: createLogger({ name: 'test', level: 'silent' }), backoff: { initialDelayMs: 20, maxDelayMs: 40, jitter: 0 },
  });

  test('retries until accepted, and a newer policy replaces the one being retried', async () => {
    seen = [];
    answer = (n) => (n < 3 ? 503 : 200);
    const r = reporter();
    r.report(compilePolicy(tcp('first') as ConnectorConfig['subaccounts']));
    await waitFor(() => seen.length >= 2, { timeoutMs: 5000, message: 'two failed attempts' });
    r.report(compilePolicy(tcp('second') as ConnectorConfig['subaccounts']));
    const second = rulesHash(rulesOf(tcp('second')));
    await waitFor(() => r.acceptedHash, { timeoutMs: 5000, message: 'an accepted snapshot' });
    assert.equal(r.acceptedHash, second);
    assert.equal(seen.at(-1)?.hash, second);
    assert.equal(seen.filter((x) => x.status === 200).length, 1);
    // Once accepted (and with no refresh) nothing more is sent.
    const sent = seen.length;
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(seen.length, sent);
    r.close();
  });

  test('a body the collector refuses (400) is not sent again', async () => {
    seen = [];
    answer = () => 400;
    const r = reporter();
    r.report(compilePolicy(tcp('refused') as ConnectorConfig['subaccounts']));
    await waitFor(() => seen.length >= 1, { timeoutMs: 5000, message: 'one attempt' });
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(seen.length, 1);
    assert.equal(r.acceptedHash, undefined);
    r.close();
  });
});
