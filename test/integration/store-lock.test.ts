import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../collector/store/open-store.js';
import { tempDir } from '../unit/store/store-fixture.js';

const OPEN_STORE = fileURLToPath(new URL('../../collector/store/open-store.js', import.meta.url));

/** Runs openStore on dir in a second node process; resolves with what it printed and its exit code. */
function openInAnotherProcess(dir: string): Promise<{ code: number | null; out: string }> {
  const script = `
    const { openStore } = await import(${JSON.stringify(OPEN_STORE)});
    try { const s = await openStore({ dataDir: ${JSON.stringify(dir)} }); await s.close(); console.log(JSON.stringify({ opened: true })); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); process.exitCode = 3; }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('embedded store data directory', () => {
  const dir = tempDir();
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives a second process a clear error while the first one holds it, and opens once it is free', async () => {
    const store = await openStore({ dataDir: dir });
    try {
      const second = await openInAnotherProcess(dir);
      assert.equal(second.code, 3, second.out);
      const reported = JSON.parse(second.out.trim().split('\n').at(-1) ?? '{}') as { code?: string; message?: string };
      assert.equal(reported.code, 'TW_ERR_STORE_LOCKED');
      assert.match(reported.message ?? '', /one process per chDB data directory: stop the other collector or use another data_dir/);
      assert.ok(reported.message?.includes(dir), 'names the directory');
    } finally {
      await store.close();
    }
    const third = await openInAnotherProcess(dir);
    assert.equal(third.code, 0, third.out);
    assert.match(third.out, /"opened":true/);
  });
});
