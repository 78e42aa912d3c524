// Changes to the collector's own configuration (dashboard users, LDAP group mapping, dashboard and ingest
// tokens, exporters) are made by editing collector.yaml and restarting. At each start the audited sections
// are compared with what the collector's admin chain last recorded for them; a section that differs (or was
// never recorded) becomes an admin event `config.change` with before and after. Secrets never enter the
// event: password hashes and token digests are reduced to a short fingerprint (a change still shows), and
// other secrets are files whose paths are all the config holds.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { canonicalJson } from '../common/audit/canonical-json.js';
import type { AdminAudit } from '../dashboard/context.js';
import type { CollectorConfig } from './config-schema.js';
import type { Store } from './store/store.js';

/** 'sha256:' and 12 hex digits of the SHA-256 of a secret's stored form: shows a change, reveals nothing usable. */
export function fingerprint(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;
}

/** The audited sections, with secrets reduced to fingerprints. */
export function auditedSections(config: CollectorConfig): Record<string, unknown> {
  const d = config.dashboard;
  return {
    'collector.ingest_tokens': config.collector.ingest_tokens.map((t) => ({ name: t.name, sha256: fingerprint(t.sha256) })),
    'dashboard.users': (d?.users ?? []).map((u) => ({ ...u, password_hash: fingerprint(u.password_hash) })),
    'dashboard.api_tokens': (d?.api_tokens ?? []).map((t) => ({ ...t, sha256: fingerprint(t.sha256) })),
    'dashboard.ldap': d?.ldap ?? null,
    exporters: { exporters: config.exporters, export: config.export },
  };
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
