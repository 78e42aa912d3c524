// The shape of a detector: a registry entry (collector/detect/registry.ts) that, given a time range and its
// parameters, asks ClickHouse about the windows of that range and returns hits, one per unusual entity
// and window. detectRange() merges adjacent hits of one entity into a finding (episodes.ts), so a
// detector only reasons about one window at a time.
import type { Store } from '../store/store.js';
import type { DetectorParams } from './config.js';
import type { Scratch } from './scratch.js';
import type { Severity } from './types.js';

/** What every detector of one sweep shares. Times are ms since the epoch, UTC. */
export interface DetectContext {
  readonly store: Store;
  /** Windows whose start lies in [fromMs, toMs) are judged. */
  readonly fromMs: number;
  readonly toMs: number;
  readonly baselineDays: number;
  readonly warmupDays: number;
  readonly maxSamples: number;
  /** Time of the oldest audit event the store holds (bounds every baseline: nothing is known before it). */
  readonly dataStartMs: number;
  /** Tables shared by the detectors of this sweep (scratch.ts, refused.ts). */
  readonly scratch: Scratch;
}

/** One unusual entity in one window, with the figures that make it unusual. */
export interface Hit {
  readonly subaccount: string;
  readonly entity_type: string;
  readonly entity: string;
  /** Start of the window on the detector's grid (multiples of window_minutes since the epoch). */
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  /** 0-100 */
  readonly score: number;
  /** Highest severity allowed (warm-up, or a detector that only ever warns); none = by score. */
  readonly maxSeverity?: Severity;
  readonly title: string;
  readonly explanation: string;
  /** Figures behind the hit; `observed` is the value compared (used to tell one burst seen through two entities). */
  readonly evidence: Record<string, unknown> & { readonly observed: number };
  readonly sampleEventIds?: readonly string[];
}

export interface Detector {
  readonly id: string;
  /** One line for docs and the CLI. */
  readonly summary: string;
  /** Defaults of every parameter (docs/detectors.md lists them with `paramDocs`). */
  readonly defaults: DetectorParams;
  readonly paramDocs: Readonly<Record<string, string>>;
  /**
   * When one burst shows through several entity types (the app, the principal and the client IP of one
   * scanner), only one hit is kept: an entity new to the subaccount first, then the type listed first,
   * then the highest score (episodes.ts).
   */
  readonly entityPreference?: readonly string[];
  /** A detector whose baseline only makes sense for one window length (off_hours: 60). */
  readonly fixedWindowMinutes?: number;
  detect(ctx: DetectContext, params: DetectorParams): Promise<Hit[]>;
}
