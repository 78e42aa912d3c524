// The prober: checks every mapping of every subaccount every diagnostics.interval_ms, a few at a time, and
// hands each report on (to the check shipper). Rounds are jittered (+-10%) and the first comes within a
// few seconds of start, so a fleet of connectors restarted together does not probe in step, and the
// dashboard has fresh data soon after a restart. A round never overlaps the previous one.
import type { Logger } from '../../common/log.js';
import type { DiagnosticsConfig, MappingConfig } from '../agent/config-schema.js';
import { Limiter, type RunCheck } from './control.js';
import type { CheckOptions } from './run-check.js';
import type { BackendState, CheckReport } from './types.js';

export interface ProbeTarget {
  readonly subaccount: string;
  readonly mapping: MappingConfig;
}

export interface ProberOptions {
  readonly connectorId: string;
  readonly locationId: string;
  /** Read at each round, so a policy swapped at run time is probed from its next round. */
  readonly targets: () => readonly ProbeTarget[];
  readonly diagnostics: DiagnosticsConfig;
  readonly resolvePath: (p: string) => string;
  readonly run: RunCheck;
  readonly onReport?: (report: CheckReport) => void;
  readonly log: Logger;
  /** For tests: the source of jitter in [0, 1). */
  readonly random?: () => number;
}

export interface Prober {
  /** Rounds completed since start. */
  readonly rounds: number;
  /** Runs one round now (also what the schedule calls); resolves with its reports. */
  runRound(): Promise<CheckReport[]>;
  /** Stops scheduling; waits briefly for checks in flight, whose reports are then discarded. */
  stop(): Promise<void>;
}

/** The first round comes within this long of start (or within interval_ms if that is shorter). */
const FIRST_ROUND_WITHIN_MS = 5_000;
const STOP_GRACE_MS = 1_000;

/** Starts the prober; undefined when diagnostics.interval_ms is 0. */
export function startProber(o: ProberOptions): Prober | undefined {
  const d = o.diagnostics;
  if (d.interval_ms <= 0) return undefined;
  const log = o.log.child({ component: 'connector.prober' });
  const random = o.random ?? Math.random;
  const checkOptions: CheckOptions = { timeoutMs: d.timeout_ms, latencyWarnMs: d.latency_warn_ms, certWarnDays: d.cert_warn_days, resolvePath: o.resolvePath };
  const states = new Map<string, BackendState>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let current: Promise<CheckReport[]> | undefined;
  let rounds = 0;

  const noteState = (report: CheckReport): void => {
    const key = `${report.subaccount} ${report.virtual_host}`;
    const before = states.get(key);
    states.set(key, report.state);
    if (before === report.state) return;
    const fields = { subaccount: report.subaccount, virtual_host: report.virtual_host, internal_host: report.internal_host, state: report.state, previous: before ?? '', classification: report.classification, summary: report.summary };
    if (report.state === 'up') log.info(fields, before === undefined ? 'backend up' : 'backend state changed');
    else log.warn(fields, before === undefined ? `backend ${report.state}` : 'backend state changed');
  };

  const round = async (): Promise<CheckReport[]> => {
    const targets = o.targets();
    const limiter = new Limiter(d.concurrency);
    const reports: CheckReport[] = [];
    await Promise.all(targets.map(async (t) => {
      if (!(await limiter.acquire())) return;
      try {
        if (stopped) return;
        const report = await o.run({ connectorId: o.connectorId, locationId: o.locationId, subaccount: t.subaccount, mapping: t.mapping, trigger: 'schedule' }, checkOptions);
        if (stopped) return;
        reports.push(report);
        noteState(report);
        o.onReport?.(report);
      } catch (err) {
        // runCheck never throws by contract; if it does, one mapping's report is missing, not the round.
        log.error({ subaccount: t.subaccount, virtual_host: t.mapping.virtual, err: (err as Error).message }, 'check failed');
      } finally {
        limiter.release();
      }
    }));
    rounds++;
    return reports;
  };

  const runRound = (): Promise<CheckReport[]> => {
    if (current) return current;
    const started = Date.now();
    current = round().finally(() => {
      current = undefined;
      schedule(Math.max(0, jittered(d.interval_ms) - (Date.now() - started)));
    });
    return current;
  };

  const jittered = (ms: number): number => Math.round(ms * (0.9 + 0.2 * random()));

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void runRound();
    }, delayMs);
    timer.unref();
  };

  schedule(Math.round(random() * Math.min(d.interval_ms, FIRST_ROUND_WITHIN_MS)));
  log.info({ interval_ms: d.interval_ms, timeout_ms: d.timeout_ms, concurrency: d.concurrency, mappings: o.targets().length }, 'prober started');

  return {
    get rounds() {
      return rounds;
    },
    runRound,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (!current) return;
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([current.then(() => undefined), new Promise<void>((r) => (grace = setTimeout(r, STOP_GRACE_MS)))]);
      clearTimeout(grace);
    },
  };
}

/** Every mapping of every subaccount of connector.yaml. */
export function probeTargets(subaccounts: Readonly<Record<string, { mappings: readonly MappingConfig[] }>>): ProbeTarget[] {
  const out: ProbeTarget[] = [];
  for (const [subaccount, rules] of Object.entries(subaccounts)) for (const mapping of rules.mappings) out.push({ subaccount, mapping });
  return out;
}
