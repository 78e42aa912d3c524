// `tunnelwatch collector` as an operator meets it: help, start-up refusals that name the key to fix,
// readiness, and a clean stop.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCollectorProcess } from '../helpers/collector-process.js';
import { run } from '../helpers/processes.js';
import { CLI } from '../helpers/tunnel-stack.js';

const tw = (...args: string[]) => run(process.execPath, [CLI, ...args], { timeoutMs: 30_000 });

test('"collector --help" explains the command, and the overview lists it', async () => {
  const help = await tw('collector', '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: tunnelwatch collector --config collector.yaml/m);
  assert.match((await tw('--help')).stdout, /^ {2}collector {2,}run the collector/m);
});

test('a collector config with a wrong key and a wrong value stops at start-up, naming both', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tw-collector-cli-'));
  const file = join(dir, 'collector.yaml');
  await writeFile(file, 'collector:\n  listen: 127.0.0.1:4318\n  ingest_tokens: [{ name: relay-1, sha256: nothex }]\nqueue: { max_row: 5 }\n');
  const r = await tw('collector', '--config', file);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /TW_ERR_CONFIG_INVALID/);
  assert.match(r.stderr, /collector\.ingest_tokens\[0\]\.sha256: expected 64 lower-case hex digits/);
  assert.match(r.stderr, /queue\.max_row: unknown key; expected one of: max_rows, max_bytes/);
});

test('a collector whose TLS key file is missing says which key to fix', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tw-collector-cli-'));
  const file = join(dir, 'collector.yaml');
  await writeFile(file, 'collector:\n  listen: 127.0.0.1:4318\n  tls: { cert: c.pem, key: k.pem }\n');
  const r = await tw('collector', '--config', file);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /collector\.tls\.cert: cannot read .*c\.pem \(ENOENT\)/);
});

test('a running collector is ready, and stops on SIGTERM with exit code 0', async () => {
  const c = await startCollectorProcess();
  assert.equal((await fetch(`${c.url}/readyz`)).status, 200);
  const notFound = await fetch(`${c.url}/v2/nothing`);
  assert.equal(notFound.status, 404);
  await c.stop();
  const { code } = await c.process.exited;
  assert.equal(code, 0);
  assert.match(c.process.stderr(), /"msg":"collector stopping"/);
});
