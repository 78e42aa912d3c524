// Score and severity of a finding, the same rule for every detector (docs/detectors.md, "Severity and
// score"): a detector-specific base score at its threshold, rising with how far past the threshold the
// observed value is (20 points per doubling), cut at 100; severity by score band, capped where a detector
// (or a short baseline) does not warrant more.
import { SEVERITY_RANK } from './config.js';
import type { Severity } from './types.js';

/** Score bands: critical >= 85, high >= 65, medium >= 40, else low. */
export function severityOfScore(score: number): Severity {
  if (score >= 85) return 'critical';
  if (score >= 65) return 'high';
  if (score >= 40) return 'medium';
  return 'low';
}

export function capSeverity(severity: Severity, max: Severity | undefined): Severity {
  if (max === undefined) return severity;
  return SEVERITY_RANK[severity] > SEVERITY_RANK[max] ? max : severity;
}

/** The score band's upper edge for a cap, so score and severity never disagree. */
const MAX_SCORE: Readonly<Record<Severity, number>> = { low: 39, medium: 64, high: 84, critical: 100 };

export function capScore(score: number, max: Severity | undefined): number {
  return max === undefined ? score : Math.min(score, MAX_SCORE[max]);
}

/**
 * `base` at the threshold (ratio 1), +20 per doubling of observed / threshold, within [1, 100]. Rounded to
 * a whole number so that re-runs over the same data give the same score.
 */
export function scoreOf(base: number, ratioToThreshold: number): number {
  const ratio = Number.isFinite(ratioToThreshold) && ratioToThreshold > 0 ? ratioToThreshold : 1;
  return Math.max(1, Math.min(100, Math.round(base + 20 * Math.log2(Math.max(1, ratio)))));
}

/** Median of a list (mean of the middle two for an even count); 0 for an empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Median absolute deviation from the median. */
export function mad(values: readonly number[], center = median(values)): number {
  return median(values.map((v) => Math.abs(v - center)));
}

/** Rounds for display: whole numbers stay whole, others keep 2 significant decimals. */
export function fmt(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(value >= 10 ? 1 : 2);
}

export function fmtBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function plural(count: number, word: string, pluralWord = `${word}s`): string {
  return `${fmt(count)} ${count === 1 ? word : pluralWord}`;
}
