// Store outage: the collector on a ClickHouse server while a real relay and connector carry calls and
// ship their audit events. The server is the stand-in of test/helpers/clickhouse-standin.ts (our HTTP
// wire, the real ClickHouse engine of chDB) in a process of its own, so it can be frozen (SIGSTOP for
// ~10 s, as a hung server) or killed and restarted on the same port and data directory ~10 s later.
// While it is down the collector refuses with 503 + Retry-After (TW_ERR_INGEST_STORE_UNAVAILABLE) and
// the events wait in the emitters' spools; afterwards the store holds every call exactly once.
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@clickhouse/client';
import { loadCursor } from '../../common/audit/shipper-state.js';
import { startClickHouseStandIn, type ClickHouseStandIn } from '../helpers/clickhouse-standin.js';
import { startCollectorProcess, type CollectorProcess } from '../helpers/collector-process.js';
import { startNginx, type Nginx } from '../helpers/nginx.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN = 'tw_test_outage_token_0123456789';
/** Calls before, during and after the outage; every 10th is refused by the relay (a relay event). */
const PHASE_CALLS = Number(process.env.TW_OUTAGE_PHASE_CALLS ?? 2000);
/** TW_OUTAGE_MS past the client's 30 s request timeout shows what a long hang does (not run by default). */
const OUTAGE_MS = Number(process.env.TW_OUTAGE_MS ?? 10_000);
/** An outage lasts until the collector has been seen refusing, but never longer than this. */
const MAX_OUTAGE_MS = OUTAGE_MS + 15_000;
const CONCURRENCY = 32;
const DB = 'tunnelwatch';
const CH_USER = 'tw_ingest';
const CH_PASSWORD = "outage: s3cret'\\";

let nginx: Nginx;

async function load(port: number, total: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let sent = 0;
  let answered = 0;
  const one = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, agent, method: 'GET', path: 'http://erp.virtual:8000/api/orders/1', headers: { host: 'erp.virtual:8000', 'proxy-authorization': `Bearer ${i % 10 === 9 ? 'tw_wrong' : TOKEN}` } });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => {
          answered++;
          resolve();
        });
      });
      req.on('error', () => resolve());
      req.end();
    });
  const worker = async (): Promise<void> => {
    while (sent < total) await one(sent++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  return answered;
}

async function stackFor(collector: CollectorProcess): Promise<TunnelStack> {
  const tokenFile = join(collector.dir, 'ingest.token');
  await writeFile(tokenFile, collector.token);
  const audit = (id: string) => ({ audit: { dir: `audit/${id}`, collector: { url: collector.url, token_file: tokenFile, request_timeout_ms: 2000 } } });
  return startTunnelStack({
    tokens: [{ subaccount: 'acme', cloudApp: 'portal', token: TOKEN }],
    relayExtra: audit('relay-1'),
    connectors: [{
      id: 'connector-1',
      subaccounts: { acme: { mappings: [{ virtual: 'erp.virtual:8000', internal: `127.0.0.1:${nginx.port}`, protocol: 'http', resources: [{ path: '/api/orders' }] }] } },
      extra: audit('connector-1'),
    }],
  });
}

/** Events an emitter wrote that the collector has not acknowledged yet: what its spool holds. */
async function unshipped(stack: TunnelStack, id: string): Promise<number> {
  const events = await stack.auditEvents(id);
  const cursor = loadCursor(stack.auditDir(id), id);
  return (events.at(-1)?.seq ?? 0) - (cursor.ok ? cursor.position.seq : 0);
}

/** An empty audit batch: refused before its body is read while the store is down; stores nothing when it is up. */
async function probe(collector: CollectorProcess): Promise<string> {
  try {
    const res = await fetch(`${collector.url}/v1/audit`, { method: 'POST', headers: { authorization: `Bearer ${collector.token}`, 'content-type': 'application/x-ndjson' }, body: '', signal: AbortSignal.timeout(5000) });
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
    return `${res.status} retry-after=${res.headers.get('retry-after')} ${body.error?.code ?? ''}`.trim();
  } catch (err) {
    return `no answer: ${(err as Error).message}`;
  }
}

async function storeUp(collector: CollectorProcess): Promise<boolean | undefined> {
  const res = await fetch(`${collector.url}/healthz`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
  return res ? ((await res.json()) as { ingest: { store_up: boolean } }).ingest.store_up : undefined;
}

const REFUSED = '503 retry-after=1 TW_ERR_INGEST_STORE_UNAVAILABLE';

/** Samples the collector every 500 ms until the outage has lasted OUTAGE_MS and the collector has refused 3 times (or MAX_OUTAGE_MS). */
async function duringOutage(collector: CollectorProcess, since: number): Promise<{ probes: string[]; storeDownSeen: boolean }> {
  const probes: string[] = [];
  let storeDownSeen = false;
  for (;;) {
    const elapsed = Date.now() - since;
    const refused = probes.filter((p) => p === REFUSED).length;
    if ((elapsed >= OUTAGE_MS && refused >= 3) || elapsed >= MAX_OUTAGE_MS) return { probes, storeDownSeen };
    probes.push(await probe(collector));
    if ((await storeUp(collector)) === false) storeDownSeen = true;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function storedCounts(standin: ClickHouseStandIn): Promise<Record<string, number>> {
  const [final] = await standin.query<{ n: string; d: string }>('SELECT count() AS n, count(DISTINCT event_id) AS d FROM audit_events FINAL', {}, DB);
  const [plain] = await standin.query<{ n: string }>('SELECT count() AS n FROM audit_events', {}, DB);
  const [rollup] = await standin.query<{ n: string }>('SELECT sum(calls) AS n FROM audit_minute', {}, DB);
  return { final: Number(final?.n), finalDistinct: Number(final?.d), plainRows: Number(plain?.n), rollupCalls: Number(rollup?.n) };
}

async function outageRun(kind: 'freeze' | 'kill'): Promise<void> {
  const standin = await startClickHouseStandIn({ username: CH_USER, password: CH_PASSWORD });
  const collector = await startCollectorProcess({
    server: { url: standin.url, username: CH_USER, password: CH_PASSWORD, database: DB },
    queue: { store_retry_after_s: 1 },
  });
  const stack = await stackFor(collector);
  try {
    let answered = await load(stack.proxyPort, PHASE_CALLS);
    const since = Date.now();
    if (kind === 'freeze') standin.freeze();
    else await standin.kill9();
    // Calls go on while the store is down: the emitters keep their events in the spools.
    answered += await load(stack.proxyPort, PHASE_CALLS);
    const seen = await duringOutage(collector, since);
    const spooled = { relay: await unshipped(stack, 'relay-1'), connector: await unshipped(stack, 'connector-1') };
    if (kind === 'freeze') standin.thaw();
    else await standin.restart();
    answered += await load(stack.proxyPort, PHASE_CALLS);
    const calls = 3 * PHASE_CALLS;
    const why = JSON.stringify({ kind, outage_ms: Date.now() - since, ...seen, spooled });
    assert.equal(answered, calls, 'every call was answered');
    assert.ok(seen.probes.filter((p) => p === REFUSED).length >= 3, `the collector answered 503 + Retry-After while the store was down: ${why}`);
    assert.ok(seen.storeDownSeen, `/healthz showed store_up false during the outage: ${why}`);
    // Nothing of what was called during the outage can have been acknowledged by then.
    assert.ok(spooled.connector >= PHASE_CALLS * 0.9 && spooled.relay >= PHASE_CALLS * 0.1, `the spools held the outage's events: ${why}`);
    const shipped = (await stack.waitForShipped('connector-1', 60_000)) + (await stack.waitForShipped('relay-1', 60_000));
    assert.equal(shipped, calls, 'one audit event per call at the emitters');
    assert.deepEqual(await storedCounts(standin), { final: calls, finalDistinct: calls, plainRows: calls, rollupCalls: calls }, `stored once each: ${why}`);
  } finally {
    await stack.stop().catch(() => {});
    await collector.stop().catch(() => {});
    await standin.stop().catch(() => {});
  }
}

describe('store outage on a ClickHouse server (stand-in)', () => {
  before(async () => {
    nginx = await startNginx();
  });
  after(async () => {
    await nginx?.stop();
  });

  test('the stand-in answers @clickhouse/client as a server: parameters, settings, database, formats, errors, auth, gzip', async () => {
    const standin = await startClickHouseStandIn({ username: CH_USER, password: CH_PASSWORD });
    const root = standin.client();
    try {
      await root.command({ query: 'CREATE DATABASE IF NOT EXISTS {db:Identifier}', query_params: { db: 'conf' } });
      const db = createClient({ url: standin.url, username: CH_USER, password: CH_PASSWORD, database: 'conf', compression: { request: true, response: true } });
      try {
        await db.command({ query: 'CREATE TABLE t (id String, n UInt64) ENGINE = ReplacingMergeTree ORDER BY id' });
        await db.insert({ table: 't', values: [{ id: "a'b\\c\td", n: '18446744073709551615' }, { id: 'x', n: 1 }], format: 'JSONEachRow' });
        const ex = await db.exec({ query: 'INSERT INTO t (id, n) FORMAT JSONCompactColumns', values: Readable.from(['[["x","y"],[2,3]]']) });
        for await (const chunk of ex.stream) void chunk;
        const rs = await db.query({
          query: 'SELECT id, n, currentDatabase() AS db FROM t FINAL WHERE id IN {ids:Array(String)} OR n = {n:UInt64} ORDER BY id',
          query_params: { ids: ["a'b\\c\td", 'x'], n: 3 },
          format: 'JSONEachRow',
          clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
        });
        assert.equal(rs.response_headers['content-encoding'], 'gzip');
        // FINAL keeps the later of the two rows of x; 64-bit integers come quoted as the setting asks.
        assert.deepEqual(await rs.json(), [
          { id: "a'b\\c\td", n: '18446744073709551615', db: 'conf' },
          { id: 'x', n: '2', db: 'conf' },
          { id: 'y', n: '3', db: 'conf' },
        ]);
        const [nullable] = await (await db.query({ query: 'SELECT {v:Nullable(String)} IS NULL AS isnull', query_params: { v: null }, format: 'JSONEachRow' })).json<{ isnull: number }>();
        assert.equal(nullable?.isnull, 1);
        await assert.rejects(db.query({ query: 'SELECT * FROM missing' }), { code: '60', type: 'UNKNOWN_TABLE' });
        await assert.rejects(db.command({ query: 'SELEC 1' }), { code: '62', type: 'SYNTAX_ERROR' });
        await assert.rejects(db.query({ query: 'SELECT 1', session_id: 's' }), { code: '48', type: 'NOT_IMPLEMENTED' });
      } finally {
        await db.close();
      }
      const stranger = createClient({ url: standin.url, username: CH_USER, password: 'wrong' });
      await assert.rejects(stranger.query({ query: 'SELECT 1' }), { code: '516', type: 'AUTHENTICATION_FAILED' });
      assert.equal((await stranger.ping({ select: true })).success, false);
      assert.equal((await stranger.ping()).success, true, '/ping needs no credentials, as on a server');
      await stranger.close();
      const res = await fetch(`${standin.url}/?query=${encodeURIComponent('SELECT 1')}`, { headers: { authorization: `Basic ${Buffer.from(`${CH_USER}:wrong`).toString('base64')}` } });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('x-clickhouse-exception-code'), '516');
      assert.match(await res.text(), /^Code: 516\. DB::Exception: .*\(AUTHENTICATION_FAILED\) \(version \d+\./);
    } finally {
      await root.close();
      await standin.stop();
    }
  });

  test('store frozen (SIGSTOP) for ~10 s during the load: 503 while frozen, then every call stored exactly once', async () => {
    await outageRun('freeze');
  });

  test('store killed -9 and restarted 10 s later on the same port and data directory: every call stored exactly once', async () => {
    await outageRun('kill');
  });
});
