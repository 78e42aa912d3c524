// SIGTERM on the active connector of a master/shadow pair (docs/ha.md, "Stopping the active connector"):
// under a bounded load, with slow calls in flight on the master, the master hands the routes to the ready
// shadow (as switch-roles does), finishes its calls, and exits: zero failed calls, one audit event per call.
// Then SIGTERM on the active shadow with its peer gone: no handover, but its call in flight still finishes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../helpers/processes.js';
import { proxyRequest, refusalOf } from '../helpers/proxy-client.js';
import { ERP, HA_TIMINGS, MASTER, SHADOW, TOKEN, newTraceId, runLoad, settledEvents, startHaPair, type CallRecord, type HaPair } from './ha-pair.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const SLOW_MS = 2_500;

let pair: HaPair;

/** A call that takes ms at the backend, started now. */
async function slowCall(name: string, ms = SLOW_MS): Promise<CallRecord> {
  const traceId = newTraceId();
  const path = `/api/slow/${name}?delay_ms=${ms}`;
  const startedMs = Date.now();
  try {
    const r = await proxyRequest(pair.stack.proxyPort, `${ERP}${path}`, { token: TOKEN, timeoutMs: 15_000, headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    return { traceId, path, startedMs, endedMs: Date.now(), status: r.status, error: String(r.headers['x-tunnel-error'] ?? ''), clientError: '' };
  } catch (err) {
    return { traceId, path, startedMs, endedMs: Date.now(), status: 0, error: '', clientError: (err as Error).message };
  }
}

describe('HA: SIGTERM on the active connector hands over', { timeout: 120_000 }, () => {
  before(async () => {
    pair = await startHaPair();
    await waitFor(async () => {
      const s = await pair.state(SHADOW);
      return s.ready && s.tunnel === 'registered' && s.peer.answered;
    }, { timeoutMs: 10_000, message: 'the shadow ready and registered' });
    assert.equal((await pair.state(MASTER)).active, true);
  });
  after(async () => {
    await pair?.stop();
  });

  test('under load, with slow calls in flight: the master hands the routes to the shadow, finishes its calls and exits; zero failed calls', async () => {
    const master = pair.stack.connector(MASTER);
    assert.ok(master);
    const load = runLoad(pair.stack.proxyPort, { clients: 8, durationMs: 6_000, denyEvery: 10, timeoutMs: 8_000, paceMs: 5 });
    await sleep(1_500);
    const slow = [slowCall('a'), slowCall('b'), slowCall('c')];
    // All three at the backend, so through the master (the only active connector yet), before the SIGTERM.
    // The master's in-flight count alone also counts the load's calls: it could reach 3 while a slow call
    // was still on its way, which then went to the shadow.
    const atBackend = (name: string): boolean => pair.backend.requests.some((r) => r.url.startsWith(`/api/slow/${name}?`));
    await waitFor(async () => ['a', 'b', 'c'].every(atBackend), { message: 'the slow calls at the backend through the master' });
    const termAt = Date.now();
    await master.stop('SIGTERM', 20_000);
    const exit = await master.exited;
    const stoppedAt = Date.now();
    const calls = [...(await load), ...(await Promise.all(slow))];
    console.log(`# SIGTERM of the active master: exited ${stoppedAt - termAt} ms later (code ${exit.code}, ${calls.length} calls)`);
    assert.equal(exit.code, 0, 'a clean stop');
    assert.match(`${master.stdout()}${master.stderr()}`, /stopping: the peer serves now, and the calls in flight here finished/);

    assert.deepEqual(calls.filter((c) => c.clientError).map((c) => `${c.path}: ${c.clientError}`), [], 'no call hung or was cut');
    const failed = calls.filter((c) => !(c.status === 200 || (c.status === 403 && c.path.startsWith('/admin/'))));
    assert.deepEqual(failed.map((c) => `${c.path} ${c.status} ${c.error}`), [], 'zero failed calls');
    assert.deepEqual(pair.backend.requests.filter((r) => r.url.startsWith('/admin')).map((r) => r.url), [], 'no denied path reached the backend');

    const events = await settledEvents(pair.stack);
    const servedBy = (traceId: string): string[] => (events.get(traceId) ?? []).map((e) => e.emitter_id);
    // Exactly one audit event per call, from the connector that decided it: nothing was cut, so the relay refused nothing.
    assert.deepEqual(calls.filter((c) => servedBy(c.traceId).length !== 1 || servedBy(c.traceId)[0] === 'relay-1').map((c) => `${c.path}: ${servedBy(c.traceId).join(',') || 'no event'}`), []);
    // The slow calls were in flight on the master when it got SIGTERM, and it finished them before exiting.
    for (const c of calls.filter((x) => x.path.startsWith('/api/slow/'))) {
      assert.deepEqual(servedBy(c.traceId), [MASTER]);
      assert.ok(c.endedMs > termAt, 'still running at the SIGTERM');
      assert.ok(c.endedMs <= stoppedAt, 'the master exited only after finishing them');
    }
    // The shadow took the routes before the master's drain ended: calls started after the SIGTERM and
    // answered before the exit went to it, and so did everything after the exit.
    const later = calls.filter((c) => c.startedMs > stoppedAt && c.status === 200);
    assert.ok(later.length > 0);
    assert.deepEqual([...new Set(later.flatMap((c) => servedBy(c.traceId)))], [SHADOW]);
    const shadow = await pair.state(SHADOW);
    assert.equal(shadow.active, true);
    assert.equal(shadow.routed, true);
  });

  test('SIGTERM on the active shadow with its peer gone: no handover (logged, with why), and its call in flight still finishes', async () => {
    const shadow = pair.stack.connector(SHADOW);
    assert.ok(shadow);
    const slow = slowCall('alone', 1_500);
    await waitFor(async () => (await pair.state(SHADOW)).inflight >= 1, { message: 'the slow call in flight on the shadow' });
    const termAt = Date.now();
    await shadow.stop('SIGTERM', HA_TIMINGS.drain_timeout_ms + 10_000);
    const stoppedMs = Date.now() - termAt;
    const c = await slow;
    assert.equal(c.status, 200, `${c.status} ${c.error} ${c.clientError}`);
    assert.ok(c.endedMs <= termAt + stoppedMs + 50, 'answered before the connector exited');
    assert.ok(stoppedMs < HA_TIMINGS.drain_timeout_ms, `stopped in ${stoppedMs} ms, as soon as its call was done`);
    const log = `${shadow.stdout()}${shadow.stderr()}`;
    assert.match(log, /stopping while active without a handover/);
    assert.match(log, /the peer conn-a does not answer/);
    const events = await settledEvents(pair.stack);
    assert.deepEqual((events.get(c.traceId) ?? []).map((e) => e.emitter_id), [SHADOW]);
    // Nobody serves now: a clean refusal from the relay.
    const r = await proxyRequest(pair.stack.proxyPort, `${ERP}/api/after`, { token: TOKEN });
    assert.equal(r.status, 503);
    assert.equal(refusalOf(r.body)?.deny_reason, 'no_connector');
  });
});
