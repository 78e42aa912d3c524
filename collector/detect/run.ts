// detectRange(): every enabled detector over the windows of a time range, each compared with its baseline
// from the days before, as a live run at that time would have done. Findings come back sorted by window;
// the caller stores them (findings-store.ts) or prints them (tunnelwatch replay).
import { TunnelwatchError } from '../../common/errors.js';
import type { Store } from '../store/store.js';
import { resolveDetectionConfig, SEVERITY_RANK, type DetectionConfig, type ResolvedDetectionConfig } from './config.js';
import type { DetectContext } from './detector.js';
import { dedupeEntityTypes, toFindings } from './episodes.js';
import { DETECTORS, detectorDefaults } from './registry.js';
import { createScratch, dropStaleScratch } from './scratch.js';
import { n } from './sql.js';
import type { Finding } from './types.js';

export interface DetectRange {
  readonly from: Date;
  readonly to: Date;
}

export interface DetectorTiming {
  readonly detector: string;
  readonly ms: number;
  /** CPU this process used meanwhile (the JS thread and the embedded engine's threads; with a server store, only the JS side). */
  readonly cpuMs: number;
  readonly hits: number;
  readonly findings: number;
}

export interface DetectReport {
  readonly findings: Finding[];
  readonly timings: DetectorTiming[];
}

export function resolveConfig(config?: DetectionConfig): ResolvedDetectionConfig {
  const resolved = resolveDetectionConfig(config, detectorDefaults());
  for (const d of DETECTORS) {
    const window = resolved.detectors[d.id]?.window_minutes;
    if (d.fixedWindowMinutes !== undefined && window !== d.fixedWindowMinutes) {
      throw new TunnelwatchError('TW_ERR_CONFIG_INVALID', `detection: detectors.${d.id}.window_minutes must be ${d.fixedWindowMinutes}, got ${window}`);
    }
  }
  return resolved;
}

/** Time of the oldest audit event, or undefined for an empty store (answered from the partition min/max). */
export async function dataStartMs(store: Store): Promise<number | undefined> {
  const [row] = await store.query<{ t: string; c: string }>('SELECT toUnixTimestamp64Milli(min(ts)) AS t, count() AS c FROM audit_events');
  return row && n(row.c) > 0 ? n(row.t) : undefined;
}

export async function detectRange(store: Store, range: DetectRange, config?: DetectionConfig): Promise<Finding[]> {
  return (await detectRangeReport(store, range, config)).findings;
}

/** detectRange() with the time each detector took (bench/detect.ts, the live runner's log). */
export async function detectRangeReport(store: Store, range: DetectRange, config?: DetectionConfig): Promise<DetectReport> {
  // A resolved config is a complete DetectionConfig, so resolving it again changes nothing.
  const resolved = resolveConfig(config);
  const fromMs = range.from.getTime();
  const toMs = range.to.getTime();
  if (!(toMs > fromMs)) return { findings: [], timings: [] };
  const start = await dataStartMs(store);
  if (start === undefined) return { findings: [], timings: [] };
  await dropStaleScratch(store);
  const scratch = createScratch(store);
  const ctx: DetectContext = {
    store,
    fromMs,
    toMs,
    baselineDays: resolved.baseline_days,
    warmupDays: resolved.warmup_days,
    maxSamples: resolved.max_samples,
    dataStartMs: start,
    scratch,
  };
  const findings: Finding[] = [];
  const timings: DetectorTiming[] = [];
  const minRank = SEVERITY_RANK[resolved.min_severity];
  try {
    for (const detector of DETECTORS) {
      const params = resolved.detectors[detector.id];
      if (!params?.enabled) continue;
      const started = performance.now();
      const cpu0 = process.cpuUsage();
      const hits = dedupeEntityTypes(detector, await detector.detect(ctx, params));
      const found = toFindings(detector.id, hits, resolved.max_samples).filter((f) => SEVERITY_RANK[f.severity] >= minRank);
      findings.push(...found);
      const cpu = process.cpuUsage(cpu0);
      timings.push({ detector: detector.id, ms: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000, hits: hits.length, findings: found.length });
    }
  } finally {
    await scratch.drop();
  }
  findings.sort((a, b) => a.window_start.localeCompare(b.window_start) || a.detector.localeCompare(b.detector) || a.finding_id.localeCompare(b.finding_id));
  return { findings, timings };
}

