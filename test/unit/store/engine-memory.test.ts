// The embedded engine keeps memory that queries freed (engine-memory.ts) instead of handing it back to
// the system within 5 s, as chDB's own setting does: the same query run again 6 s later takes its pages
// from the allocator, not fresh from the kernel. Measured as minor page faults (a count, not a time) in
// child processes, because the allocator reads its options once per process, when the engine is loaded.
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

/** Longer than chDB's own dirty_decay_ms (5 s), shorter than the store's. */
const GAP_MS = 6000;

async function faultsOfRuns(env: NodeJS.ProcessEnv): Promise<{ conf: string; runs: number[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-engine-memory-'));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [CHILD, join(dir, 'store'), String(GAP_MS)], { env, timeout: 120_000 });
    return JSON.parse(stdout.trim().split('\n').pop() as string) as { conf: string; runs: number[] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('engine memory', () => {
  it('sets the allocator options unless the operator set their own', () => {
    const env: NodeJS.ProcessEnv = {};
    configureEngineMemory(env);
    assert.equal(env.JE_MALLOC_CONF, ENGINE_MALLOC_CONF);
    const own: NodeJS.ProcessEnv = { JE_MALLOC_CONF: 'dirty_decay_ms:1000' };
    configureEngineMemory(own);
    assert.equal(own.JE_MALLOC_CONF, 'dirty_decay_ms:1000');
  });

  it('reuses freed memory for a query 6 s later instead of faulting in fresh pages', async () => {
    const { JE_MALLOC_CONF: _, ...base } = process.env;
    // Side by side: the store's setting, and chDB's own (given as an operator would).
    const [kept, chdb] = await Promise.all([faultsOfRuns(base), faultsOfRuns({ ...base, JE_MALLOC_CONF: 'dirty_decay_ms:5000' })]);
    assert.equal(kept.conf, ENGINE_MALLOC_CONF, 'the store set the options before loading the engine');
    assert.equal(chdb.conf, 'dirty_decay_ms:5000', 'an operator\'s JE_MALLOC_CONF is kept');
    // The repeats (runs 2-4): with the store's setting the best of them faulted in ~30-500 pages, with
    // chDB's every one ~3,900-4,900, its memory given back in the gap. The best, not every one: a run whose
    // threads land on another CPU works in another of the allocator's per-CPU arenas and faults afresh.
    const repeats = (r: { runs: number[] }): number[] => r.runs.slice(1);
    const keptBest = Math.min(...repeats(kept));
    const chdbBest = Math.min(...repeats(chdb));
    assert.ok(chdbBest > 2000, `the query touches enough memory to tell (${chdb.runs.join('/')} faults with chDB's setting)`);
    assert.ok(keptBest * 3 < chdbBest, `faults per run: store ${kept.runs.join('/')}, chDB's setting ${chdb.runs.join('/')}`);
  });
});
