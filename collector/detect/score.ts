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

/**
 * The normal deviate with the same upper tail as P(X >= k) for X ~ Binomial(n, p): a binomial z that stays
 * honest for small expected counts, where (k - np) / sqrt(np(1 - p)) overstates rarity by far (3 of 30
 * calls against 0.5 % is 7.4 by it, 3.3 exactly). For large counts the two agree. At or below the mean, the
 * approximation is returned (nothing is judged there).
 */
export function binomialZ(k: number, n: number, p: number): number {
  if (n <= 0 || p <= 0 || p >= 1) return 0;
  const mean = n * p;
  if (k <= mean) return (k - mean) / Math.sqrt(mean * (1 - p));
  // log P(X = k), then the terms above it by the ratio of neighbours, summed in log space.
  const logTerm0 = logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p);
  const odds = p / (1 - p);
  let sum = 1;
  let term = 1;
  for (let i = k; i < n; i++) {
    term *= ((n - i) / (i + 1)) * odds;
    sum += term;
    if (term < sum * 1e-15) break;
  }
  return -normalQuantileFromLog(logTerm0 + Math.log(sum));
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7; ~15 significant digits). */
function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const y = x - 1;
  let a = c[0] as number;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * The standard normal quantile of probability exp(logP), for the lower half that upper tails beyond the
 * mean map to (Acklam's rational approximation; logP may be far below the smallest double).
 */
function normalQuantileFromLog(logP: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const poly = (k: readonly number[], x: number) => k.reduce((acc, v) => acc * x + v, 0);
  if (logP < Math.log(0.02425)) {
    const q = Math.sqrt(-2 * logP);
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = Math.min(Math.exp(logP), 0.5) - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}
