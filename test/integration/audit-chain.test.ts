// `tunnelwatch audit verify` on what a real relay and connector wrote, then on tampered copies.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { proxyRequest } from '../../demo/proxy-client.js';
import { startNginx, type Nginx } from '../helpers/nginx.js';
import { run } from '../helpers/processes.js';
import { CLI, startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN = 'tw_test_chain_token_0123456789';
const CALLS = 30;

let nginx: Nginx;
let stack: TunnelStack;
let original: string[];

async function verify(dir: string): Promise<{ code: number | null; out: string; json: { ok: boolean; emitters: { emitterId: string; ok: boolean; break?: { seq: number; kind: string } }[] } }> {
  const human = await run(process.execPath, [CLI, 'audit', 'verify', dir]);
  const json = await run(process.execPath, [CLI, 'audit', 'verify', '--json', dir]);
  assert.equal(human.code, json.code);
  return { code: human.code, out: human.stdout + human.stderr, json: JSON.parse(json.stdout) };
}

/** A copy of the connector's audit files with `edit` applied to its lines. */
async function tampered(edit: (lines: string[]) => string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-chain-'));
  const [file] = (await readdir(stack.auditDir('connector-1'))).filter((n) => n.endsWith('.ndjson'));
  await writeFile(join(dir, file as string), `${edit([...original]).join('\n')}\n`);
  return dir;
}

describe('audit verify on real output', () => {
  before(async () => {
    nginx = await startNginx();
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'portal', token: TOKEN }],
      connectors: [{ id: 'connector-1', subaccounts: { acme: { mappings: [{ virtual: 'erp.virtual:80', internal: `127.0.0.1:${nginx.port}`, protocol: 'http', resources: [{ path: '/api/orders', methods: ['GET'] }] }] } } }],
    });
    const relay = { host: '127.0.0.1', port: stack.proxyPort };
    for (let i = 0; i < CALLS; i++) {
      const url = i % 3 === 0 ? 'http://erp.virtual/admin' : 'http://erp.virtual/api/orders/1';
      await proxyRequest(relay, i % 10 === 9 ? 'tw_bad' : TOKEN, 'GET', url);
    }
    await stack.waitForAudit('connector-1', CALLS - 3);
    // Restart the connector: its chain must continue, not restart at seq 1.
    await stack.connector('connector-1')?.stop();
    await stack.startConnector('connector-1');
    await proxyRequest(relay, TOKEN, 'GET', 'http://erp.virtual/api/orders/2');
    const events = await stack.waitForAudit('connector-1', CALLS - 2);
    assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1));
    const [file] = (await readdir(stack.auditDir('connector-1'))).filter((n) => n.endsWith('.ndjson'));
    original = (await readFile(join(stack.auditDir('connector-1'), file as string), 'utf8')).trim().split('\n');
  });
  after(async () => {
    await stack?.stop();
    await nginx?.stop();
  });

  test('passes on what the relay and the connector wrote, across a connector restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tw-chain-'));
    for (const id of ['relay-1', 'connector-1']) {
      for (const n of await readdir(stack.auditDir(id))) await copyFile(join(stack.auditDir(id), n), join(dir, n));
    }
    const r = await verify(dir);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.json.emitters.map((e) => [e.emitterId, e.ok]).sort(), [['connector-1', true], ['relay-1', true]]);
  });

  test('fails at the edited seq when an event is edited', async () => {
    const r = await verify(await tampered((lines) => {
      const edited = (lines[11] as string).replace(/"bytes_out":\d+/, '"bytes_out":999999');
      assert.notEqual(edited, lines[11]);
      lines[11] = edited;
      return lines;
    }));
    assert.equal(r.code, 1);
    assert.equal(r.json.emitters[0]?.break?.seq, 12);
    assert.equal(r.json.emitters[0]?.break?.kind, 'altered');
  });

  test('fails at the removed seq when an event is removed', async () => {
    const r = await verify(await tampered((lines) => lines.filter((_, i) => i !== 7)));
    assert.equal(r.code, 1);
    assert.equal(r.json.emitters[0]?.break?.kind, 'missing');
    assert.match(r.out, /seq 8/);
  });

  test('fails when two events are swapped', async () => {
    const r = await verify(await tampered((lines) => {
      [lines[4], lines[5]] = [lines[5] as string, lines[4] as string];
      return lines;
    }));
    assert.equal(r.code, 1);
    assert.equal(r.json.emitters[0]?.break?.kind, 'reordered');
    assert.equal(r.json.emitters[0]?.break?.seq, 6);
  });
});
