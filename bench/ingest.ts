// `npm run bench:ingest` (= tsc -p tsconfig.json && node dist/bench/ingest.js): audit events per second
// through the store's insert path into the embedded chDB store, beside the engine's own INSERT ... SELECT
// and the naive client path in the same run, with peak RSS. Writes the "Ingest" section of
// docs/benchmarks.md unless --no-doc; progress on stderr, the summary on stdout.
//
//   npm run bench:ingest                            1M events through the store (a few minutes on 2 cores)
//   npm run bench:ingest -- --callers 4             fewer concurrent senders (smaller group commits)
//   npm run bench:ingest -- --rows 200000           shorter
//   npm run bench:ingest -- --no-doc --keep DIR     leave docs alone, keep the data directory
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '../collector/store/open-store.js';
import { writeSection } from './lib/benchmarks-doc.js';
import { enginePhase, formatPhases, generatorPhase, replayPhase, storePhase, type PhaseResult } from './lib/ingest-phases.js';
import { markdownSection, terminalSummary } from './lib/ingest-report.js';
import { engineVersion, machineInfo } from './lib/machine.js';
import { step } from './lib/progress.js';
import { httpPhase } from './lib/ingest-http.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    'format-rows': { type: 'string', default: '200000' },
    // The store's largest batch (its default); also the statement size of the engine's batched phase.
    batch: { type: 'string', default: '100000' },
    // Events per call, as one shipper request carries them.
    'call-rows': { type: 'string', default: '10000' },
    // Concurrent senders, like the shippers of that many relays and connectors.
    callers: { type: 'string', default: '16' },
    'no-doc': { type: 'boolean', default: false },
    keep: { type: 'string' },
  },
});
const rows = Number(args.rows);
const formatRows = Number(args['format-rows']);
const batchRows = Number(args.batch);
const callers = Number(args.callers);
const callRows = Number(args['call-rows']);
for (const [name, value] of Object.entries({ rows, 'format-rows': formatRows, batch: batchRows, 'call-rows': callRows, callers })) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive whole number`);
}

const dataDir = args.keep ? resolve(args.keep) : await mkdtemp(join(tmpdir(), 'tw-bench-ingest-'));
const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const machine = await machineInfo();
const chdbVersion = await engineVersion();
const phases: PhaseResult[] = [];
const store = await openStore({ dataDir, batch: { rows: batchRows } }).catch(async (err: unknown) => {
  if (!args.keep) await rm(dataDir, { recursive: true, force: true });
  throw err;
});
try {
  // The store first, so its peak RSS is not the engine's big INSERT ... SELECT blocks kept by the allocator.
  phases.push(await step('store insert path', () => storePhase(store, rows, callRows, callers)));
  phases.push(await step('collector HTTP ingest', () => httpPhase(store, rows, callRows, callers)));
  phases.push(await step('store replay of duplicates', () => replayPhase(store, Math.min(rows, 200_000), callRows)));
  phases.push(await step('event generator alone', () => generatorPhase(Math.min(rows, 200_000))));
  phases.push(...(await step('row formats through the client', () => formatPhases(store, formatRows, callRows))));
  phases.push(...(await step('engine INSERT ... SELECT', () => enginePhase(store, rows, batchRows))));
} finally {
  await store.close();
  if (!args.keep) await rm(dataDir, { recursive: true, force: true });
}
const report = { startedAt, machine, chdb: chdbVersion, phases, maxRssMb: process.resourceUsage().maxRSS / 1024 };
console.log(terminalSummary(report));
const command = `npm run bench:ingest${rows !== 1_000_000 ? ` -- --rows ${rows}` : ''}`;
if (!args['no-doc']) {
  await writeSection(new URL('../../docs/benchmarks.md', import.meta.url).pathname, 'ingest', markdownSection(report, command));
  console.log('wrote the Ingest section of docs/benchmarks.md');
}
