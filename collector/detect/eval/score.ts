// The scoring rule of issue 5. A labelled anomaly is detected when a finding
//   - overlaps its window widened by 5 minutes on each side,
//   - names its subaccount (a label with subaccount '' spans several subaccounts, or none: then the
//     finding's subaccount does not matter, its entity does),
//   - and names its entity, when the label has one (an alias of it counts: a backend as virtual or
//     internal host:port; a label whose entity is '' with an entity type, calls without a user agent,
//     needs a finding of that type naming '').
// Precision is the share of findings that match some label. A finding that names another identity the
// injected calls carried (`related` in the simulator's labels) also counts as matching: it found the same
// injected traffic from another angle. Detection delay is the earliest matching finding's window_end
// minus the label's window_start (never below 0).
import type { Finding, Label } from '../types.js';

export const TOLERANCE_MS = 5 * 60_000;

/** A label as scored: the simulator's extras are optional, so hand-written labels work too. */
export type ScoredLabel = Label & {
  readonly id?: string;
  readonly entity_aliases?: readonly string[];
  readonly related?: readonly { readonly subaccount: string; readonly entity_type: string; readonly entity: string }[];
};

function ms(iso: string): number {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`not an RFC 3339 time: ${JSON.stringify(iso)}`);
  return t;
}

export function overlaps(finding: Pick<Finding, 'window_start' | 'window_end'>, label: Pick<Label, 'window_start' | 'window_end'>): boolean {
  return ms(finding.window_start) <= ms(label.window_end) + TOLERANCE_MS && ms(finding.window_end) >= ms(label.window_start) - TOLERANCE_MS;
}

function sameSubaccount(finding: Finding, subaccount: string): boolean {
  return subaccount === '' || finding.subaccount === subaccount;
}

/**
 * The rule for recall: this finding detects this label. A label without entity type and entity is about
 * the subaccount as a whole; one with an entity type and the entity '' (calls without a user agent) needs
 * a finding of that type naming ''.
 */
export function detects(finding: Finding, label: ScoredLabel): boolean {
  if (!overlaps(finding, label) || !sameSubaccount(finding, label.subaccount)) return false;
  if (label.entity === '' && label.entity_type === '') return true;
  if (label.entity === '') return finding.entity === '' && finding.entity_type === label.entity_type;
  return finding.entity === label.entity || (label.entity_aliases ?? []).includes(finding.entity);
}

/** The rule for precision: this finding is about this label's injected traffic. */
export function explainedBy(finding: Finding, label: ScoredLabel): boolean {
  if (detects(finding, label)) return true;
  if (!overlaps(finding, label)) return false;
  return (label.related ?? []).some((r) => sameSubaccount(finding, r.subaccount) && finding.entity === r.entity);
}

export interface Tally {
  readonly labels: number;
  readonly detected: number;
  /** null when there are no labels. */
  readonly recall: number | null;
  readonly findings: number;
  readonly truePositives: number;
  /** null when there are no findings. */
  readonly precision: number | null;
  /** Detection delays (ms) of the detected labels. */
  readonly delaysMs: readonly number[];
}

export interface LabelOutcome {
  readonly label: ScoredLabel;
  readonly detected: boolean;
  readonly delayMs: number | null;
  /** Detectors whose findings detected it. */
  readonly by: readonly string[];
}

export interface FindingOutcome {
  readonly finding: Finding;
  readonly matched: boolean;
}

export interface Score {
  readonly overall: Tally;
  /** Recall grouped by the label's detector, precision by the finding's detector. */
  readonly byDetector: ReadonlyMap<string, Tally>;
  readonly byIntensity: ReadonlyMap<string, Tally>;
  readonly labels: readonly LabelOutcome[];
  readonly findings: readonly FindingOutcome[];
}

function tally(labels: readonly LabelOutcome[], findings: readonly FindingOutcome[]): Tally {
  const detected = labels.filter((l) => l.detected);
  const tp = findings.filter((f) => f.matched).length;
  return {
    labels: labels.length,
    detected: detected.length,
    recall: labels.length === 0 ? null : detected.length / labels.length,
    findings: findings.length,
    truePositives: tp,
    precision: findings.length === 0 ? null : tp / findings.length,
    delaysMs: detected.map((l) => l.delayMs as number),
  };
}

export function scoreFindings(findings: readonly Finding[], labels: readonly ScoredLabel[]): Score {
  const labelOutcomes: LabelOutcome[] = labels.map((label) => {
    const hits = findings.filter((f) => detects(f, label));
    if (hits.length === 0) return { label, detected: false, delayMs: null, by: [] };
    const firstEnd = Math.min(...hits.map((f) => ms(f.window_end)));
    return { label, detected: true, delayMs: Math.max(0, firstEnd - ms(label.window_start)), by: [...new Set(hits.map((f) => f.detector))].sort() };
  });
  const findingOutcomes: FindingOutcome[] = findings.map((finding) => ({ finding, matched: labels.some((l) => explainedBy(finding, l)) }));
  const detectors = [...new Set([...labels.map((l) => l.detector), ...findings.map((f) => f.detector)])].sort();
  const byDetector = new Map(detectors.map((d) => [d, tally(labelOutcomes.filter((l) => l.label.detector === d), findingOutcomes.filter((f) => f.finding.detector === d))]));
  const intensities = [...new Set(labels.map((l) => l.intensity))].sort();
  const byIntensity = new Map(intensities.map((i) => [i, tally(labelOutcomes.filter((l) => l.label.intensity === i), [])]));
  return { overall: tally(labelOutcomes, findingOutcomes), byDetector, byIntensity, labels: labelOutcomes, findings: findingOutcomes };
}

/** Several runs (seeds) scored together: counts add up, delays pool. */
export function mergeTallies(tallies: readonly Tally[]): Tally {
  const labels = tallies.reduce((a, t) => a + t.labels, 0);
  const detected = tallies.reduce((a, t) => a + t.detected, 0);
  const findings = tallies.reduce((a, t) => a + t.findings, 0);
  const tp = tallies.reduce((a, t) => a + t.truePositives, 0);
  return {
    labels, detected, recall: labels === 0 ? null : detected / labels,
    findings, truePositives: tp, precision: findings === 0 ? null : tp / findings,
    delaysMs: tallies.flatMap((t) => t.delaysMs),
  };
}

/** The q-quantile (0..1) of a list, nearest rank; null when empty. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}
