// relay.address or relay.addresses in connector.yaml (docs/ha.md, "Several relays"): exactly one of the two,
// a list of distinct host:port entries, and what the connector dials for each.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, validateConfig } from '../../../common/config/load-config.js';
import { TunnelwatchError } from '../../../common/errors.js';
import { ConnectorConfigSchema, relayEndpoints, type ConnectorConfig } from '../../../connector/agent/config-schema.js';

const TLS = { cert: 'pki/c.crt', key: 'pki/c.key', ca: 'pki/ca.crt' };

function load(relay: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, set: string[] = []): ConnectorConfig {
  return validateConfig(ConnectorConfigSchema, { connector: { id: 'c1' }, relay: { tls: TLS, ...relay } }, 'connector.yaml', { env, set }) as ConnectorConfig;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('the config was accepted');
}

function refusal(config: ConnectorConfig): string {
  try {
    relayEndpoints(config);
  } catch (err) {
    assert.ok(err instanceof TunnelwatchError);
    assert.equal(err.code, 'TW_ERR_CONFIG_INVALID');
    return err.message;
  }
  assert.fail('relayEndpoints accepted it');
}

test('relay.address alone: one relay, as before (server name from relay.server_name, or none)', () => {
  assert.deepEqual(relayEndpoints(load({ address: 'relay.example.com:8443' })), [{ address: 'relay.example.com:8443', host: 'relay.example.com', port: 8443 }]);
  assert.deepEqual(relayEndpoints(load({ address: '[::1]:8443', server_name: 'relay.corp' })), [{ address: '[::1]:8443', host: '::1', port: 8443, serverName: 'relay.corp' }]);
});

test('relay.addresses: one tunnel per entry, in order, each with the shared server name', () => {
  const config = load({ addresses: ['relay-0.relay-headless:8443', 'relay-1.relay-headless:8443', '10.0.0.7:9443'], server_name: 'relay.corp' });
  assert.deepEqual(relayEndpoints(config).map((r) => [r.address, r.host, r.port, r.serverName]), [
    ['relay-0.relay-headless:8443', 'relay-0.relay-headless', 8443, 'relay.corp'],
    ['relay-1.relay-headless:8443', 'relay-1.relay-headless', 8443, 'relay.corp'],
    ['10.0.0.7:9443', '10.0.0.7', 9443, 'relay.corp'],
  ]);
});

test('relay.addresses from --set and from the environment, like any key', () => {
  assert.deepEqual(relayEndpoints(load({}, {}, ['relay.addresses=[a.corp:1, b.corp:2]'])).map((r) => r.address), ['a.corp:1', 'b.corp:2']);
  assert.deepEqual(relayEndpoints(load({}, { TUNNELWATCH_RELAY__ADDRESSES: '[c.corp:3]' })).map((r) => r.address), ['c.corp:3']);
});

test('both keys, or neither, are refused with a message naming both keys', () => {
  assert.match(refusal(load({ address: 'a.corp:1', addresses: ['b.corp:2'] })), /: relay\.address and relay\.addresses are both set: use relay\.address for one relay, or relay\.addresses .* not both$/);
  assert.match(refusal(load({})), /: relay\.address \(one relay\) or relay\.addresses \(several relays\) is required$/);
});

test('each entry must be host:port; the list must be non-empty and without duplicates', () => {
  assert.deepEqual(problems(() => load({ addresses: ['relay.example', 'b.corp:2'] })), ['relay.addresses[0]: expected host:port with a port from 1 to 65535, e.g. 127.0.0.1:8080 (got "relay.example")']);
  assert.deepEqual(problems(() => load({ addresses: [] })), ['relay.addresses: must NOT have fewer than 1 items']);
  assert.match(problems(() => load({ addresses: ['b.corp:2', 'b.corp:2'] }))[0] ?? '', /^relay\.addresses: must NOT have duplicate items/);
  assert.match(problems(() => load({ addresses: 'b.corp:2' }))[0] ?? '', /^relay\.addresses: expected array/);
});
