// Reloading connector.yaml (connector/agent/reload.ts): the rules swap whole or not at all, and every other
// changed setting is named, key by key, as needing a restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../../common/config/load-config.js';
import { reloadConnector, type ReloadTarget } from '../../../connector/agent/reload.js';
import { ConnectorConfigSchema, type ConnectorConfig } from '../../../connector/agent/config-schema.js';

const SOURCE = { via: 'sighup', actor: 'SIGHUP to pid 1 on test' } as const;

function config(paths: string[], extra: Record<string, unknown> = {}): ConnectorConfig {
  const resources = paths.map((path, i) => ({ id: `r${i}`, path, match: 'prefix', methods: ['GET'] }));
  return validateConfig(
    ConnectorConfigSchema,
    {
      connector: { id: 'c1' },
      relay: { address: 'relay.example.com:8443', tls: { cert: 'c.crt', key: 'c.key', ca: 'ca.crt' } },
      subaccounts: { acme: { trusted_apps: ['portal'], mappings: [{ virtual: 'erp.virtual:8000', internal: '127.0.0.1:9000', protocol: 'http', resources }] } },
      ...extra,
    },
    'connector.yaml',
    { env: {} },
  ) as ConnectorConfig;
}

function target(started: ConnectorConfig, refusal?: string): ReloadTarget & { applied: ConnectorConfig['subaccounts'][] } {
  let current = started.subaccounts;
  const applied: ConnectorConfig['subaccounts'][] = [];
  return {
    started,
    applied,
    current: () => current,
    ...(refusal ? { refusal: () => refusal } : {}),
    apply(subaccounts) {
      current = subaccounts;
      applied.push(subaccounts);
    },
  };
}

test('new rules apply in one swap; a changed relay setting is named by its key as needing a restart', () => {
  const t = target(config(['/api/orders']));
  const next = config(['/api/orders', '/api/invoices'], { relay: { address: 'relay-2.example.com:8443', tls: { cert: 'c.crt', key: 'c.key', ca: 'ca.crt' } } });
  const result = reloadConnector(t, () => next, SOURCE);
  assert.equal(result.applied, true);
  assert.match(result.message, /new access rules in force for 1 subaccount\(s\): acme/);
  assert.deepEqual(result.restartNeeded, ['relay.address']);
  assert.deepEqual(t.applied, [next.subaccounts]);
});

test('unchanged rules: nothing applied, and a rules-only reload needs no restart', () => {
  const started = config(['/api/orders']);
  const t = target(started);
  const result = reloadConnector(t, () => config(['/api/orders']), SOURCE);
  assert.deepEqual([result.applied, result.message, result.restartNeeded], [true, 'the access rules are unchanged', []]);
  assert.equal(t.applied.length, 0);
});

test('an invalid file or a refusing connector (HA shadow) changes nothing', () => {
  const t = target(config(['/api/orders']));
  const invalid = reloadConnector(t, () => {
    throw new Error('subaccounts.acme.mappings[0].resources[0].path: must start with /');
  }, SOURCE);
  assert.deepEqual([invalid.applied, invalid.message], [false, 'subaccounts.acme.mappings[0].resources[0].path: must start with /']);
  const shadow = target(config(['/api/orders']), 'this connector is an HA shadow');
  const refused = reloadConnector(shadow, () => config(['/api/other']), SOURCE);
  assert.deepEqual([refused.applied, refused.message], [false, 'this connector is an HA shadow']);
  assert.equal(t.applied.length + shadow.applied.length, 0);
});
