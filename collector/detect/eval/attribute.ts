// Why a finding matched no label, and what detectors said instead of a label they missed: what a
// developer tuning a detector needs to read first.
import type { Novelty } from '../simulate/world.js';
import type { Finding } from '../types.js';
import { overlaps, type Score, type ScoredLabel } from './score.js';

export type FalsePositiveCause =
  /** during a benign novelty of the same subaccount (release, month_end, holiday, maintenance; dst last) */
  | `novelty:${Novelty['kind']}`
  /** during a label of the same subaccount, but naming an identity the injected calls did not concentrate on */
  | 'beside_label'
  /** plain normal traffic */
  | 'normal_traffic';

export interface FalsePositive {
  readonly finding: Finding;
  readonly cause: FalsePositiveCause;
  /** The novelty or label it overlapped. */
  readonly near?: string;
}

export interface Miss {
  readonly label: ScoredLabel;
  /** Findings in the same subaccount and window that named something else. */
  readonly instead: readonly Finding[];
}

export function falsePositives(score: Score, labels: readonly ScoredLabel[], novelties: readonly Novelty[]): FalsePositive[] {
  return score.findings.filter((f) => !f.matched).map(({ finding }) => {
    // The week after a daylight-saving change is broad: it explains a finding only when nothing narrower does.
    const on = (broad: boolean) => novelties.find((n) => (n.kind === 'dst') === broad && n.subaccount === finding.subaccount && overlaps(finding, n));
    const novelty = on(false);
    if (novelty) return { finding, cause: `novelty:${novelty.kind}` as const, near: novelty.description };
    const label = labels.find((l) => (l.subaccount === '' || l.subaccount === finding.subaccount) && overlaps(finding, l));
    if (label) return { finding, cause: 'beside_label' as const, near: label.id ?? `${label.detector} ${label.entity}` };
    const dst = on(true);
    if (dst) return { finding, cause: 'novelty:dst' as const, near: dst.description };
    return { finding, cause: 'normal_traffic' as const };
  });
}

export function misses(score: Score, findings: readonly Finding[]): Miss[] {
  return score.labels.filter((l) => !l.detected).map(({ label }) => ({
    label,
    instead: findings.filter((f) => (label.subaccount === '' || f.subaccount === label.subaccount) && overlaps(f, label)),
  }));
}
