// The set of tunnels of a connector with several relays (connector/agent/tunnel-set.ts): one TunnelClient per
// configured address, an aggregated status that is the single tunnel's own with one relay, readiness that
// names the relays not registered, and the per-relay gauge with the configured addresses as its only labels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createLogger } from '../../../common/log.js';
import { registerRelayMetrics, relayReadiness, TunnelSet, type RelayTunnelView } from '../../../connector/agent/tunnel-set.js';

const log = createLogger({ name: 'test', level: 'silent' });

function set(addresses: string[]): TunnelSet {
  return new TunnelSet({
    relays: addresses.map((address) => ({ address, host: address.split(':')[0] ?? '', port: Number(address.split(':')[1]) })),
    tls: { cert: Buffer.alloc(0), key: Buffer.alloc(0), ca: Buffer.alloc(0) },
    pingIntervalMs: 1000,
    backoff: { initialDelayMs: 100, maxDelayMs: 1000, jitter: 0 },
    hello: () => ({ connector_id: 'c1', location_id: '', subaccounts: [], protocol: 1, version: 'test' }),
    onStream: () => {},
    log,
  });
}

test('one tunnel per relay, in configured order; not started, every one waits', () => {
  const s = set(['relay-0:8443', 'relay-1:8443']);
  assert.equal(s.size, 2);
  assert.deepEqual([...s.tunnels.keys()], ['relay-0:8443', 'relay-1:8443']);
  assert.deepEqual(s.relays().map((r) => [r.address, r.tunnel, r.connects]), [['relay-0:8443', 'waiting', 0], ['relay-1:8443', 'waiting', 0]]);
  assert.equal(s.status.state, 'waiting');
  assert.deepEqual(s.registered(), []);
});

test('with one relay, the set\'s status is that tunnel\'s own', () => {
  const s = set(['relay.corp:8443']);
  assert.equal(s.status, s.tunnels.get('relay.corp:8443')?.status);
});

test('readiness: the reason names each relay that is not registered, and why', () => {
  const view = (address: string, tunnel: RelayTunnelView['tunnel'], lastError = ''): RelayTunnelView => ({ address, tunnel, since: '', subaccounts: [], connects: 0, last_error: lastError });
  assert.deepEqual(relayReadiness([view('r:1', 'waiting', 'ECONNREFUSED')]), { reason: 'the tunnel to the relay is waiting', notRegistered: ['r:1 (waiting: ECONNREFUSED)'] });
  assert.deepEqual(relayReadiness([view('a:1', 'registered'), view('b:2', 'connecting')]), { reason: 'no tunnel to any relay is registered: b:2 (connecting)', notRegistered: ['b:2 (connecting)'] });
  assert.equal(relayReadiness([view('a:1', 'waiting', 'tunnel closed'), view('b:2', 'connecting')]).reason, 'no tunnel to any relay is registered: a:1 (waiting: tunnel closed); b:2 (connecting)');
});

test('tunnelwatch_tunnel_relay_state: one series per configured relay, in its state; none with one relay', async () => {
  const registry = new Registry();
  registerRelayMetrics(registry, set(['relay-0:8443', 'relay-1:8443']));
  const text = await registry.metrics();
  assert.match(text, /^tunnelwatch_tunnel_relay_state\{relay="relay-0:8443",state="waiting"\} 1$/m);
  assert.match(text, /^tunnelwatch_tunnel_relay_state\{relay="relay-1:8443",state="waiting"\} 1$/m);
  assert.equal(text.split('\n').filter((l) => l.startsWith('tunnelwatch_tunnel_relay_state{')).length, 2);
  const single = new Registry();
  registerRelayMetrics(single, set(['relay.corp:8443']));
  assert.doesNotMatch(await single.metrics(), /tunnelwatch_tunnel_relay_state/);
});
