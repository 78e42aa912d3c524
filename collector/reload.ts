// Reloading collector.yaml at run time (SIGHUP, or POST /api/v1/admin/reload on the dashboard): the whole
// file is read and validated, and everything it would put in force built and checked (dashboard password
// hashes and duplicate names, LDAP files, each changed exporter built once, the detection settings) before
// anything changes. One bad key refuses the reload whole, and the settings in force stay.
//
// Applied live: the ingest tokens, the dashboard's local users, config API tokens and LDAP settings (one
// synchronous swap), then the exporters whose entry changed (stopped, saving their cursors, and started
// again: collector/reload-exporters.ts) and the detection settings (the live detector is replaced; findings
// are ids over windows, so the new one re-judges the same windows to the same findings). Everything else
// (listen addresses, TLS, store, queue, dashboard listener and sessions) needs a restart and is named so.
//
// Each changed section becomes an admin event `config.change` (who, before, after; secrets as fingerprints,
// config-audit.ts) in the collector's chain, written before the change is applied: when the store cannot
// take the record, the reload is refused (a change nobody can audit does not happen). A refused reload is
// recorded too (`config.reload`, outcome failure), when the store takes it.
import type { Logger } from '../common/log.js';
import type { ReloadResult, ReloadSource } from '../common/service.js';
import { restartNeeded } from '../common/config/restart-needed.js';
import type { DashboardAuth } from '../dashboard/auth/auth-service.js';
import type { DashboardSettings } from '../dashboard/config-schema.js';
import type { AdminAudit } from '../dashboard/context.js';
import { auditedSections, recordConfigChanges, type ChangeActor } from './config-audit.js';
import type { CollectorConfig } from './config-schema.js';
import type { ExporterEntryConfig } from './export/config-schema.js';
import type { IngestTokens } from './ingest-auth.js';
import type { ExporterPlan, ExporterSet } from './reload-exporters.js';

/** Settings a reload puts in force; a path under one of these (detection.interval_s) is live too. */
const LIVE = new Set(['collector.ingest_tokens', 'dashboard.users', 'dashboard.api_tokens', 'dashboard.ldap', 'exporters', 'export', 'detection']);
const isLive = (path: string): boolean => LIVE.has(path) || LIVE.has(path.split('.')[0] ?? '');

export interface CollectorReloadTarget {
  /** The configuration the process started with (what "needs a restart" is compared with). */
  readonly started: CollectorConfig;
  readonly configFile: string;
  readonly log: Logger;
  readonly audit: () => Promise<AdminAudit>;
  readonly ingestTokens: IngestTokens;
  /** The dashboard's auth service, when the dashboard runs in this process. */
  readonly auth: DashboardAuth | undefined;
  readonly exporters: ExporterSet;
  /** Builds (without starting) what runs the detection settings; throws when they are not valid. */
  prepareDetection(next: CollectorConfig['detection']): () => Promise<void>;
  /** The export settings changed: what watches for stuck exporters takes them. */
  restartStuckAlerts(next: CollectorConfig['export']): Promise<void>;
}

/** The reload's actor as the admin events record it. */
function actorOf(source: ReloadSource, configFile: string): ChangeActor {
  return {
    actor: source.actor,
    actor_role: source.actorRole ?? 'config-file',
    via: `${source.via}:file:${configFile}`,
    client_ip: source.clientIp ?? '',
    user_agent: source.userAgent ?? '',
  };
}

/** What is in force after the reload: the live settings from `next`, the others as they are. */
function inForceAfter(current: CollectorConfig, next: CollectorConfig): CollectorConfig {
  let dashboard = current.dashboard;
  if (current.dashboard && next.dashboard) {
    const { ldap: _ldap, ...rest } = current.dashboard;
    dashboard = { ...rest, users: next.dashboard.users, api_tokens: next.dashboard.api_tokens, ...(next.dashboard.ldap ? { ldap: next.dashboard.ldap } : {}) };
  }
  return {
    ...current,
    collector: { ...current.collector, ingest_tokens: next.collector.ingest_tokens },
    ...(dashboard ? { dashboard } : {}),
    exporters: next.exporters,
    export: next.export,
    detection: next.detection,
  };
}

export class CollectorReloader {
  private inForce: CollectorConfig;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly t: CollectorReloadTarget) {
    this.inForce = t.started;
  }

  /** One reload at a time, in the order asked: a SIGHUP during an API reload waits for it. */
  reload(load: () => CollectorConfig, source: ReloadSource): Promise<ReloadResult> {
    const run = this.tail.then(() => this.reloadNow(load, source));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(load: () => CollectorConfig, source: ReloadSource): Promise<ReloadResult> {
    const t = this.t;
    const who = actorOf(source, t.configFile);
    let next: CollectorConfig;
    let swapAuth: (() => void) | undefined;
    let plan: ExporterPlan;
    let swapDetection: (() => Promise<void>) | undefined;
    const current = this.inForce;
    try {
      next = load();
      const after = inForceAfter(current, next);
      if (t.auth && after.dashboard) swapAuth = t.auth.prepare(after.dashboard as DashboardSettings);
      plan = t.exporters.plan(next.exporters as readonly ExporterEntryConfig[], next.export);
      if (JSON.stringify(current.detection) !== JSON.stringify(next.detection)) swapDetection = t.prepareDetection(next.detection);
    } catch (err) {
      return this.refused((err as Error).message, who);
    }
    const after = inForceAfter(current, next);
    const needs = restartNeeded(t.started, next, isLive);
    let changed: string[];
    try {
      changed = await recordConfigChanges(t.audit, auditedSections(current), auditedSections(after), who, source.via === 'api' ? `a reload through the dashboard API (${source.actor})` : 'a reload (SIGHUP)');
    } catch (err) {
      return this.refused(`the change could not be recorded as an admin event, so it was not made: ${(err as Error).message}`, who);
    }
    // The synchronous swap: a sign-in or ingest request sees the old settings or the new ones, never a mix.
    t.ingestTokens.replace(after.collector.ingest_tokens);
    swapAuth?.();
    this.inForce = after;
    // Then what runs in the background; each part was built and checked above.
    await t.exporters.apply(plan);
    if (JSON.stringify(current.export.stuck_after_s) !== JSON.stringify(next.export.stuck_after_s)) await t.restartStuckAlerts(next.export);
    await swapDetection?.();
    const exporters = plan.stop.length + plan.start.length > 0 ? `; exporters stopped: ${plan.stop.join(', ') || 'none'}, started: ${plan.start.join(', ') || 'none'}` : '';
    if (changed.length > 0) t.log.info({ changed, exporters_stopped: plan.stop, exporters_started: plan.start, actor: source.actor, via: source.via }, 'collector configuration changed');
    return {
      applied: true,
      message: changed.length > 0 ? `in force now: ${changed.join(', ')}${exporters}` : 'nothing that can change live differs from what is in force',
      restartNeeded: needs,
      changed,
    };
  }

  private async refused(message: string, who: ChangeActor): Promise<ReloadResult> {
    try {
      await (await this.t.audit()).record({ action: 'config.reload', outcome: 'failure', ...who, target: 'collector.yaml', reason: message.slice(0, 900) });
    } catch (err) {
      this.t.log.warn({ err: (err as Error).message }, 'the refused reload could not be recorded as an admin event');
    }
    return { applied: false, message };
  }
}
