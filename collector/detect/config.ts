// Detection settings: what every detector shares (baseline length, warm-up, how many sample events a finding
// carries) and each detector's own thresholds, all with documented defaults. A DetectionConfig may name
// any subset; resolveDetectionConfig() fills the rest from the registry's defaults and rejects unknown
// detectors and keys, so a typo in collector.yaml is an error, not a silently ignored threshold.
import { TunnelwatchError } from '../../common/errors.js';
import type { Severity } from './types.js';

/** One detector's knobs: `enabled`, `window_minutes` and its own thresholds (numbers). */
export type DetectorParams = { readonly enabled: boolean; readonly window_minutes: number } & Readonly<Record<string, number | boolean>>;

/** What a caller may set; every field is optional and falls back to the default documented here. */
export interface DetectionConfig {
  /** Days of history each window is compared with (default 14). */
  readonly baseline_days?: number;
  /**
   * Days of history an entity (or, for burst detectors, the store) needs before its baseline is trusted
   * (default 3). With less, baseline detectors stay quiet and burst detectors cap severity at medium;
   * the explanation says so.
   */
  readonly warmup_days?: number;
  /** Sample event ids per finding (default 20, at most 20 as the finding spec says). */
  readonly max_samples?: number;
  /** Findings below this severity are dropped (default 'low': keep all). */
  readonly min_severity?: Severity;
  /** Per detector id: `enabled`, `window_minutes` and its thresholds (docs/detectors.md). */
  readonly detectors?: Readonly<Record<string, Readonly<Record<string, number | boolean>>>>;
}

export interface ResolvedDetectionConfig {
  readonly baseline_days: number;
  readonly warmup_days: number;
  readonly max_samples: number;
  readonly min_severity: Severity;
  readonly detectors: Readonly<Record<string, DetectorParams>>;
}

export const DETECTION_DEFAULTS = { baseline_days: 14, warmup_days: 3, max_samples: 20, min_severity: 'low' as Severity };

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2, critical: 3 };

function invalid(message: string): TunnelwatchError {
  return new TunnelwatchError('TW_ERR_CONFIG_INVALID', `detection: ${message}`);
}

function wholeNumber(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Fills defaults. `defaults` maps each known detector id to its default parameters. */
export function resolveDetectionConfig(config: DetectionConfig | undefined, defaults: Readonly<Record<string, DetectorParams>>): ResolvedDetectionConfig {
  const c = config ?? {};
  const baselineDays = wholeNumber('baseline_days', c.baseline_days ?? DETECTION_DEFAULTS.baseline_days, 1, 365);
  const warmupDays = wholeNumber('warmup_days', c.warmup_days ?? DETECTION_DEFAULTS.warmup_days, 0, baselineDays);
  const maxSamples = wholeNumber('max_samples', c.max_samples ?? DETECTION_DEFAULTS.max_samples, 0, 20);
  const minSeverity = c.min_severity ?? DETECTION_DEFAULTS.min_severity;
  if (!(minSeverity in SEVERITY_RANK)) throw invalid(`min_severity must be low, medium, high or critical, got ${JSON.stringify(minSeverity)}`);
  const detectors: Record<string, DetectorParams> = {};
  for (const id of Object.keys(c.detectors ?? {})) {
    if (!(id in defaults)) throw invalid(`unknown detector "${id}" (known: ${Object.keys(defaults).join(', ')})`);
  }
  for (const [id, base] of Object.entries(defaults)) {
    const given = c.detectors?.[id] ?? {};
    const merged: Record<string, number | boolean> = { ...base };
    for (const [key, value] of Object.entries(given)) {
      const expected = base[key];
      if (expected === undefined) throw invalid(`detectors.${id}.${key} is not a setting of ${id} (known: ${Object.keys(base).join(', ')})`);
      if (typeof value !== typeof expected || (typeof value === 'number' && !(Number.isFinite(value) && value >= 0))) {
        throw invalid(`detectors.${id}.${key} must be ${typeof expected === 'boolean' ? 'true or false' : 'a number >= 0'}, got ${JSON.stringify(value)}`);
      }
      merged[key] = value;
    }
    const window = merged.window_minutes as number;
    if (!Number.isInteger(window) || window < 1 || 1440 % window !== 0) {
      throw invalid(`detectors.${id}.window_minutes must divide a day into whole windows (1, 5, 10, 15, 30, 60, ... 1440), got ${window}`);
    }
    // Further windows of a detector (long_window_minutes: slow bursts): 0 (none), or whole windows in a day.
    for (const [key, value] of Object.entries(merged)) {
      if (key === 'window_minutes' || !key.endsWith('window_minutes') || value === 0) continue;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || 1440 % value !== 0) {
        throw invalid(`detectors.${id}.${key} must be 0 (none) or divide a day into whole windows (60, 120, 180, 240, 360, 480, 720, 1440, ...), got ${JSON.stringify(value)}`);
      }
    }
    detectors[id] = merged as DetectorParams;
  }
  return { baseline_days: baselineDays, warmup_days: warmupDays, max_samples: maxSamples, min_severity: minSeverity, detectors };
}
