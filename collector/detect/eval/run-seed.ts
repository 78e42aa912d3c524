// One seed of the evaluation, in a process of its own (one embedded store per process, and the memory of
// a replay goes away with it): simulate to a file, replay it through every detector, write the findings,
// labels and novelties as one JSON file for the harness to score.
//   node dist/collector/detect/eval/run-seed.js --seed 101 --size small --dir /tmp/x [--keep]
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { AuditEvent } from '../../../common/audit/event.js';
import type { DetectionConfig } from '../config.js';
import { replayEvents } from '../replay.js';
import type { SimLabel } from '../simulate/labels.js';
import { writeSimulation } from '../simulate/write-files.js';
import type { Novelty } from '../simulate/world.js';
import type { Finding } from '../types.js';
import { SIZES, type SizeName } from './sizes.js';

/** The contract of collector/detect/replay.ts. */
export type ReplayEvents = (
  input: AsyncIterable<AuditEvent> | string,
  options: { onProgress?: (msg: string) => void; config?: DetectionConfig },
) => Promise<Finding[]>;

// Checked at build time: replay.ts must keep the contract above.
const builtIn: ReplayEvents = replayEvents;

export interface SeedResult {
  readonly seed: number;
  readonly size: SizeName;
  readonly events: number;
  readonly labels: readonly SimLabel[];
  readonly novelties: readonly Novelty[];
  readonly skipped: readonly string[];
  readonly findings: readonly Finding[];
  readonly simulateMs: number;
  readonly replayMs: number;
}

/** replay.ts, or the module TW_EVAL_REPLAY_MODULE names (an absolute path), e.g. to compare an experiment. */
export async function loadReplay(): Promise<ReplayEvents> {
  const other = process.env.TW_EVAL_REPLAY_MODULE;
  if (!other) return builtIn;
  const mod = (await import(pathToFileURL(other).href)) as { replayEvents?: ReplayEvents };
  if (typeof mod.replayEvents !== 'function') throw new Error(`${other} does not export replayEvents()`);
  return mod.replayEvents;
}

export async function runSeed(seed: number, size: SizeName, dir: string, options: { keep?: boolean; log?: (msg: string) => void } = {}): Promise<SeedResult> {
  const log = options.log ?? (() => {});
  const events = join(dir, `events-${size}-${seed}.ndjson`);
  const files = { events, labels: join(dir, `labels-${size}-${seed}.ndjson`), novelties: join(dir, `novelties-${size}-${seed}.ndjson`) };
  const t0 = performance.now();
  let lastLog = 0;
  const sim = writeSimulation({ ...SIZES[size].simulate, seed }, files, (p) => {
    if (p.minutesDone - lastLog >= 24 * 60 || p.minutesDone === p.minutesTotal) {
      lastLog = p.minutesDone;
      log(`simulated ${Math.round(p.minutesDone / 1440)}/${Math.round(p.minutesTotal / 1440)} days, ${p.events.toLocaleString('en-US')} events`);
    }
  });
  const simulateMs = performance.now() - t0;
  const replayEvents = await loadReplay();
  const t1 = performance.now();
  const findings = await replayEvents(events, { onProgress: log });
  const replayMs = performance.now() - t1;
  if (!options.keep) rmSync(events, { force: true });
  return { seed, size, events: sim.events, labels: sim.labels, novelties: sim.novelties, skipped: sim.skipped, findings, simulateMs, replayMs };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seed: { type: 'string' }, size: { type: 'string' }, dir: { type: 'string' }, out: { type: 'string' }, keep: { type: 'boolean', default: false } } });
  const seed = Number(values.seed);
  const size = values.size as SizeName;
  if (!Number.isInteger(seed) || !(size in SIZES) || !values.dir || !values.out) {
    console.error('usage: run-seed.js --seed N --size small|full --dir DIR --out FILE.json [--keep]');
    process.exit(2);
  }
  const result = await runSeed(seed, size, values.dir, { keep: values.keep, log: (m) => process.stderr.write(`${m}\n`) });
  writeFileSync(values.out, JSON.stringify(result));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  });
}
