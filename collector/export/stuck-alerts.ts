// Exporter stuck (docs/alerts.md): an exporter with records waiting that has not delivered anything for
// export.stuck_after_s. Read from the exporters' health inside the collector and fed straight to the ops
// ingest (collector/diagnostics/ops-findings.ts): the finding goes out through every exporter, so the SIEM
// hears of a stuck one through those that still deliver.
//
// "Waiting" means the oldest undelivered record is itself older than stuck_after_s: the settle margin always
// holds back the newest seconds, and an idle exporter's last success may be old when a new record arrives.
// An exporter that delivers but is far behind (catching up after an outage) is not stuck.
import { hostname } from 'node:os';
import type { Logger } from '../../common/log.js';
import type { OpsEvent } from '../../common/ops/ops-events.js';
import type { OpsIngest } from '../diagnostics/ops-findings.js';
import type { ExporterHealth, ExporterHealthSource } from './health.js';

type Health = Pick<ExporterHealth, 'name' | 'type' | 'state' | 'streams' | 'last_success_at' | 'last_error'>;

/** The stuck state of every exporter; observe() says what changed. */
export class StuckWatch {
  private readonly open = new Map<string, string>();
  private readonly observed = new Set<string>();

  constructor(private readonly stuckAfterS: number, private readonly startedAt: Date) {}

  observe(health: readonly Health[], now: Date): OpsEvent[] {
    const events: OpsEvent[] = [];
    const at = now.toISOString();
    const limitMs = this.stuckAfterS * 1000;
    for (const h of health) {
      const lag = h.streams.reduce((n, s) => n + s.lag_records, 0);
      const oldest = Math.max(0, ...h.streams.map((s) => (s.lag_records > 0 ? s.lag_seconds : 0)));
      const lastSuccess = h.last_success_at ? Date.parse(h.last_success_at) : undefined;
      const quietSince = Math.max(lastSuccess ?? 0, this.startedAt.getTime());
      const stuck = h.state !== 'disabled' && lag > 0 && oldest * 1000 >= limitMs && now.getTime() - quietSince >= limitMs;
      const detail = {
        type: h.type, exporter_state: h.state, lag_records: lag, lag_seconds: oldest, stuck_after_s: this.stuckAfterS,
        last_success_at: h.last_success_at ?? '', last_error: h.last_error?.reason ?? '', last_error_kind: h.last_error?.kind ?? '',
      };
      const first = !this.observed.has(h.name);
      this.observed.add(h.name);
      const episode = this.open.get(h.name);
      if (stuck && !episode) {
        const since = new Date(quietSince).toISOString();
        this.open.set(h.name, since);
        events.push({ type: 'exporter_stuck', state: 'firing', at, since, subject: h.name, episode: since, severity: 'high', detail });
      } else if (!stuck && episode && (lag === 0 || (lastSuccess ?? 0) > Date.parse(episode) || h.state === 'disabled')) {
        this.open.delete(h.name);
        events.push({ type: 'exporter_stuck', state: 'resolved', at, since: episode, subject: h.name, episode, detail });
      } else if (!stuck && !episode && first) {
        // What an earlier run of the collector left open is over if the exporter is fine now.
        events.push({ type: 'exporter_stuck', state: 'resolved', at, subject: h.name, detail });
      }
    }
    return events;
  }
}

export interface StuckAlertsOptions {
  readonly health: ExporterHealthSource;
  readonly ingest: OpsIngest;
  readonly stuckAfterS: number;
  /** Default: a fifth of stuck_after_s, between 1 and 30 s. */
  readonly intervalMs?: number;
  readonly log: Logger;
  readonly now?: () => Date;
}

export interface StuckAlerts {
  /** One check now (the timer calls it too). */
  check(): Promise<void>;
  stop(): Promise<void>;
}

export function startStuckAlerts(o: StuckAlertsOptions): StuckAlerts {
  const now = o.now ?? (() => new Date());
  const watch = new StuckWatch(o.stuckAfterS, now());
  const log = o.log.child({ component: 'collector.export.stuck' });
  const emitterId = `collector@${hostname()}`;
  // Events the ingest could not take yet (store down): sent with the next check.
  let pending: OpsEvent[] = [];
  let running: Promise<void> | undefined;
  const check = async (): Promise<void> => {
    if (running) return running;
    running = (async () => {
      try {
        pending.push(...watch.observe(await o.health.snapshot(), now()));
        if (pending.length === 0) return;
        const events = pending;
        pending = [];
        try {
          await o.ingest.ingest({ emitter: 'collector', emitter_id: emitterId, events });
        } catch (err) {
          pending = [...events, ...pending].slice(-1000);
          throw err;
        }
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'exporter stuck check failed; trying again at the next check');
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const interval = o.intervalMs ?? Math.min(30_000, Math.max(1000, (o.stuckAfterS * 1000) / 5));
  const timer = setInterval(() => void check(), interval);
  timer.unref();
  return {
    check,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
