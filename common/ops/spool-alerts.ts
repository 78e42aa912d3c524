// Spool filling (docs/alerts.md): the audit spool holds events the collector has not acknowledged; when it
// is full, calls are refused (spool_full: refuse) or the oldest events stop being shipped (drop_oldest).
// An operator must hear of it before that: medium at 80 % fill, high once full (calls refused, or events
// dropped); resolved when the fill is back below 60 % (the gap keeps a spool hovering at 80 % from
// alerting on every check).
import type { ShipperMetrics } from '../audit/shipper-metrics.js';
import type { OpsEvent, OpsSeverity } from './ops-events.js';

export const SPOOL_FIRE_RATIO = 0.8;
export const SPOOL_CLEAR_RATIO = 0.6;

type Metrics = Pick<ShipperMetrics, 'spool_fill_ratio' | 'spool_bytes' | 'spool_max_bytes' | 'refusing' | 'unshipped_events' | 'last_error' | 'last_success_time'>;

const RANK: Record<OpsSeverity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

/** The state of one emitter's spool alert; observe() says what changed. */
export class SpoolWatch {
  private episode: { since: string; severity: OpsSeverity } | undefined;
  private observed = false;

  constructor(private readonly subject: string) {}

  observe(m: Metrics | undefined, now: Date): OpsEvent[] {
    if (!m) return [];
    const at = now.toISOString();
    const first = !this.observed;
    this.observed = true;
    // Full is high under either policy: refuse turns calls away, drop_oldest gives up shipping events.
    const level: OpsSeverity | undefined = m.refusing || m.spool_fill_ratio >= 1 ? 'high' : m.spool_fill_ratio >= SPOOL_FIRE_RATIO ? 'medium' : undefined;
    const detail = {
      fill_ratio: Math.round(m.spool_fill_ratio * 1000) / 1000,
      spool_bytes: m.spool_bytes,
      spool_max_bytes: m.spool_max_bytes,
      refusing: m.refusing,
      unshipped_events: m.unshipped_events,
      last_error: m.last_error ?? '',
      last_success_at: m.last_success_time === null ? '' : new Date(m.last_success_time).toISOString(),
    };
    const e = this.episode;
    if (!e) {
      if (level) {
        this.episode = { since: at, severity: level };
        return [{ type: 'spool_filling', state: 'firing', at, since: at, subject: this.subject, episode: at, severity: level, detail }];
      }
      // An earlier run of this process may have left an alert open.
      return first ? [{ type: 'spool_filling', state: 'resolved', at, subject: this.subject, detail }] : [];
    }
    if (level && RANK[level] > RANK[e.severity]) {
      e.severity = level;
      return [{ type: 'spool_filling', state: 'firing', at, since: e.since, subject: this.subject, episode: e.since, severity: level, detail }];
    }
    if (!m.refusing && m.spool_fill_ratio < SPOOL_CLEAR_RATIO) {
      this.episode = undefined;
      return [{ type: 'spool_filling', state: 'resolved', at, since: e.since, subject: this.subject, episode: e.since, severity: e.severity, detail }];
    }
    return [];
  }
}

export interface SpoolAlertsOptions {
  /** The emitter id: the alert's subject. */
  readonly subject: string;
  /** The shipper's metrics; undefined without a collector (no spool then). */
  readonly metrics: () => Metrics | undefined;
  readonly report: (event: OpsEvent) => void;
  readonly intervalMs: number;
  readonly now?: () => Date;
}

export interface Stoppable {
  stop(): void;
}

/** Checks the spool at start and every intervalMs. */
export function startSpoolAlerts(o: SpoolAlertsOptions): Stoppable {
  const watch = new SpoolWatch(o.subject);
  const now = o.now ?? (() => new Date());
  const tick = (): void => {
    for (const e of watch.observe(o.metrics(), now())) o.report(e);
  };
  tick();
  const timer = setInterval(tick, o.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
