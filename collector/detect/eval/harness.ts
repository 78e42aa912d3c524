// runEvaluation(): every seed in its own process (run-seed.ts), `jobs` at a time, then one score over all
// of them: per seed the findings are matched with that seed's labels, and the counts add up.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { falsePositives, misses, type FalsePositive, type Miss } from './attribute.js';
import type { SeedResult } from './run-seed.js';
import { mergeTallies, scoreFindings, type Score, type Tally } from './score.js';
import { SIZES, TARGETS, type SizeName } from './sizes.js';

export interface EvalOptions {
  readonly size: SizeName;
  readonly seeds?: readonly number[];
  /** Seeds run at the same time (default 1: the engine already uses both cores). */
  readonly jobs?: number;
  /** Keep the event files (in `dir`). */
  readonly keep?: boolean;
  readonly dir?: string;
  readonly log?: (line: string) => void;
}

export interface SeedReport {
  readonly seed: number;
  readonly events: number;
  readonly labels: number;
  readonly findings: number;
  readonly skipped: readonly string[];
  readonly score: Score;
  readonly simulateMs: number;
  readonly replayMs: number;
}

export interface EvalReport {
  readonly size: SizeName;
  readonly seeds: readonly number[];
  readonly perSeed: readonly SeedReport[];
  readonly overall: Tally;
  readonly byDetector: ReadonlyMap<string, Tally>;
  readonly byIntensity: ReadonlyMap<string, Tally>;
  /** Recall of each detector's labels by intensity. */
  readonly byDetectorIntensity: ReadonlyMap<string, ReadonlyMap<string, Tally>>;
  /** Recall of each scenario's labels (several scenarios may share a detector) by intensity, with the scenario's detector. */
  readonly byScenarioIntensity: ReadonlyMap<string, { readonly detector: string; readonly tallies: ReadonlyMap<string, Tally> }>;
  readonly falsePositives: readonly (FalsePositive & { seed: number })[];
  readonly misses: readonly (Miss & { seed: number })[];
  readonly met: { readonly recall: boolean; readonly precision: boolean };
  readonly wallMs: number;
}

const WORKER = fileURLToPath(new URL('./run-seed.js', import.meta.url));

function runChild(seed: number, size: SizeName, dir: string, keep: boolean, log: (line: string) => void): Promise<SeedResult> {
  const out = join(dir, `result-${size}-${seed}.json`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, '--seed', String(seed), '--size', size, '--dir', dir, '--out', out, ...(keep ? ['--keep'] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
    let tail = '';
    let partial = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        tail = (tail + line + '\n').slice(-4000);
        if (line.trim() !== '') log(`seed ${seed}: ${line.replace(/\r/g, '')}`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`seed ${seed} failed (exit ${code}):\n${tail}${partial}`));
      try {
        resolve(JSON.parse(readFileSync(out, 'utf8')) as SeedResult);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

function mergeMaps(maps: readonly ReadonlyMap<string, Tally>[]): Map<string, Tally> {
  const keys = [...new Set(maps.flatMap((m) => [...m.keys()]))].sort();
  return new Map(keys.map((k) => [k, mergeTallies(maps.map((m) => m.get(k)).filter((t): t is Tally => t !== undefined))]));
}

export async function runEvaluation(options: EvalOptions): Promise<EvalReport> {
  const started = performance.now();
  const size = SIZES[options.size];
  const seeds = options.seeds ?? size.seeds;
  const log = options.log ?? (() => {});
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tw-eval-'));
  const results: SeedResult[] = [];
  try {
    const queue = seeds.slice();
    const jobs = Math.max(1, Math.min(options.jobs ?? 1, queue.length));
    await Promise.all(Array.from({ length: jobs }, async () => {
      for (let seed = queue.shift(); seed !== undefined; seed = queue.shift()) {
        results.push(await runChild(seed, options.size, dir, options.keep === true, log));
      }
    }));
  } finally {
    if (ownDir && !options.keep) rmSync(dir, { recursive: true, force: true });
  }
  results.sort((a, b) => a.seed - b.seed);
  const perSeed: SeedReport[] = results.map((r) => ({
    seed: r.seed, events: r.events, labels: r.labels.length, findings: r.findings.length, skipped: r.skipped,
    score: scoreFindings(r.findings, r.labels), simulateMs: r.simulateMs, replayMs: r.replayMs,
  }));
  const overall = mergeTallies(perSeed.map((s) => s.score.overall));
  const byDetectorIntensity = new Map<string, Map<string, Tally>>();
  for (const detector of new Set(results.flatMap((r) => r.labels.map((l) => l.detector)))) {
    byDetectorIntensity.set(detector, mergeMaps(results.map((r) => scoreFindings(r.findings, r.labels.filter((l) => l.detector === detector)).byIntensity)));
  }
  const byScenarioIntensity = new Map<string, { detector: string; tallies: Map<string, Tally> }>();
  for (const scenario of [...new Set(results.flatMap((r) => r.labels.map((l) => l.scenario)))].sort()) {
    const detector = results.flatMap((r) => r.labels).find((l) => l.scenario === scenario)?.detector ?? '';
    byScenarioIntensity.set(scenario, { detector, tallies: mergeMaps(results.map((r) => scoreFindings(r.findings, r.labels.filter((l) => l.scenario === scenario)).byIntensity)) });
  }
  return {
    size: options.size,
    seeds,
    perSeed,
    overall,
    byDetector: mergeMaps(perSeed.map((s) => s.score.byDetector)),
    byIntensity: mergeMaps(perSeed.map((s) => s.score.byIntensity)),
    byDetectorIntensity,
    byScenarioIntensity,
    falsePositives: results.flatMap((r, i) => falsePositives((perSeed[i] as SeedReport).score, r.labels, r.novelties).map((fp) => ({ ...fp, seed: r.seed }))),
    misses: results.flatMap((r, i) => misses((perSeed[i] as SeedReport).score, r.findings).map((m) => ({ ...m, seed: r.seed }))),
    met: { recall: (overall.recall ?? 0) >= TARGETS.recall, precision: (overall.precision ?? 0) >= TARGETS.precision },
    wallMs: performance.now() - started,
  };
}
