// The HA state machine with several relays (relay.addresses, docs/ha.md "Several relays"): a relay's own
// decision (promotion, supersession) moves the connector and is passed on to the other relays, echoes of its
// claims do not; an activation is confirmed by every relay with a registered tunnel, a relay that is down
// does not hold it up; one tunnel of several dropping changes nothing; the drain waits for every relay; and
// the hand-over on SIGTERM needs a ready, registered peer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../../common/log.js';
import type { HaRole, RoleClaim } from '../../../connector/tunnel/protocol.js';
import { HaNode, type HaPeer, type HaRelay, type HaState } from '../../../connector/ha/ha-node.js';
import { checkRules } from '../../../connector/ha/rules.js';

const log = createLogger({ name: 'test', level: 'silent' });
const RULES = checkRules({ acme: { mappings: [{ virtual: 'erp.virtual:8000', internal: '10.0.0.5:8080', protocol: 'http', resources: [{ path: '/api' }] }] } }, 'test');
assert.ok(RULES.ok);
const R1 = 'relay-0:8443';
const R2 = 'relay-1:8443';

function peerState(over: Partial<HaState> = {}): HaState {
  return {
    connector_id: 'conn-a', role: 'shadow', active: false, routed: false, ready: true, tunnel: 'registered',
    rules_hash: RULES.ok ? RULES.hash : '', inflight: 0, switching: false,
    since: new Date(0).toISOString(), peer: { id: 'conn-b', answered: true, last_answer_at: '', misses: 0, active: true },
    ...over,
  };
}

interface Harness {
  node: HaNode;
  sent: { claim: RoleClaim; except: string | undefined }[];
  relays: HaRelay[];
  peer: { answer: HaState | undefined; calls: string[] };
  inflight: { n: number };
}

/** peer: what the peer answers; null: it does not answer. */
function harness(role: HaRole, peer: HaState | null = peerState()): Harness {
  const sent: Harness['sent'] = [];
  const relays: HaRelay[] = [{ address: R1, tunnel: 'registered' }, { address: R2, tunnel: 'registered' }];
  const p = { answer: peer ?? undefined, calls: [] as string[] };
  const inflight = { n: 0 };
  const ref: { node?: HaNode } = {};
  const fake: HaPeer = {
    async state() {
      p.calls.push('state');
      if (!p.answer) throw new Error('ECONNREFUSED');
      return p.answer;
    },
    async activate() {
      p.calls.push('activate');
      // Each relay hands the routes to the peer (planned): this side hears it from both.
      ref.node?.onRouting({ type: 'routing', routed: false, reason: 'superseded', by: 'conn-a', planned: true }, R1);
      ref.node?.onRouting({ type: 'routing', routed: false, reason: 'superseded', by: 'conn-a', planned: true }, R2);
      return { routed: true };
    },
    async drain() {
      return { drained: true, inflight: 0 };
    },
  };
  const rules = RULES.ok ? { rules: RULES.rules, hash: RULES.hash } : { rules: {}, hash: '' };
  const node = new HaNode({
    connectorId: 'conn-b', peerId: 'conn-a', role, takeoverDelayMs: 3_000, drainTimeoutMs: 400, ackTimeoutMs: 300,
    peer: fake,
    rules: () => rules,
    applyRules: () => undefined,
    ready: true,
    sendClaim: (claim, except) => sent.push({ claim, except }),
    tunnelState: () => (relays.some((r) => r.tunnel === 'registered') ? 'registered' : 'waiting'),
    relays: () => relays,
    inflight: () => inflight.n,
    now: () => Date.now(),
    log,
  });
  ref.node = node;
  return { node, sent, relays, peer: p, inflight };
}

test('a promotion by one relay makes the connector active and is claimed on the other relays only', async () => {
  const h = harness('shadow', peerState({ role: 'master', active: true }));
  await h.node.start();
  h.sent.length = 0;
  h.node.onRouting({ type: 'routing', routed: true, reason: 'promoted' }, R2);
  assert.equal(h.node.active, true);
  assert.equal(h.sent.length, 1);
  assert.equal(h.sent[0]?.claim.active, true);
  assert.equal(h.sent[0]?.except, R2, 'the relay that promoted it needs no claim');
  assert.equal(h.node.routed, false, 'not yet confirmed by relay-0');
  h.node.onRouting({ type: 'routing', routed: true, reason: 'claim' }, R1);
  assert.equal(h.node.routed, true);
  assert.deepEqual(h.node.state(null, false).relays, [{ address: R1, tunnel: 'registered', routed: true }, { address: R2, tunnel: 'registered', routed: true }]);
});

test('superseded on one relay: standby, and the other relays are told (they route to the peer)', async () => {
  const h = harness('master');
  await h.node.start();
  assert.equal(h.node.active, true);
  h.node.onRouting({ type: 'routing', routed: true, reason: 'registered' }, R1);
  h.node.onRouting({ type: 'routing', routed: true, reason: 'registered' }, R2);
  h.sent.length = 0;
  h.node.onRouting({ type: 'routing', routed: false, reason: 'superseded', by: 'conn-a', planned: false }, R1);
  assert.equal(h.node.active, false);
  assert.deepEqual(h.sent.map((s) => [s.claim.active, s.except]), [[false, R1]]);
});

test('echoes of older claims (registered, claim, released) do not move a connector with several relays', async () => {
  const h = harness('master');
  await h.node.start();
  h.sent.length = 0;
  // A new registration with relay-1 reports what the hello said before the claim line is read.
  h.node.onRouting({ type: 'routing', routed: false, reason: 'registered' }, R2);
  assert.equal(h.node.active, true);
  assert.equal(h.sent.length, 0);
  h.node.onRouting({ type: 'routing', routed: true, reason: 'claim' }, R2);
  h.node.onRouting({ type: 'routing', routed: true, reason: 'registered' }, R1);
  assert.equal(h.node.routed, true);
});

test('an activation is confirmed by every registered relay; a relay that is down does not hold it up', async () => {
  const h = harness('shadow', peerState({ role: 'master', active: true }));
  await h.node.start();
  h.relays[1]!.tunnel = 'waiting';
  h.node.onTunnelDown(R2);
  const pending = h.node.activate(true);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(h.sent.at(-1)?.claim, { type: 'claim', role: 'shadow', active: true, ready: true, planned: true, reason: 'switch-over' });
  assert.equal(h.sent.at(-1)?.except, undefined, 'the claim goes on every role channel');
  h.node.onRouting({ type: 'routing', routed: true, reason: 'claim' }, R1);
  assert.equal(await pending, true);

  // Both registered: relay-0 alone is not enough.
  const both = harness('shadow', peerState({ role: 'master', active: true }));
  await both.node.start();
  const waiting = both.node.activate(true);
  both.node.onRouting({ type: 'routing', routed: true, reason: 'claim' }, R1);
  assert.equal(await waiting, false, 'relay-1 never confirmed: no confirmation within the ACK timeout');
});

test('one tunnel of several drops: still active; all of them drop: the old rule (standby when the peer is ready)', async () => {
  const h = harness('master');
  await h.node.start();
  await h.node.tick();
  h.relays[0]!.tunnel = 'waiting';
  h.node.onTunnelDown(R1);
  assert.equal(h.node.active, true, 'relay-0 down changes nothing: relay-1 still routes here');
  h.relays[1]!.tunnel = 'waiting';
  h.node.onTunnelDown(R2);
  assert.equal(h.node.active, false, 'no tunnel left while the peer is ready: the relays promote the peer');
});

test('the drain waits until no relay routes here any more', async () => {
  const h = harness('master');
  await h.node.start();
  h.node.onRouting({ type: 'routing', routed: true, reason: 'registered' }, R1);
  h.node.onRouting({ type: 'routing', routed: true, reason: 'registered' }, R2);
  const drain = h.node.drain();
  h.node.onRouting({ type: 'routing', routed: false, reason: 'superseded', by: 'conn-a', planned: true }, R1);
  setTimeout(() => h.node.onRouting({ type: 'routing', routed: false, reason: 'released' }, R2), 50);
  const started = Date.now();
  assert.deepEqual(await drain, { drained: true, inflight: 0 });
  assert.ok(Date.now() - started < 300);
});

test('SIGTERM hand-over: to a ready, registered peer as a switch-over; otherwise refused with the reason', async () => {
  const h = harness('master');
  await h.node.start();
  h.node.onRouting({ type: 'routing', routed: true, reason: 'registered' }, R1);
  h.node.onRouting({ type: 'routing', routed: true, reason: 'registered' }, R2);
  const r = await h.node.handOver();
  assert.equal(r.to, 'conn-a');
  assert.equal(r.drained, true);
  assert.deepEqual(h.peer.calls, ['state', 'state', 'state', 'activate']);
  assert.equal(h.node.active, false);

  for (const [peer, reason] of [
    [null, /^the peer conn-a does not answer \(ECONNREFUSED\)$/],
    [peerState({ ready: false }), /^the peer conn-a is not ready/],
    [peerState({ tunnel: 'waiting' }), /^the peer conn-a has no registered tunnel \(waiting\)$/],
  ] as const) {
    const x = harness('master', peer);
    await x.node.start();
    const out = await x.node.handOver();
    assert.equal(out.to, undefined);
    assert.match(out.reason, reason);
    assert.equal(x.node.active, true, 'nothing changed');
  }
  const standby = harness('shadow', peerState({ role: 'master', active: true }));
  await standby.node.start();
  assert.deepEqual(await standby.node.handOver(), { reason: 'this connector is standby', drained: true, inflight: 0, ms: 0 });
});
