// The contracts of anomaly detection (issue 5), shared by the detectors, the live runner, `tunnelwatch
// replay`, `tunnelwatch simulate` and the evaluation harness. A Finding is the finding of
// shared/spec/audit-event-v1.md ("Findings"); a Label is what the simulator says it injected.

export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** A finding as the spec defines it (extend, never rename). */
export interface Finding {
  /** Stable for the same detector, entity and window: re-runs update, not duplicate. */
  readonly finding_id: string;
  readonly detector: string;
  readonly severity: Severity;
  /** 0-100 */
  readonly score: number;
  /** '' for cross-subaccount findings that name several in `entity`. */
  readonly subaccount: string;
  /** subaccount, cloud_app, principal, client_ip, backend, user_agent, ... */
  readonly entity_type: string;
  readonly entity: string;
  /** RFC 3339 UTC */
  readonly window_start: string;
  readonly window_end: string;
  /** One line a SOC analyst understands. */
  readonly title: string;
  /** The observed value, the baseline it was compared with, and the threshold. */
  readonly explanation: string;
  /** The figures behind it, and up to 20 sample event ids in `sample_event_ids`. */
  readonly evidence: Record<string, unknown> & { readonly sample_event_ids?: readonly string[] };
}

/**
 * One injected anomaly, as `tunnelwatch simulate --labels FILE` writes it (NDJSON, one per line). A
 * finding matches a label when its window overlaps [window_start - 5 min, window_end + 5 min], its
 * subaccount equals the label's (a cross-subaccount label has subaccount '' and then the finding's entity
 * must equal the label's entity), and, when the label has an entity, the finding names the same entity.
 */
export interface Label {
  /** The scenario that produced it, e.g. 'deny_burst'. */
  readonly scenario: string;
  /** The detector expected to flag it. */
  readonly detector: string;
  readonly subaccount: string;
  /** '' when the anomaly is the subaccount as a whole. */
  readonly entity_type: string;
  readonly entity: string;
  readonly window_start: string;
  readonly window_end: string;
  /** 'blatant' | 'moderate' | 'subtle' */
  readonly intensity: string;
  /** What was injected, for a reader of the labels file. */
  readonly description: string;
}
