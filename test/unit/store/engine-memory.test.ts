// The embedded engine keeps memory that queries freed (engine-memory.ts) instead of handing it back to
// the system within 5 s: the same query run again takes its pages from the allocator, not fresh from the
// kernel. Measured as minor page faults (a count, not a time) in child processes, because the allocator
// reads its options once per process, when the engine is loaded.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { configureEngineMemory, ENGINE_MALLOC_CONF } from '../../../collector/store/engine-memory.js';

const CHILD = fileURLToPath(new URL('../../helpers/engine-memory-child.js', import.meta.url));

async function faultsOfRuns(env: NodeJS.ProcessEnv): Promise<{ conf: string; runs: number[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-engine-memory-'));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [CHILD, join(dir, 'store')], { env, timeout: 120_000 });
    return JSON.parse(stdout.trim().split('\n').pop() as string) as { conf: string; runs: number[] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

describe('engine memory', () => {
  it('sets the allocator options unless the operator set their own', () => {
    const env: NodeJS.ProcessEnv = {};
    configureEngineMemory(env);
    assert.equal(env.JE_MALLOC_CONF, ENGINE_MALLOC_CONF);
    const own: NodeJS.ProcessEnv = { JE_MALLOC_CONF: 'dirty_decay_ms:1000' };
    configureEngineMemory(own);
    assert.equal(own.JE_MALLOC_CONF, 'dirty_decay_ms:1000');
  });

  it('reuses freed memory for the next query instead of faulting in fresh pages', async () => {
    const { JE_MALLOC_CONF: _, ...base } = process.env;
    const kept = await faultsOfRuns(base);
    const released = await faultsOfRuns({ ...base, JE_MALLOC_CONF: 'dirty_decay_ms:0' });
    assert.equal(kept.conf, ENGINE_MALLOC_CONF, 'the store set the options before loading the engine');
    assert.equal(released.conf, 'dirty_decay_ms:0', 'an operator\'s JE_MALLOC_CONF is kept');
    // Runs 2-4: with memory kept, most pages come from the allocator; released at once, each run faults
    // them all in again (measured ~500-4,600 against ~16,700 faults per run).
    const keptFaults = median(kept.runs.slice(1));
    const releasedFaults = median(released.runs.slice(1));
    assert.ok(releasedFaults > 5000, `the query touches enough memory to tell (${releasedFaults} faults a run when released)`);
    assert.ok(keptFaults * 2 < releasedFaults, `kept ${kept.runs.join('/')} faults, released ${released.runs.join('/')}`);
  });
});
