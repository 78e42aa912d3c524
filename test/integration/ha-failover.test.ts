// Unplanned failover of a master/shadow pair (docs/ha.md): kill -9 of the master during a bounded load.
// Every call ends with an answer (a success, a 403 the rules decided, or a 5xx with x-tunnel-error), never
// a hang; the backend never sees a path the rules deny; each call has exactly one audit event; and the shadow
// serves within 5 s of the kill. Then the shadow enforces the master's rules, not the stale ones of its file.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../helpers/processes.js';
import { proxyRequest, refusalOf } from '../helpers/proxy-client.js';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ERP, GLOBEX_TOKEN, MASTER, SHADOW, TOKEN, newTraceId, runLoad, settledEvents, startHaPair, type HaPair } from './ha-pair.js';

const TAKEOVER_TARGET_MS = 5_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let pair: HaPair;

describe('HA: unplanned failover (kill -9 of the master)', { timeout: 120_000 }, () => {
  before(async () => {
    pair = await startHaPair();
  });
  after(async () => {
    await pair?.stop();
  });

  test('the shadow pulled the master\'s rules and stands by; the master serves', async () => {
    const shadow = await waitFor(async () => {
      const s = await pair.state(SHADOW);
      return s.ready && s.tunnel === 'registered' ? s : undefined;
    }, { timeoutMs: 10_000, message: 'the shadow ready and registered' });
    const master = await pair.state(MASTER);
    assert.equal(master.role, 'master');
    assert.equal(master.active, true);
    assert.equal(master.routed, true);
    assert.equal(shadow.role, 'shadow');
    assert.equal(shadow.active, false);
    assert.equal(shadow.routed, false);
    assert.equal(shadow.rules_hash, master.rules_hash, 'the shadow enforces the master\'s rules');
    assert.equal(shadow.peer.answered, true);

    const traceId = newTraceId();
    const r = await proxyRequest(pair.stack.proxyPort, `${ERP}/api/hello`, { token: TOKEN, headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    assert.equal(r.status, 200);
    const events = await pair.stack.waitForAudit(MASTER, 1);
    assert.ok(events.some((e) => e.trace_id === traceId), 'the master served the call');
    assert.ok(!(await pair.stack.auditEvents(SHADOW)).some((e) => e.trace_id === traceId), 'the standby shadow got no call');
  });

  test('kill -9 of the master mid-load: the shadow serves within 5 s, every call ends cleanly with one audit event', async () => {
    const load = runLoad(pair.stack.proxyPort, { clients: 8, durationMs: 6_000, denyEvery: 10, timeoutMs: 5_000, paceMs: 5 });
    await sleep(2_000);
    const killedAt = Date.now();
    await pair.stack.connector(MASTER)?.kill9();
    // kill9() returns once the process is gone: a call may have reached the master between killedAt and then.
    const deadAt = Date.now();
    const calls = await load;
    const events = await settledEvents(pair.stack);

    // A call whose answer had started when the master died cannot get a 502 any more: the relay cuts it
    // (the client sees the answer aborted, never a short one that ends cleanly) and writes tunnel_down.
    // Only calls in flight at the kill may be cut; no call may hang.
    const isCut = (c: (typeof calls)[number]): boolean => /aborted|ECONNRESET|socket hang up/i.test(c.clientError);
    const hung = calls.filter((c) => c.clientError && !isCut(c));
    assert.deepEqual(hung.map((c) => `${c.path}: ${c.clientError}`), [], 'every call got an answer in time (no hang)');
    const cut = calls.filter(isCut);
    assert.deepEqual(cut.filter((c) => c.startedMs > deadAt).map((c) => c.path), [], 'only calls in flight at the kill are cut');
    const unclean = calls.filter((c) => !isCut(c) && !(c.status === 200 || (c.status === 403 && c.path.startsWith('/admin/')) || (c.status >= 500 && c.error !== '')));
    assert.deepEqual(unclean.map((c) => `${c.path} ${c.status} ${c.error}`), [], 'each call succeeded, was denied by the rules, or failed with a 5xx and x-tunnel-error');

    const servedBy = (traceId: string): string => events.get(traceId)?.find((e) => e.emitter === 'connector')?.emitter_id ?? '';
    const shadowServed = calls.filter((c) => c.status === 200 && servedBy(c.traceId) === SHADOW).sort((a, b) => a.endedMs - b.endedMs);
    assert.ok(shadowServed.length > 0, 'the shadow served calls after the kill');
    const takeoverMs = (shadowServed[0]?.endedMs ?? Infinity) - killedAt;
    console.log(`# HA takeover after kill -9 of the master: first call served by the shadow ${takeoverMs} ms after the kill (${calls.length} calls, ${calls.filter((c) => c.status >= 500).length} failed cleanly)`);
    assert.ok(takeoverMs <= TAKEOVER_TARGET_MS, `takeover took ${takeoverMs} ms`);
    assert.ok(calls.filter((c) => c.startedMs < killedAt).every((c) => servedBy(c.traceId) !== SHADOW || c.endedMs >= killedAt), 'the standby shadow served nothing before the kill');

    // No call reached a backend the rules do not allow, before or after the takeover.
    const denied = calls.filter((c) => c.path.startsWith('/admin/'));
    assert.ok(denied.length > 0);
    assert.deepEqual(pair.backend.requests.filter((r) => !r.url.startsWith('/api/') && !r.url.startsWith('/master-only')).map((r) => r.url), []);

    // Every call has the audit event of whoever gave the client its answer: the connector for what it
    // decided, the relay for what it refused (no_connector) or could not complete (tunnel_down); exactly
    // one such event. The connector writes a call's event before the stream's last frame, so no caller
    // sees a completed call whose event is missing (not even one answered in the master's last moment).
    // The other side of that order: a call the master answered whose end never reached the relay has the
    // relay's tunnel_down event (what the client got) and the master's event (what it answered): both
    // are true, and the relay's is the one that says what the client saw.
    const problems: string[] = [];
    let answeredButCut = 0;
    for (const c of calls) {
      const list = events.get(c.traceId) ?? [];
      const failed = c.status >= 500 || isCut(c);
      const answering = failed ? list.filter((e) => e.emitter === 'relay') : list;
      const others = list.filter((e) => !answering.includes(e));
      if (answering.length !== 1 || others.length > 1 || others.some((e) => e.emitter_id !== 'conn-a')) {
        problems.push(`${c.path} ${c.status}: ${list.length} events (${list.map((e) => e.emitter_id).join(',')})`);
        continue;
      }
      if (others.length === 1) answeredButCut++;
      const e = answering[0]!;
      if (isCut(c) ? e.error_type !== 'tunnel_down' : e.status !== c.status) problems.push(`${c.path}: the event says ${e.status} ${e.error_type}, the client got ${c.status} ${c.clientError}`);
      if (failed && !(e.error_type === 'tunnel_down' || e.deny_reason === 'no_connector')) problems.push(`${c.path} ${c.status}: event ${e.emitter} ${e.error_type}${e.deny_reason}`);
      if (c.status === 403 && e.deny_reason !== 'path_not_allowed') problems.push(`${c.path}: denied with ${e.deny_reason}`);
    }
    assert.deepEqual(problems, []);
    console.log(`# calls the master answered whose end the kill cut off (relay and master events): ${answeredButCut}, of which the client saw cut: ${cut.length}`);
    const failed = calls.filter((c) => c.status >= 500);
    console.log(`# failed cleanly: ${failed.map((c) => `${c.status} ${c.error}`).join(', ') || 'none'}`);
    // Once the shadow served, nothing fails any more.
    const firstShadow = shadowServed[0]?.endedMs ?? 0;
    assert.deepEqual(calls.filter((c) => c.startedMs > firstShadow && c.status >= 500).map((c) => c.error), []);
  });

  test('after the takeover the shadow is active and enforces the master\'s rules, not the stale ones of its own file', async () => {
    const shadow = await pair.state(SHADOW);
    assert.equal(shadow.active, true);
    assert.equal(shadow.routed, true);
    assert.equal(shadow.peer.answered, false);

    const traceId = newTraceId();
    const allowed = await proxyRequest(pair.stack.proxyPort, `${ERP}/master-only`, { token: TOKEN, headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    assert.equal(allowed.status, 200, 'a path only the master\'s rules allow works through the shadow');
    assert.equal(JSON.parse(allowed.body).url, '/master-only');
    const served = await waitFor(async () => (await pair.stack.auditEvents(SHADOW)).find((e) => e.trace_id === traceId));
    assert.equal(served.rule_id, 'erp.virtual:8000/master-only');

    const stale = await proxyRequest(pair.stack.proxyPort, `${ERP}/old`, { token: TOKEN });
    assert.equal(stale.status, 403, 'the shadow\'s own stale rule was replaced, not merged');
    assert.equal(refusalOf(stale.body)?.deny_reason, 'path_not_allowed');
    assert.ok(!pair.backend.requests.some((r) => r.url === '/old'));
  });

  test('the master restarts with a new subaccount: it stands by (no automatic failback), the active shadow takes the new rules and registers them without failing a call', async () => {
    const file = join(pair.stack.dir, `${MASTER}.yaml`);
    const config = parse(await readFile(file, 'utf8')) as { subaccounts: Record<string, unknown> };
    config.subaccounts.globex = config.subaccounts.acme;
    await writeFile(file, stringify(config));
    const load = runLoad(pair.stack.proxyPort, { clients: 2, durationMs: 4_000, denyEvery: 1_000_000, timeoutMs: 5_000, paceMs: 10 });
    await pair.stack.startConnector(MASTER);
    const master = await pair.state(MASTER);
    assert.equal(master.active, false, 'the peer was active, so the master stands by');
    assert.equal(master.peer.active, true);
    const shadow = await waitFor(async () => {
      const st = await pair.state(SHADOW);
      return st.rules_hash === master.rules_hash && st.tunnel === 'registered' ? st : undefined;
    }, { message: 'the shadow took the master\'s new rules' });
    assert.equal(shadow.active, true);
    // The relay routes by the subaccounts of the hello: the shadow registered again to announce globex.
    const globex = await waitFor(async () => {
      const r = await proxyRequest(pair.stack.proxyPort, `${ERP}/api/globex`, { token: GLOBEX_TOKEN, timeoutMs: 2_000 });
      return r.status === 200 ? r : undefined;
    }, { message: 'globex routed through the shadow' });
    assert.equal(JSON.parse(globex.body).url, '/api/globex');
    const calls = await load;
    assert.deepEqual(calls.filter((c) => c.status !== 200).map((c) => `${c.path} ${c.status} ${c.error}${c.clientError}`), [], 'no call failed while the shadow registered again');
    const traceId = newTraceId();
    assert.equal((await proxyRequest(pair.stack.proxyPort, `${ERP}/api/after-restart`, { token: TOKEN, headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } })).status, 200);
    await waitFor(async () => (await pair.stack.auditEvents(SHADOW)).some((e) => e.trace_id === traceId), { message: 'the shadow served the call' });
  });

  test('a frozen active connector (SIGSTOP: its sockets stay open) is replaced by the standby within 5 s', async () => {
    const frozen = pair.stack.connector(SHADOW);
    assert.ok(frozen);
    assert.equal((await pair.state(SHADOW)).active, true, 'the shadow is the active connector before the freeze');
    const load = runLoad(pair.stack.proxyPort, { clients: 8, durationMs: 6_000, denyEvery: 10, timeoutMs: 5_000, paceMs: 5 });
    // The load's clients wait on their calls held by the frozen connector; a fresh call every 100 ms shows
    // when new calls are served again.
    const probes = runLoad(pair.stack.proxyPort, { clients: 1, durationMs: 6_000, denyEvery: 1_000_000, timeoutMs: 5_000, paceMs: 100, concurrent: true });
    await sleep(1_500);
    const frozenAt = Date.now();
    process.kill(-frozen.pid, 'SIGSTOP');
    let calls;
    try {
      calls = [...(await load), ...(await probes)];
    } finally {
      process.kill(-frozen.pid, 'SIGCONT');
    }
    // The thawed shadow writes the events of the calls it held, which the relay had already failed.
    const events = await settledEvents(pair.stack, 500);
    // A call whose answer had started when the connector froze is cut when the relay gives up the session
    // (the client sees it aborted, as after a kill -9); no call may hang.
    const isCut = (c: (typeof calls)[number]): boolean => /aborted|ECONNRESET|socket hang up/i.test(c.clientError);
    assert.deepEqual(calls.filter((c) => c.clientError && !isCut(c)).map((c) => `${c.path}: ${c.clientError}`), [], 'no call hung');
    assert.deepEqual(calls.filter((c) => !isCut(c) && !(c.status === 200 || (c.status === 403 && c.path.startsWith('/admin/')) || (c.status >= 500 && c.error !== ''))).map((c) => `${c.path} ${c.status}`), []);
    const servedBy = (traceId: string): string => events.get(traceId)?.find((e) => e.emitter === 'connector' && e.status === 200)?.emitter_id ?? '';
    const first = calls.filter((c) => c.status === 200 && c.startedMs >= frozenAt && servedBy(c.traceId) === MASTER).sort((a, b) => a.endedMs - b.endedMs)[0];
    assert.ok(first, 'the master served after the freeze');
    const takeoverMs = first.endedMs - frozenAt;
    console.log(`# HA takeover after SIGSTOP of the active connector: first call served by the standby ${takeoverMs} ms after the freeze (ha.takeover_delay_ms ${1000}, relay ping 1000 ms)`);
    assert.ok(takeoverMs <= TAKEOVER_TARGET_MS, `takeover took ${takeoverMs} ms`);
    // Every call has its events: one of the emitter that answered; a call the relay failed while the frozen
    // connector held it also has that connector's own event, written after the thaw (never two of one emitter).
    const problems: string[] = [];
    for (const c of calls) {
      const list = events.get(c.traceId) ?? [];
      const emitters = list.map((e) => e.emitter_id);
      if (list.length === 0 || new Set(emitters).size !== emitters.length) problems.push(`${c.path} ${c.status}: ${emitters.join(',') || 'no event'}`);
      else if ((c.status >= 500 || isCut(c)) && !list.some((e) => e.emitter === 'relay' && (e.error_type === 'tunnel_down' || e.error_type === 'backend_timeout' || e.deny_reason === 'no_connector'))) problems.push(`${c.path} ${c.status}: no relay event`);
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(pair.backend.requests.filter((r) => r.url.startsWith('/admin')).map((r) => r.url), []);
    // Thawed, the old active connector learns it was superseded and stands by.
    const thawed = await waitFor(async () => {
      const st = await pair.state(SHADOW);
      return st.tunnel === 'registered' && !st.active ? st : undefined;
    }, { timeoutMs: 10_000, message: 'the thawed shadow registered again as standby' });
    assert.equal(thawed.routed, false);
    assert.equal((await pair.state(MASTER)).active, true);
  });
});
