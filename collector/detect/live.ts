// Live detection: every interval, the detectors judge the windows of the last `lookback` before now minus
// a settle delay (late events of a window arrive first), and the findings are stored. Re-judging a window
// gives the same finding id, so a window that fills up updates its finding; an episode that goes on past
// the lookback continues the finding stored for its beginning instead of starting a new one. Runs never
// overlap: a tick that comes while the previous run is busy is skipped.
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { DetectionConfig } from './config.js';
import { readFindings, writeFindings, type WriteResult } from './findings-store.js';
import { detectRangeReport, resolveConfig } from './run.js';
import { MINUTE_MS } from './sql.js';
import type { Finding } from './types.js';

export interface LiveOptions {
  readonly store: Store;
  readonly config?: DetectionConfig;
  /** Time between runs (default 60 s). */
  readonly intervalMs?: number;
  /** How far behind now a run ends (default 30 s). */
  readonly settleMs?: number;
  /** Windows re-judged by each run (default 2 h; at least the longest detector window). */
  readonly lookbackMs?: number;
  /** After a pause (collector stopped), at most this much is caught up (default 24 h). */
  readonly maxCatchUpMs?: number;
  readonly log?: Logger;
  readonly now?: () => number;
  /** New and changed findings of each run, e.g. for the exporters. */
  readonly onFindings?: (result: WriteResult) => void | Promise<void>;
}

export interface LiveRun {
  readonly from: string;
  readonly to: string;
  readonly ms: number;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
}

export interface LiveDetector {
  start(): void;
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
  /** One run now (also what each tick does). */
  runOnce(): Promise<LiveRun | undefined>;
  readonly lastRun: LiveRun | undefined;
}

export function createLiveDetector(options: LiveOptions): LiveDetector {
  const config = resolveConfig(options.config);
  const intervalMs = options.intervalMs ?? 60_000;
  const settleMs = options.settleMs ?? 30_000;
  const longestWindow = Math.max(...Object.values(config.detectors).map((d) => d.window_minutes)) * MINUTE_MS;
  const lookbackMs = Math.max(options.lookbackMs ?? 2 * 3_600_000, longestWindow);
  const maxCatchUpMs = Math.max(options.maxCatchUpMs ?? 86_400_000, lookbackMs);
  const now = options.now ?? Date.now;
  const log = options.log;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<LiveRun | undefined> | undefined;
  let lastEnd: number | undefined;
  let lastRun: LiveRun | undefined;

  const run = async (): Promise<LiveRun | undefined> => {
    const started = performance.now();
    const to = now() - settleMs;
    const from = Math.max(to - maxCatchUpMs, Math.min(to - lookbackMs, (lastEnd ?? to) - lookbackMs));
    const report = await detectRangeReport(options.store, { from: new Date(from), to: new Date(to) }, config);
    const findings = await continueEpisodes(options.store, report.findings, config.detectors);
    const result = await writeFindings(options.store, findings);
    lastEnd = to;
    lastRun = { from: new Date(from).toISOString(), to: new Date(to).toISOString(), ms: Math.round(performance.now() - started), created: result.created.length, updated: result.updated.length, unchanged: result.unchanged };
    log?.info({ ...lastRun, timings: report.timings.map((t) => ({ detector: t.detector, ms: Math.round(t.ms), findings: t.findings })) }, 'detection run');
    if (result.created.length + result.updated.length > 0) await options.onFindings?.(result);
    return lastRun;
  };

  const runOnce = (): Promise<LiveRun | undefined> => {
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    start() {
      if (timer) return;
      timer = setInterval(() => {
        if (running) return;
        runOnce().catch((err: unknown) => log?.error({ err }, 'detection run failed; the next tick tries again'));
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
    runOnce,
    get lastRun() {
      return lastRun;
    },
  };
}

/**
 * A finding that starts where (or before) a stored finding of the same detector and entity ends is the
 * same episode seen through a later lookback: it takes the stored id and start.
 */
export async function continueEpisodes(store: Store, findings: readonly Finding[], detectors: Readonly<Record<string, { window_minutes: number }>>): Promise<Finding[]> {
  if (findings.length === 0) return [];
  const key = (f: Finding) => `${f.detector}\u0000${f.subaccount}\u0000${f.entity_type}\u0000${f.entity}`;
  const earliest = Math.min(...findings.map((f) => Date.parse(f.window_start)));
  const gapMs = Math.max(...Object.values(detectors).map((d) => d.window_minutes)) * MINUTE_MS;
  const stored = await readFindings(store, { from: new Date(earliest - gapMs), to: new Date(Math.max(...findings.map((f) => Date.parse(f.window_start))) + 1), detectors: [...new Set(findings.map((f) => f.detector))], limit: 100_000 });
  const byKey = new Map<string, Finding[]>();
  for (const s of stored) {
    const list = byKey.get(key(s));
    if (list) list.push(s);
    else byKey.set(key(s), [s]);
  }
  return findings.map((f) => {
    const start = Date.parse(f.window_start);
    const window = (detectors[f.detector]?.window_minutes ?? 60) * MINUTE_MS;
    const before = (byKey.get(key(f)) ?? [])
      .filter((s) => s.finding_id !== f.finding_id && Date.parse(s.window_start) < start && Date.parse(s.window_end) >= start - window)
      .sort((a, b) => Date.parse(a.window_start) - Date.parse(b.window_start))[0];
    if (!before) return f;
    const end = Math.max(Date.parse(f.window_end), Date.parse(before.window_end));
    return { ...f, finding_id: before.finding_id, window_start: before.window_start, window_end: new Date(end).toISOString() };
  });
}
