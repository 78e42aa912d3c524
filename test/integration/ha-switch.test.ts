// Planned switch-over of a master/shadow pair (docs/ha.md): `tunnelwatch connector switch-roles` during a
// bounded load, with slow calls in flight on the master. No call fails: the shadow is made active at the
// relay first, and the master finishes the calls it holds before the command reports it standby.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run, waitFor } from '../helpers/processes.js';
import { proxyRequest } from '../helpers/proxy-client.js';
import { CLI } from '../helpers/tunnel-stack.js';
import { ERP, MASTER, SHADOW, TOKEN, newTraceId, runLoad, settledEvents, startHaPair, type CallRecord, type HaPair } from './ha-pair.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const SLOW_MS = 6_000;

let pair: HaPair;

async function switchRoles(configOf: string): Promise<{ from: string; to: string; drained: boolean; inflight_left: number; ms: number }> {
  const r = await run(process.execPath, [CLI, 'connector', 'switch-roles', '--config', join(pair.stack.dir, `${configOf}.yaml`), '--json'], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `switch-roles failed: ${r.stdout} ${r.stderr}`);
  return JSON.parse(r.stdout) as { from: string; to: string; drained: boolean; inflight_left: number; ms: number };
}

/** Calls that take SLOW_MS at the backend, started now: in flight on whichever connector is active. */
function slowCalls(n: number): Promise<CallRecord>[] {
  return Array.from({ length: n }, async (_, i) => {
    const traceId = newTraceId();
    const path = `/api/slow/${i}?delay_ms=${SLOW_MS}`;
    const startedMs = Date.now();
    const r = await proxyRequest(pair.stack.proxyPort, `${ERP}${path}`, { token: TOKEN, timeoutMs: 15_000, headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    return { traceId, path, startedMs, endedMs: Date.now(), status: r.status, error: String(r.headers['x-tunnel-error'] ?? ''), clientError: '' };
  });
}

describe('HA: planned switch-over (tunnelwatch connector switch-roles)', { timeout: 120_000 }, () => {
  before(async () => {
    pair = await startHaPair();
    await waitFor(async () => {
      const s = await pair.state(SHADOW);
      return s.ready && s.tunnel === 'registered';
    }, { timeoutMs: 10_000, message: 'the shadow ready and registered' });
  });
  after(async () => {
    await pair?.stop();
  });

  test('under load, with slow calls in flight on the master: zero failed calls, then the former shadow serves', async () => {
    const load = runLoad(pair.stack.proxyPort, { clients: 8, durationMs: 10_000, denyEvery: 10, timeoutMs: 8_000, paceMs: 5 });
    await sleep(1_500);
    const slow = slowCalls(4);
    // At the backend, not just "4 calls in flight": the load's own calls are in flight too, and the switch
    // must start while the slow ones run (it raced them before: 1 failure in 2-3 runs on a busy machine).
    await waitFor(() => [0, 1, 2, 3].every((i) => pair.backend.requests.some((r) => r.url.startsWith(`/api/slow/${i}?`))), { message: 'the slow calls in flight on the master' });
    const result = await switchRoles(MASTER);
    const switchedDone = Date.now();
    const calls = [...(await load), ...(await Promise.all(slow))];
    console.log(`# switch-roles: ${result.from} -> ${result.to} in ${result.ms} ms (drained ${result.drained}, ${calls.length} calls)`);
    assert.equal(result.from, MASTER);
    assert.equal(result.to, SHADOW);
    assert.equal(result.drained, true);
    assert.equal(result.inflight_left, 0);

    assert.deepEqual(calls.filter((c) => c.clientError).map((c) => `${c.path}: ${c.clientError}`), [], 'no call hung or was cut');
    const failed = calls.filter((c) => !(c.status === 200 || (c.status === 403 && c.path.startsWith('/admin/'))));
    assert.deepEqual(failed.map((c) => `${c.path} ${c.status} ${c.error}`), [], 'zero failed calls');

    const events = await settledEvents(pair.stack);
    const servedBy = (traceId: string): string[] => (events.get(traceId) ?? []).map((e) => e.emitter_id);
    // Exactly one event per call, from the connector that decided it (no kill here, nothing is lost).
    assert.deepEqual(calls.filter((c) => servedBy(c.traceId).length !== 1 || servedBy(c.traceId)[0] === 'relay-1').map((c) => `${c.path}: ${servedBy(c.traceId).join(',')}`), []);
    // The slow calls were in flight on the master during the switch, and it finished them: the command
    // returned only after they were done.
    const slowDone = calls.filter((c) => c.path.startsWith('/api/slow/'));
    assert.equal(slowDone.length, 4);
    for (const c of slowDone) {
      assert.deepEqual(servedBy(c.traceId), [MASTER]);
      assert.ok(c.endedMs <= switchedDone + 50, 'the drain waited for the slow calls');
    }
    // ...and they were still running when the switch-over began, so it had to wait for them.
    assert.ok(Math.max(...slowDone.map((c) => c.endedMs)) > switchedDone - result.ms, `the drain waited (${result.ms} ms)`);
    // Calls that started after the command returned all went to the former shadow.
    const later = calls.filter((c) => c.startedMs > switchedDone && c.status === 200);
    assert.ok(later.length > 0);
    assert.deepEqual([...new Set(later.flatMap((c) => servedBy(c.traceId)))], [SHADOW]);
    assert.deepEqual(pair.backend.requests.filter((r) => r.url.startsWith('/admin')).map((r) => r.url), [], 'no denied path reached the backend');

    const [master, shadow] = [await pair.state(MASTER), await pair.state(SHADOW)];
    assert.equal(shadow.active, true);
    assert.equal(shadow.routed, true);
    assert.equal(master.active, false, 'the old master is standby');
    assert.equal(master.routed, false);
    assert.equal(master.inflight, 0);
  });

  test('switch-roles run on the active shadow\'s host hands the routes back to the master', async () => {
    const result = await switchRoles(SHADOW);
    assert.equal(result.from, SHADOW);
    assert.equal(result.to, MASTER);
    const traceId = newTraceId();
    const r = await proxyRequest(pair.stack.proxyPort, `${ERP}/api/back`, { token: TOKEN, headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    assert.equal(r.status, 200);
    await waitFor(async () => (await pair.stack.auditEvents(MASTER)).some((e) => e.trace_id === traceId), { message: 'the master served the call' });
    assert.equal((await pair.state(SHADOW)).active, false);
    // What an operator sees: `connector ha-status`.
    const status = await run(process.execPath, [CLI, 'connector', 'ha-status', '--config', join(pair.stack.dir, `${SHADOW}.yaml`)], { timeoutMs: 15_000 });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^conn-b \(shadow\): standby since /m);
    assert.match(status.stdout, /tunnel registered, ready, rules sha256:[0-9a-f]{64}, 0 call\(s\) in flight/);
    assert.match(status.stdout, /peer conn-a: answering, active/);
  });

  test('a switch-over needs both connectors: with the peer stopped it is refused and nothing changes', async () => {
    await pair.stack.connector(SHADOW)?.stop();
    const r = await run(process.execPath, [CLI, 'connector', 'switch-roles', '--config', join(pair.stack.dir, `${MASTER}.yaml`)], { timeoutMs: 30_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TW_ERR_HA_PEER_UNREACHABLE/);
    assert.equal((await pair.state(MASTER)).active, true);
    assert.equal((await proxyRequest(pair.stack.proxyPort, `${ERP}/api/still`, { token: TOKEN })).status, 200);
  });
});
