import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfigFile, validateConfig } from '../../../common/config/load-config.js';
import { ConnectorConfigSchema } from '../../../connector/agent/config-schema.js';
import { RelayConfigSchema } from '../../../connector/relay/config-schema.js';

const relay = () => ({
  relay: { id: 'relay-1' },
  proxy: { listen: '127.0.0.1:8080' },
  tunnel: { listen: '127.0.0.1:8443', tls: { cert: 'a', key: 'b', ca: 'c' } },
});

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('the config was accepted');
}

test('fills in defaults and freezes the result', () => {
  const config = validateConfig(RelayConfigSchema, relay(), 'relay.yaml', { env: {} });
  assert.equal(config.proxy.max_header_bytes, 16384);
  assert.equal(config.audit.dir, './data/audit');
  assert.deepEqual(config.tokens, []);
  assert.ok(Object.isFrozen(config.proxy));
});

test('names an unknown key and lists the keys that are allowed there', () => {
  const raw = relay() as Record<string, unknown>;
  (raw.proxy as Record<string, unknown>).listne = 'x';
  const p = problems(() => validateConfig(RelayConfigSchema, raw, 'relay.yaml', { env: {} }));
  assert.deepEqual(p, ['proxy.listne: unknown key; expected one of: listen, max_header_bytes, keep_alive_timeout_ms, head_timeout_ms, call_timeout_ms, proxy_protocol_from']);
});

test('never shows a secret, or the password of a URL, in what it reports', () => {
  const raw = relay() as Record<string, unknown>;
  raw.tokens = [{ subaccount: 'acme', cloud_app: 'app', sha256: 'tw_plain_token_pasted_by_mistake' }];
  const p = problems(() => validateConfig(RelayConfigSchema, raw, 'relay.yaml', { env: {} }));
  assert.equal(p.length, 1, p.join('\n'));
  assert.match(p[0] as string, /^tokens\[0\]\.sha256: expected .* \(got a 32-character value, not shown\)$/);
  assert.doesNotMatch(p.join('\n'), /tw_plain_token/);
  raw.tokens = [];
  (raw.proxy as Record<string, unknown>).listen = 'http://admin:hunter2@relay.example:8080/';
  const url = problems(() => validateConfig(RelayConfigSchema, raw, 'relay.yaml', { env: {} }));
  assert.match(url.join('\n'), /admin:\*\*\*@relay\.example/);
  assert.doesNotMatch(url.join('\n'), /hunter2/);
});

test('refuses Infinity and a timer longer than Node keeps (it would fire at once)', () => {
  const raw = relay() as Record<string, unknown>;
  (raw.proxy as Record<string, unknown>).call_timeout_ms = Number.POSITIVE_INFINITY;
  assert.match(problems(() => validateConfig(RelayConfigSchema, raw, 'relay.yaml', { env: {} })).join('\n'), /proxy\.call_timeout_ms/);
  (raw.proxy as Record<string, unknown>).call_timeout_ms = 3_000_000_000;
  assert.deepEqual(problems(() => validateConfig(RelayConfigSchema, raw, 'relay.yaml', { env: {} })), ['proxy.call_timeout_ms: expected a number <= 2147483647 (ms; about 24.8 days, the longest timer Node keeps) (got 3000000000)']);
  (raw.proxy as Record<string, unknown>).call_timeout_ms = 2_147_483_647;
  assert.equal(validateConfig(RelayConfigSchema, raw, 'relay.yaml', { env: {} }).proxy.call_timeout_ms, 2_147_483_647);
});

test('names a missing key', () => {
  const raw = relay() as Record<string, unknown>;
  delete (raw.relay as Record<string, unknown>).id;
  assert.deepEqual(problems(() => validateConfig(RelayConfigSchema, raw, 'relay.yaml', { env: {} })), ['relay.id: required key is missing']);
});

test('reports every wrong value at once, each with what is expected and what was given', () => {
  const p = problems(() =>
    validateConfig(
      ConnectorConfigSchema,
      {
        connector: { id: 'c1' },
        relay: { address: 'relay.example', tls: { cert: 'a', key: 'b', ca: 'c' }, reconnect: { jitter: 2 } },
        backend: { connect_timeout_ms: '5s' },
        subaccounts: { Acme: {}, acme: { mappings: [{ virtual: 'erp:80', internal: 'x:1', protocol: 'ftp', resources: [{ path: 'api', methods: ['get'] }] }] } },
      },
      'connector.yaml',
      { env: {} },
    ),
  );
  assert.deepEqual(p.sort(), [
    'backend.connect_timeout_ms: expected integer (got "5s")',
    'relay.address: expected host:port with a port from 1 to 65535, e.g. 127.0.0.1:8080 (got "relay.example")',
    'relay.reconnect.jitter: expected a number <= 1 (got 2)',
    'subaccounts.Acme: invalid key; expected a subaccount id: lower-case letters, digits and -, 1-64 chars',
    'subaccounts.acme.mappings[0].protocol: expected one of "http", "https", "tcp", "tcps" (got "ftp")',
    'subaccounts.acme.mappings[0].resources[0].methods[0]: expected an HTTP method in upper case, e.g. GET (got "get")',
    'subaccounts.acme.mappings[0].resources[0].path: expected an absolute path starting with / (got "api")',
  ]);
});

test('applies --set over the environment over the file', () => {
  const env = { TUNNELWATCH_PROXY__LISTEN: '127.0.0.1:9001', TUNNELWATCH_PROXY__MAX_HEADER_BYTES: '32768' };
  const config = validateConfig(RelayConfigSchema, relay(), 'relay.yaml', { env, set: ['proxy.listen=127.0.0.1:9002'] });
  assert.equal(config.proxy.listen, '127.0.0.1:9002');
  assert.equal(config.proxy.max_header_bytes, 32768);
});

test('a wrong override is reported like a wrong file value', () => {
  const p = problems(() => validateConfig(RelayConfigSchema, relay(), 'relay.yaml', { env: { TUNNELWATCH_PROXY__LISTEN: 'nowhere' } }));
  assert.deepEqual(p, ['proxy.listen: expected host:port with a port from 1 to 65535, e.g. 127.0.0.1:8080 (got "nowhere")']);
});

test('reports YAML syntax errors and duplicate keys with their line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-config-'));
  writeFileSync(join(dir, 'dup.yaml'), 'relay:\n  id: a\nrelay:\n  id: b\n');
  const p = problems(() => loadConfigFile(RelayConfigSchema, join(dir, 'dup.yaml'), { env: {} }));
  assert.equal(p.length, 1);
  assert.match(p[0] as string, /YAML syntax: .*unique.* at line 3/i);
});
