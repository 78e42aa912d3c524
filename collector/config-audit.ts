// Changes to the collector's own configuration (dashboard users, LDAP group mapping, dashboard and ingest
// tokens, exporters, detection thresholds) are made by editing collector.yaml, then a reload (SIGHUP or
// POST /api/v1/admin/reload, collector/reload.ts) or a restart. At each start the audited sections are
// compared with what the collector's admin chain last recorded for them, and a reload records what it
// changed; a section that differs (or was never recorded) becomes an admin event `config.change` with
// before and after. Relays report their own audited sections (POST /v1/config, at start and after each
// reload) and land in the same chain the same way. Secrets never enter the event: password hashes and token
// digests are reduced to a short fingerprint (a change still shows), and other secrets are files whose
// paths are all the config holds.
import { hostname } from 'node:os';
import { canonicalJson } from '../common/audit/canonical-json.js';
import { fingerprint, type ConfigReport, type ConfigSnapshot } from '../common/config/config-report.js';
import type { AdminAudit } from '../dashboard/context.js';
import type { CollectorConfig } from './config-schema.js';
import type { Store } from './store/store.js';

/** The audited sections, with secrets reduced to fingerprints. */
export function auditedSections(config: CollectorConfig): Record<string, unknown> {
  const d = config.dashboard;
  return {
    'collector.ingest_tokens': config.collector.ingest_tokens.map((t) => ({ name: t.name, sha256: fingerprint(t.sha256), ...(t.emitters ? { emitters: t.emitters } : {}) })),
    'dashboard.users': (d?.users ?? []).map((u) => ({ ...u, password_hash: fingerprint(u.password_hash) })),
    'dashboard.api_tokens': (d?.api_tokens ?? []).map((t) => ({ ...t, sha256: fingerprint(t.sha256) })),
    'dashboard.ldap': d?.ldap ?? null,
    exporters: { exporters: config.exporters, export: config.export },
    detection: config.detection,
  };
}

/** Who made a change, as the admin event records it. */
export interface ChangeActor {
  readonly actor: string;
  readonly actor_role: string;
  readonly via: string;
  readonly client_ip: string;
  readonly user_agent: string;
}

/** Records each section whose value differs between before and after (a reload); returns those recorded. */
export async function recordConfigChanges(audit: () => Promise<AdminAudit>, before: Record<string, unknown>, after: Record<string, unknown>, who: ChangeActor, what: string): Promise<string[]> {
  const recorded: string[] = [];
  for (const section of Object.keys({ ...before, ...after })) {
    const was = canonicalJson(before[section] ?? null);
    const now = canonicalJson(after[section] ?? null);
    if (was === now) continue;
    await (await audit()).record({ action: 'config.change', outcome: 'success', ...who, target: section, reason: `${section} changed by ${what}`, before: was, after: now });
    recorded.push(section);
  }
  return recorded;
}

const VIA_TEXT: Record<ConfigSnapshot['via'], string> = { start: 'a restart with another file', sighup: 'a reload (SIGHUP)', api: 'a reload through the admin API' };

/**
 * Records, in report order, each section of the emitter that differs from the last record of it. A re-sent
 * report (the answer was lost) finds its sections recorded already and adds nothing: when the records
 * already hold every section of its last snapshot, the report was recorded before and is skipped whole (its
 * earlier snapshots compared one by one would read as changes back and forth). Relays send one snapshot
 * per report, so this guard only matters for a sender that batches.
 */
export async function recordEmitterConfig(store: Pick<Store, 'query'>, audit: () => Promise<AdminAudit>, report: ConfigReport): Promise<string[]> {
  const prefix = `${report.emitter} ${report.emitter_id}: `;
  const rows = await store.query<{ target: string; after: string }>(
    "SELECT target, argMax(after, seq) AS after FROM admin_events FINAL WHERE action = 'config.change' AND emitter = 'collector' AND startsWith(target, {p:String}) GROUP BY target",
    { p: prefix },
  );
  const last = new Map(rows.map((r) => [r.target, r.after]));
  const recorded: string[] = [];
  const final = report.snapshots[report.snapshots.length - 1];
  const held = (s: ConfigSnapshot): boolean => Object.entries(s.sections).every(([section, value]) => {
    const before = last.get(`${prefix}${section}`);
    return before === undefined ? value === null || (Array.isArray(value) && value.length === 0) : before === canonicalJson(value ?? null);
  });
  if (report.snapshots.length > 1 && final && held(final)) return recorded;
  for (const snapshot of report.snapshots) {
    for (const [section, value] of Object.entries(snapshot.sections)) {
      const target = `${prefix}${section}`;
      const after = canonicalJson(value ?? null);
      const before = last.get(target);
      if (before === after) continue;
      if (before === undefined && (value === null || (Array.isArray(value) && value.length === 0))) continue;
      await (await audit()).record({
        action: 'config.change',
        outcome: 'success',
        actor: snapshot.actor,
        actor_role: snapshot.actor_role,
        via: `${report.emitter}:${snapshot.via}`,
        target,
        client_ip: snapshot.client_ip,
        user_agent: '',
        reason: before === undefined ? `${section} of ${report.emitter} ${report.emitter_id}: first recorded` : `${section} of ${report.emitter} ${report.emitter_id} changed by ${VIA_TEXT[snapshot.via]}`,
        before: before ?? '',
        after,
      });
      last.set(target, after);
      recorded.push(target);
    }
  }
  return recorded;
}

/** Records each audited section that differs from its last record; returns the sections recorded. */
export async function recordConfigAtStart(store: Pick<Store, 'query'>, audit: () => Promise<AdminAudit>, config: CollectorConfig, configFile: string): Promise<string[]> {
  const sections = auditedSections(config);
  const rows = await store.query<{ target: string; after: string }>(
    "SELECT target, argMax(after, seq) AS after FROM admin_events FINAL WHERE action = 'config.change' AND emitter = 'collector' GROUP BY target",
  );
  const last = new Map(rows.map((r) => [r.target, r.after]));
  const recorded: string[] = [];
  for (const [section, value] of Object.entries(sections)) {
    const after = canonicalJson(value);
    const before = last.get(section);
    if (before === after) continue;
    if (before === undefined && (value === null || (Array.isArray(value) && value.length === 0))) continue; // nothing configured, nothing to record
    await (await audit()).record({
      action: 'config.change',
      outcome: 'success',
      actor: `collector start on ${hostname()} (pid ${process.pid})`,
      actor_role: 'config-file',
      via: `file:${configFile}`,
      target: section,
      client_ip: '',
      user_agent: '',
      reason: before === undefined ? `${section}: first recorded` : `${section} changed in the configuration file`,
      before: before ?? '',
      after,
    });
    recorded.push(section);
  }
  return recorded;
}
