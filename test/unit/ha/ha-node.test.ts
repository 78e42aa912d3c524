// The HA state machine of one connector (connector/ha/ha-node.ts), driven tick by tick with a fake clock
// and a fake peer: when a standby takes over (not before takeover_delay_ms of silence), how a shadow pulls,
// applies and refuses rules, how a master starts, and the switch-over's order (claim first, then drain).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../../common/log.js';
import type { HaRole, RoleClaim } from '../../../connector/tunnel/protocol.js';
import { HaNode, type HaPeer, type HaState } from '../../../connector/ha/ha-node.js';
import { checkRules, rulesHash, type Rules } from '../../../connector/ha/rules.js';

const log = createLogger({ name: 'test', level: 'silent' });
const TAKEOVER_MS = 3_000;
const CHECK_MS = 1_000;

const MASTER_RULES = checkRules({ acme: { mappings: [{ virtual: 'erp.virtual:8000', internal: '10.0.0.5:8080', protocol: 'http', resources: [{ path: '/api' }] }] } }, 'test');
assert.ok(MASTER_RULES.ok);

function peerState(over: Partial<HaState> = {}): HaState {
  return {
    connector_id: 'conn-a', role: 'master', active: true, routed: true, ready: true, tunnel: 'registered',
    rules_hash: MASTER_RULES.ok ? MASTER_RULES.hash : '', rules: MASTER_RULES.ok ? MASTER_RULES.rules : {}, inflight: 0, switching: false,
    since: new Date(0).toISOString(), peer: { id: 'conn-b', answered: true, last_answer_at: '', misses: 0, active: false },
    ...over,
  };
}

interface Harness {
  node: HaNode;
  claims: RoleClaim[];
  clock: { now: number };
  peer: { answer: HaState | undefined; calls: string[] };
  rules: { rules: Rules; hash: string };
  tunnel: { state: string };
  inflight: { n: number };
}

function harness(role: HaRole, options: { ready?: boolean; rules?: Rules; peer?: HaState | undefined } = {}): Harness {
  const clock = { now: 1_000_000 };
  const claims: RoleClaim[] = [];
  const own = options.rules ?? {};
  const rules = { rules: own, hash: rulesHash(own) };
  const peer = { answer: options.peer, calls: [] as string[] };
  const tunnel = { state: 'registered' };
  const inflight = { n: 0 };
  const ref: { node?: HaNode } = {};
  const fakePeer: HaPeer = {
    async state(have) {
      peer.calls.push(`state ${have}`);
      if (!peer.answer) throw new Error('ECONNREFUSED');
      return { ...peer.answer, ...(have === peer.answer.rules_hash || have === '-' ? { rules: undefined } : {}) };
    },
    async activate() {
      peer.calls.push('activate');
      // The relay moves the route: this node hears it is superseded, the peer that it is routed.
      ref.node?.onRouting({ type: 'routing', routed: false, reason: 'superseded', by: 'conn-a', planned: true });
      return { routed: true };
    },
    async drain() {
      peer.calls.push('drain');
      return { drained: true, inflight: 0 };
    },
  };
  const node = new HaNode({
    connectorId: 'conn-b', peerId: 'conn-a', role, takeoverDelayMs: TAKEOVER_MS, drainTimeoutMs: 500, ackTimeoutMs: 300,
    peer: fakePeer,
    rules: () => rules,
    applyRules: (raw, masterHash) => {
      const c = checkRules(raw, 'pulled');
      if (!c.ok) return c.reason;
      rules.rules = c.rules;
      rules.hash = masterHash;
      return undefined;
    },
    ready: options.ready ?? role === 'master',
    sendClaim: (c) => claims.push(c),
    tunnelState: () => tunnel.state,
    inflight: () => inflight.n,
    now: () => clock.now,
    log,
  });
  ref.node = node;
  return { node, claims, clock, peer, rules, tunnel, inflight };
}

async function tickAfter(h: Harness, ms: number): Promise<void> {
  h.clock.now += ms;
  await h.node.tick();
}

test('a shadow pulls the master\'s rules at start, is ready, stands by, and asks with its hash afterwards', async () => {
  const h = harness('shadow', { peer: peerState() });
  await h.node.start();
  assert.equal(h.node.active, false);
  assert.equal(h.node.ready, true);
  assert.deepEqual(Object.keys(h.rules.rules), ['acme']);
  assert.deepEqual(h.claims.map((c) => [c.active, c.ready]), [[false, true], [false, true]]);
  await tickAfter(h, CHECK_MS);
  assert.equal(h.peer.calls.at(-1), `state ${h.rules.hash}`, 'the next check says what it has, so unchanged rules are not sent again');
});

test('a standby takes over only after takeover_delay_ms without a healthy answer, counting the missed checks', async () => {
  const h = harness('shadow', { peer: peerState() });
  await h.node.start();
  h.peer.answer = undefined; // the master dies
  await tickAfter(h, CHECK_MS);
  await tickAfter(h, CHECK_MS);
  assert.equal(h.node.misses, 2);
  assert.equal(h.node.active, false, 'after 2000 ms of silence: still standby');
  await tickAfter(h, CHECK_MS - 1);
  assert.equal(h.node.active, false, 'after 2999 ms: still standby');
  await tickAfter(h, 1);
  assert.equal(h.node.active, true, 'after 3000 ms: takes over');
  assert.equal(h.node.misses, 4);
  const claim = h.claims.at(-1);
  assert.equal(claim?.active, true);
  assert.equal(claim?.planned, false);
  assert.match(claim?.reason ?? '', /takeover: no healthy answer from the peer conn-a for 3000 ms/);
});

test('one healthy answer in between resets the count: no takeover on a blip', async () => {
  const h = harness('shadow', { peer: peerState() });
  await h.node.start();
  h.peer.answer = undefined;
  await tickAfter(h, CHECK_MS);
  await tickAfter(h, CHECK_MS);
  h.peer.answer = peerState();
  await tickAfter(h, CHECK_MS);
  assert.equal(h.node.misses, 0);
  h.peer.answer = undefined;
  await tickAfter(h, CHECK_MS);
  await tickAfter(h, CHECK_MS);
  assert.equal(h.node.active, false);
});

test('no takeover without a registered tunnel (the claim travels on it) or without rules', async () => {
  const h = harness('shadow', { peer: undefined });
  await h.node.start();
  await tickAfter(h, TAKEOVER_MS + CHECK_MS);
  assert.equal(h.node.active, false, 'no rules at all: nothing to serve');
  h.rules.rules = { acme: { trusted_apps: [], mappings: [] } };
  h.tunnel.state = 'waiting';
  await tickAfter(h, CHECK_MS);
  assert.equal(h.node.active, false, 'tunnel down');
  h.tunnel.state = 'registered';
  await tickAfter(h, CHECK_MS);
  assert.equal(h.node.active, true, 'never synced, but it has rules of its own: it takes over (and warns)');
  assert.equal(h.node.ready, false);
});

test('changed rules on the master are applied on the next check; an invalid set is refused once and the rules in force stay', async () => {
  const h = harness('shadow', { peer: peerState() });
  await h.node.start();
  const before = h.rules.hash;
  // The master now has an invalid set (a path that is not normalised): refused as a whole.
  const bad = { acme: { mappings: [{ virtual: 'erp.virtual:8000', internal: '10.0.0.5:8080', protocol: 'http', resources: [{ path: '/api/../admin' }] }] } };
  h.peer.answer = peerState({ rules_hash: 'sha256:bad', rules: bad as unknown as Rules });
  await tickAfter(h, CHECK_MS);
  assert.equal(h.rules.hash, before);
  assert.deepEqual(h.rules.rules.acme?.mappings[0]?.resources.map((r) => r.path), ['/api']);
  assert.equal(h.node.ready, true, 'still ready with the last good rules');
  const asked = h.peer.calls.length;
  await tickAfter(h, CHECK_MS);
  assert.equal(h.peer.calls.length, asked + 1);
  // A valid change is applied.
  const next = checkRules({ acme: { mappings: [{ virtual: 'erp.virtual:8000', internal: '10.0.0.5:8080', protocol: 'http', resources: [{ path: '/api' }, { path: '/reports', match: 'exact' }] }] } }, 'test');
  assert.ok(next.ok);
  h.peer.answer = peerState({ rules_hash: next.hash, rules: next.rules });
  await tickAfter(h, CHECK_MS);
  assert.equal(h.rules.hash, next.hash);
  assert.deepEqual(h.rules.rules.acme?.mappings[0]?.resources.map((r) => r.path), ['/api', '/reports']);
});

test('only the master\'s rules are pulled: a shadow ignores the rules of a peer that is not a master', async () => {
  const h = harness('shadow', { peer: peerState({ role: 'shadow' }) });
  await h.node.start();
  assert.deepEqual(h.rules.rules, {});
  assert.equal(h.node.ready, false);
});

test('a master starts active, unless its peer answers that it is active (no automatic failback)', async () => {
  const alone = harness('master', { rules: MASTER_RULES.ok ? MASTER_RULES.rules : {}, peer: undefined });
  await alone.node.start();
  assert.equal(alone.node.active, true);
  assert.equal(alone.claims.at(-1)?.reason, 'master start');

  const back = harness('master', { rules: MASTER_RULES.ok ? MASTER_RULES.rules : {}, peer: peerState({ connector_id: 'conn-a', role: 'shadow', active: true }) });
  await back.node.start();
  assert.equal(back.node.active, false);
});

test('both standby (after a relay restart, say): the master claims the routes after the takeover delay, the shadow does not', async () => {
  const m = harness('master', { rules: MASTER_RULES.ok ? MASTER_RULES.rules : {}, peer: peerState({ role: 'shadow', active: true }) });
  await m.node.start();
  assert.equal(m.node.active, false);
  m.peer.answer = peerState({ role: 'shadow', active: false });
  await tickAfter(m, CHECK_MS);
  await tickAfter(m, TAKEOVER_MS - 1);
  assert.equal(m.node.active, false);
  await tickAfter(m, 1);
  assert.equal(m.node.active, true);

  const s = harness('shadow', { peer: peerState({ active: false }) });
  await s.node.start();
  await tickAfter(s, CHECK_MS);
  await tickAfter(s, TAKEOVER_MS * 2);
  assert.equal(s.node.active, false);
});

test('the relay decides: promoted means active, superseded means standby, and neither sends a claim back', async () => {
  const h = harness('shadow', { peer: peerState() });
  await h.node.start();
  const sent = h.claims.length;
  h.node.onRouting({ type: 'routing', routed: true, reason: 'promoted' });
  assert.equal(h.node.active, true);
  assert.equal(h.node.routed, true);
  h.node.onRouting({ type: 'routing', routed: false, reason: 'superseded', by: 'conn-a' });
  assert.equal(h.node.active, false);
  assert.equal(h.claims.length, sent);
});

test('the active connector\'s tunnel drops while its peer is ready: it comes back as standby (the relay promoted the peer)', async () => {
  const h = harness('master', { rules: MASTER_RULES.ok ? MASTER_RULES.rules : {}, peer: undefined });
  await h.node.start();
  h.peer.answer = peerState({ connector_id: 'conn-a', role: 'shadow', active: false, ready: true });
  await tickAfter(h, CHECK_MS);
  h.node.onTunnelDown();
  assert.equal(h.node.active, false);
  assert.deepEqual(h.node.hello(), { role: 'master', active: false, ready: true });
});

test('switch-over from the active side: the peer claims first, then this side drains its calls in flight', async () => {
  const h = harness('master', { rules: MASTER_RULES.ok ? MASTER_RULES.rules : {}, peer: undefined });
  await h.node.start();
  h.node.onRouting({ type: 'routing', routed: true, reason: 'registered' });
  h.peer.answer = peerState({ connector_id: 'conn-a', role: 'shadow', active: false });
  h.inflight.n = 2;
  setTimeout(() => {
    h.inflight.n = 0;
    h.node.changed();
  }, 100);
  const r = await h.node.switchRoles();
  assert.deepEqual(h.peer.calls.slice(-2), ['state -', 'activate']);
  assert.equal(r.from, 'conn-b');
  assert.equal(r.to, 'conn-a');
  assert.equal(r.drained, true);
  assert.equal(h.node.active, false);
  assert.equal(h.node.switching, false);
});

test('switch-over from the standby side: this side claims (planned) and waits for the relay, then the peer drains', async () => {
  const h = harness('shadow', { peer: peerState() });
  await h.node.start();
  const pending = h.node.switchRoles();
  await new Promise((r) => setTimeout(r, 20));
  const claim = h.claims.at(-1);
  assert.equal(claim?.active, true);
  assert.equal(claim?.planned, true);
  h.node.onRouting({ type: 'routing', routed: true, reason: 'claim' });
  const r = await pending;
  assert.equal(r.to, 'conn-b');
  assert.equal(h.peer.calls.at(-1), 'drain');
});

test('switch-over is refused when both sides are standby, when the peer does not answer, and when the relay does not confirm', async () => {
  const both = harness('shadow', { peer: peerState({ active: false }) });
  await both.node.start();
  await assert.rejects(both.node.switchRoles(), /TW_ERR_HA_SWITCH_REFUSED|one active and one standby/);

  const alone = harness('shadow', { peer: peerState() });
  await alone.node.start();
  alone.peer.answer = undefined;
  await assert.rejects(alone.node.switchRoles(), (err: Error & { code?: string }) => err.code === 'TW_ERR_HA_PEER_UNREACHABLE');

  const unconfirmed = harness('shadow', { peer: peerState() });
  await unconfirmed.node.start();
  await assert.rejects(unconfirmed.node.switchRoles(), (err: Error & { code?: string }) => err.code === 'TW_ERR_HA_NO_ACK');
  assert.equal(unconfirmed.node.switching, false);
});

test('a broken HA link between two live connectors does not make them flap: superseded by the peer, a standby holds its watchdog until the link answers', async () => {
  const h = harness('shadow', { peer: peerState() });
  await h.node.start();
  h.peer.answer = undefined; // the link breaks; both connectors still reach the relay
  await tickAfter(h, TAKEOVER_MS);
  assert.equal(h.node.active, true, 'first takeover');
  // The master, alive, claims back at the relay: this shadow is superseded without a plan.
  h.node.onRouting({ type: 'routing', routed: false, reason: 'superseded', by: 'conn-a', planned: false });
  await tickAfter(h, TAKEOVER_MS * 3);
  assert.equal(h.node.active, false, 'no second takeover while the link is down');
  // The link answers again, then the master really goes silent: the watchdog works again.
  h.peer.answer = peerState();
  await tickAfter(h, CHECK_MS);
  h.peer.answer = undefined;
  await tickAfter(h, TAKEOVER_MS);
  assert.equal(h.node.active, true);
});
