// Tunnel down and failover from the relay's session registry (fake sessions, a short grace): a session that
// ends without a replacement is down after the grace, resolved when the connector registers again; a quick
// reconnect or a replacement is nothing; an HA standby promoted when the active session drops is a failover
// (medium) and the dropped master's tunnel_down is medium since the standby serves; a planned switch-over is
// a low failover; after stop() nothing is reported (a relay shutting down closes every session).
import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import { test } from 'node:test';
import type { OpsEvent } from '../../../common/ops/ops-events.js';
import { SessionRegistry, type SessionHa, type TunnelSession } from '../../../connector/relay/session-registry.js';
import { startTunnelAlerts } from '../../../connector/relay/tunnel-alerts.js';

const GRACE = 40;

interface FakeSession extends TunnelSession { kill(): void }

function session(connectorId: string, ha?: Omit<SessionHa, 'notify'>, subaccounts = ['acme']): FakeSession {
  const h2 = { closed: false, destroyed: false };
  const s: FakeSession = {
    connectorId, locationId: 'dc1', subaccounts, connectedAt: new Date(), remoteAddress: '10.0.0.7:40000', h2: h2 as unknown as ClientHttp2Session, rttMs: -1,
    kill: () => {
      h2.closed = true;
      h2.destroyed = true;
    },
  };
  if (ha) s.ha = { ...ha };
  return s;
}

function setup(): { registry: SessionRegistry; events: OpsEvent[]; stop: () => void } {
  const registry = new SessionRegistry();
  const events: OpsEvent[] = [];
  const alerts = startTunnelAlerts({ relayId: 'relay-1', registry, graceMs: GRACE, report: (e) => events.push(e), lastError: () => 'the tunnel connection closed' });
  return { registry, events, stop: () => alerts.stop() };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const drop = (r: SessionRegistry, s: FakeSession): void => {
  s.kill();
  r.remove(s);
};

test('down after the grace, resolved with the same episode when the connector registers again', async () => {
  const { registry, events, stop } = setup();
  const first = session('conn-1');
  registry.add(first);
  assert.deepEqual(events.map((e) => [e.state, e.episode]), [['resolved', undefined]], 'the first registration since start clears');
  events.length = 0;
  drop(registry, first);
  await sleep(GRACE / 2);
  assert.equal(events.length, 0, 'nothing within the grace');
  await sleep(GRACE * 2);
  const [down] = events;
  assert.deepEqual([down?.type, down?.state, down?.severity, down?.subject], ['tunnel_down', 'firing', 'high', 'conn-1']);
  assert.equal(down?.episode, down?.since);
  assert.ok(Date.parse(down?.at ?? '') - Date.parse(down?.since ?? '') >= GRACE - 5);
  assert.deepEqual([down?.detail.unserved_subaccounts, down?.detail.location_id, down?.detail.last_error, down?.detail.grace_ms], [['acme'], 'dc1', 'the tunnel connection closed', GRACE]);
  registry.add(session('conn-1'));
  const up = events[1];
  assert.deepEqual([up?.state, up?.episode, up?.since], ['resolved', down?.episode, down?.since]);
  assert.ok(Number(up?.detail.down_ms) >= GRACE - 5);
  assert.equal(events.length, 2);
  stop();
});

test('a reconnect within the grace, or a session replaced by a newer one, is no outage', async () => {
  const { registry, events, stop } = setup();
  const a = session('conn-1');
  registry.add(a);
  drop(registry, a);
  registry.add(session('conn-1'));
  const b = registry.current('conn-1') as FakeSession;
  const c = session('conn-1');
  registry.add(c);
  drop(registry, b);
  await sleep(GRACE * 2);
  assert.deepEqual(events.map((e) => [e.state, e.episode]), [['resolved', undefined]], 'only the clear at the first registration');
  stop();
});

test('HA: a promoted standby is a failover (medium); the master is down but served (medium)', async () => {
  const { registry, events, stop } = setup();
  const master = session('conn-a', { role: 'master', active: true, ready: true });
  const shadow = session('conn-b', { role: 'shadow', active: false, ready: true });
  registry.add(master);
  registry.add(shadow);
  events.length = 0;
  drop(registry, master);
  assert.equal(registry.pick('acme', 'dc1'), shadow);
  const [failover] = events;
  assert.deepEqual([failover?.type, failover?.severity, failover?.subject, failover?.detail.from, failover?.detail.reason, failover?.detail.planned],
    ['failover', 'medium', 'conn-b', ['conn-a'], 'promoted', false]);
  await sleep(GRACE * 2);
  const down = events[1];
  assert.deepEqual([down?.type, down?.subject, down?.severity, down?.detail.unserved_subaccounts, down?.detail.served_by], ['tunnel_down', 'conn-a', 'medium', [], ['conn-b']]);
  stop();
});

test('HA: a planned switch-over is a low failover; the first activation of a pair is none', () => {
  const { registry, events, stop } = setup();
  const master = session('conn-a', { role: 'master', active: true, ready: true });
  const shadow = session('conn-b', { role: 'shadow', active: false, ready: true });
  registry.add(master);
  registry.add(shadow);
  assert.ok(events.every((e) => e.type === 'tunnel_down'), 'no failover at start');
  events.length = 0;
  registry.claim(shadow, { active: true, ready: true, planned: true });
  assert.deepEqual(events.map((e) => [e.type, e.severity, e.subject, e.detail.from, e.detail.planned]), [['failover', 'low', 'conn-b', ['conn-a'], true]]);
  // And back, unplanned (the master claims while the shadow still serves).
  registry.claim(master, { active: true, ready: true, planned: false });
  assert.deepEqual(events.slice(1).map((e) => [e.type, e.severity, e.subject, e.detail.from]), [['failover', 'medium', 'conn-a', ['conn-b']]]);
  stop();
});

test('after stop nothing is reported', async () => {
  const { registry, events, stop } = setup();
  const a = session('conn-1');
  registry.add(a);
  events.length = 0;
  stop();
  drop(registry, a);
  await sleep(GRACE * 2);
  registry.add(session('conn-1'));
  assert.deepEqual(events, []);
});
