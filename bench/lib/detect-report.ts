// The "Detection sweep" section of docs/benchmarks.md (bench/detect.ts): the sweeps' wall and CPU time
// next to the raw engine's plain scan of the same columns in the same run, and the time per detector.
import type { DetectorTiming } from '../../collector/detect/run.js';
import type { MachineInfo } from './machine.js';

export interface SweepResult {
  readonly name: string;
  /** Median run by wall time, with its per-detector timings. */
  readonly ms: number;
  readonly cpuMs: number;
  readonly worstMs: number;
  readonly findings: number;
  readonly timings: readonly DetectorTiming[];
  readonly otherLoadPct: number;
}

export interface DetectBenchReport {
  readonly command: string;
  readonly startedAt: string;
  readonly machine: MachineInfo;
  readonly chdb: string;
  readonly events: number;
  readonly days: number;
  readonly runs: number;
  readonly targetMs: number;
  readonly sweeps: readonly SweepResult[];
  /** One plain GROUP BY over audit_events reading every column the detectors read (median of runs). */
  readonly baseline: { readonly ms: number; readonly cpuMs: number; readonly sql: string; readonly otherLoadPct: number };
  readonly maxRssMb: number;
}

const ms = (x: number) => `${Math.round(x).toLocaleString('en-US')} ms`;

export function detectSection(r: DetectBenchReport): string {
  const [full] = r.sweeps;
  const met = full !== undefined && full.ms <= r.targetMs;
  const detectorIds = [...new Set(r.sweeps.flatMap((s) => s.timings.map((t) => t.detector)))];
  return [
    '## Detection sweep',
    '',
    `\`${r.command}\` — ${r.startedAt}`,
    '',
    `Machine: ${r.machine.cpus} CPUs (${r.machine.cpuModel}), ${r.machine.memoryGb} GB RAM, Node ${r.machine.node}, chDB ${r.chdb} (embedded, in this process; max_threads 2).`,
    '',
    `Store: ${r.events.toLocaleString('en-US')} generated audit events over ${r.days} days (bench/lib/query-data.ts: 40 subaccounts of Zipf-like sizes, ~200 apps, ~16,000 principals, ~2,000 client IPs, ~7 % denied; no injected anomalies), rollups filled by their views, parts merged.`,
    `Every detector with its defaults (baseline 14 days, warm-up 3). The **full range** judges every window of the store, as \`tunnelwatch replay\` does; the **live run** judges the last two hours against 14 days, as the live detector does each minute.`,
    `${r.runs} runs of each after one warm-up; the median run (by wall time) is shown. CPU is what this process used (JS thread and engine threads), which other processes on the machine disturb less than wall time.`,
    `The baseline is the raw engine scanning the same columns once, in the same run: \`${r.baseline.sql}\`.`,
    '',
    '| sweep | wall (median) | worst | CPU | vs baseline (wall) | findings | other load | ≤ 5 s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    `| baseline: one plain scan | ${ms(r.baseline.ms)} | | ${ms(r.baseline.cpuMs)} | 1.00× | | ${r.baseline.otherLoadPct.toFixed(0)}% | |`,
    ...r.sweeps.map((s) => `| ${s.name} | ${ms(s.ms)} | ${ms(s.worstMs)} | ${ms(s.cpuMs)} | ${(s.ms / r.baseline.ms).toFixed(2)}× | ${s.findings} | ${s.otherLoadPct.toFixed(0)}% | ${s === full ? (met ? 'yes' : '**no**') : ''} |`),
    '',
    'Per detector (wall / CPU of the median run; a shared per-sweep aggregate of `facts.ts` is counted in the first detector that reads it: `app_half` in volume_spike, `refused` in deny_burst, `principal_day` in off_hours, `user_agent_day` in cross_subaccount):',
    '',
    `| detector | ${r.sweeps.map((s) => `${s.name} wall | CPU`).join(' | ')} |`,
    `| --- | ${r.sweeps.map(() => '---: | ---:').join(' | ')} |`,
    ...detectorIds.map((id) => `| ${id} | ${r.sweeps.map((s) => {
      const t = s.timings.find((x) => x.detector === id);
      return t ? `${ms(t.ms)} | ${ms(t.cpuMs)}` : ' | ';
    }).join(' | ')} |`),
    '',
    `Target (issue 5): a sweep over 10 million events in 5 s or less — ${met ? 'met' : `**not met** (${full ? ms(full.ms) : 'no run'})`}.`,
    `Peak RSS: ${Math.round(r.maxRssMb).toLocaleString('en-US')} MB.`,
    '',
  ].join('\n');
}
