// The `tunnelwatch` command as a user meets it: help for every command, clear stops on bad config.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from '../helpers/processes.js';
import { CLI } from '../helpers/tunnel-stack.js';

const tw = (...args: string[]) => run(process.execPath, [CLI, ...args], { timeoutMs: 20_000 });

test('lists every command in the overview', async () => {
  const r = await tw('--help');
  assert.equal(r.code, 0);
  for (const name of ['relay', 'connector', 'demo', 'pki', 'audit', 'token']) assert.match(r.stdout, new RegExp(`^  ${name} `, 'm'));
});

for (const name of ['relay', 'connector', 'demo', 'pki', 'audit', 'token']) {
  test(`"${name} --help" explains the command and exits 0`, async () => {
    const r = await tw(name, '--help');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Usage:\\s+tunnelwatch ${name}`, 'm'));
  });
}

test('"audit verify --help" explains the subcommand', async () => {
  const r = await tw('audit', 'verify', '--help');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /verify/);
});

test('an unknown command exits 2 with the overview', async () => {
  const r = await tw('frobnicate');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
});

test('a relay with a wrong key and a wrong value stops at start-up, naming both', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tw-cli-'));
  const file = join(dir, 'relay.yaml');
  await writeFile(file, 'relay: { id: r1 }\nproxy: { listen: 127.0.0.1:0, max_header_byte: 10 }\ntunnel: { listen: "127.0.0.1:99999", tls: { cert: a, key: b, ca: c } }\n');
  const r = await tw('relay', '--config', file);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /TW_ERR_CONFIG_INVALID/);
  assert.match(r.stderr, /proxy\.max_header_byte: unknown key; expected one of: listen, max_header_bytes/);
  assert.match(r.stderr, /tunnel\.listen: expected host:port/);
});

test('a relay listing one token twice (for two subaccounts) stops at start-up instead of letting the last win', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tw-cli-'));
  const file = join(dir, 'relay.yaml');
  const digest = 'a'.repeat(64);
  await writeFile(file, `relay: { id: r1 }\nproxy: { listen: 127.0.0.1:1 }\ntunnel: { listen: 127.0.0.1:2, tls: { cert: a, key: b, ca: c } }\ntokens:\n  - { subaccount: acme, cloud_app: portal, sha256: ${digest} }\n  - { subaccount: globex, cloud_app: shop, sha256: ${digest} }\n`);
  const r = await tw('relay', '--config', file);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /TW_ERR_CONFIG_INVALID/);
  assert.match(r.stderr, /tokens\[1\]\.sha256: the same token as tokens\[0\]/);
});

test('a connector whose certificate files are missing says which key to fix', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tw-cli-'));
  const file = join(dir, 'connector.yaml');
  await writeFile(file, 'connector: { id: c1 }\nrelay: { address: 127.0.0.1:1, tls: { cert: nope.crt, key: nope.key, ca: ca.crt } }\n');
  const r = await tw('connector', '--config', file);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /relay\.tls\.cert: cannot read .*nope\.crt \(ENOENT\)/);
});

test('a missing --config is a usage error', async () => {
  const r = await tw('relay');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--config FILE is required/);
});

test('token new prints a token whose hash is the relay.yaml entry', async () => {
  const r = await tw('token', 'new', '--subaccount', 'acme', '--cloud-app', 'portal');
  assert.equal(r.code, 0);
  const token = r.stdout.trim();
  assert.match(token, /^tw_[A-Za-z0-9_-]{43}$/);
  const hash = /sha256: ([0-9a-f]{64})/.exec(r.stderr)?.[1];
  const again = await run(process.execPath, [CLI, 'token', 'hash'], { input: token });
  assert.equal(again.stdout.trim(), hash);
});
