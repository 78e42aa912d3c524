// The data behind GET /api/v1/rules: each connector's latest rule snapshot (rule_snapshots, migration
// 0010), its rules (rule_snapshot_rules), and how much each rule was used (allowed calls in audit_events
// whose rule_id it is). Usage is per connector: a rule counts the calls that connector allowed with it, as
// its audit events (emitter_id = connector id) say.
import type { DashboardContext } from '../context.js';
import type { Principal } from '../roles.js';
import { chTime, isoTime, num, query, scopeFilter } from './query-kit.js';

/** A snapshot older than this is flagged: connectors re-report every 6 hours while they run. */
export const STALE_AFTER_S = 24 * 3600;

export interface RulesFilter {
  readonly usageDays: number;
  readonly subaccount: string | undefined;
  readonly connectorId: string | undefined;
  readonly unusedOnly: boolean;
}

export interface RuleView {
  connector_id: string;
  location_id: string;
  subaccount: string;
  rule_id: string;
  kind: string;
  mapping_id: string;
  virtual: string;
  internal: string;
  protocol: string;
  host_header: string;
  path: string;
  match: string;
  methods: string[];
  active: boolean;
  websocket: boolean;
  trusted_apps: string[];
  calls: number;
  last_used: string | null;
  unused: boolean;
}

export interface ConnectorView {
  connector_id: string;
  location_id: string;
  snapshot_hash: string;
  taken_at: string;
  received_at: string;
  age_s: number;
  stale: boolean;
  subaccounts: string[];
  rules: number;
  unused: number;
  suspended: number;
}

export interface MissingRuleView {
  connector_id: string;
  subaccount: string;
  rule_id: string;
  calls: number;
  last_used: string;
  reason: 'not_in_snapshot' | 'no_snapshot';
}

const key = (connector: string, subaccount: string, rule: string): string => `${connector}\u0000${subaccount}\u0000${rule}`;

function where(parts: (string | false)[]): string {
  const kept = parts.filter((p): p is string => p !== false && p !== '');
  return kept.length === 0 ? '1' : kept.join(' AND ');
}

export async function loadRules(ctx: DashboardContext, principal: Principal, filter: RulesFilter, now = new Date()) {
  const scope = scopeFilter(principal);
  const to = now;
  const from = new Date(now.getTime() - filter.usageDays * 86_400_000);
  const params: Record<string, unknown> = {
    ...scope.params,
    from: chTime(from),
    to: chTime(to),
    ...(filter.subaccount === undefined ? {} : { subaccount: filter.subaccount }),
    ...(filter.connectorId === undefined ? {} : { connector: filter.connectorId }),
  };
  const oneConnector = filter.connectorId !== undefined;
  const oneSubaccount = filter.subaccount !== undefined;
  // argMax over every row of a (connector, hash) is what FINAL would leave (the row with the latest
  // taken_at), so these reads need no FINAL; LIMIT 1 BY drops rule rows not merged yet. GLOBAL IN: on a
  // cluster both tables are Distributed, and a plain IN over two of them is refused.
  const latestSql = `SELECT connector_id, argMax(location_id, taken_at) AS location_id, argMax(snapshot_hash, taken_at) AS snapshot_hash,
      max(taken_at) AS latest_at, argMax(received_at, taken_at) AS received_at
    FROM rule_snapshots WHERE ${where([oneConnector && 'connector_id = {connector:String}'])} GROUP BY connector_id`;
  const [snapshots, ruleRows, usage] = await Promise.all([
    query(ctx, latestSql, params),
    query(ctx, `SELECT connector_id, subaccount, rule_id, kind, mapping_id, virtual, internal, protocol, host_header, path, match,
        methods, active, websocket, trusted_apps, position
      FROM rule_snapshot_rules
      WHERE (connector_id, snapshot_hash) GLOBAL IN (SELECT connector_id, snapshot_hash FROM (${latestSql}))
        AND ${where([oneConnector && 'connector_id = {connector:String}', oneSubaccount && 'subaccount = {subaccount:String}'])}${scope.sql}
      ORDER BY connector_id, subaccount, position
      LIMIT 1 BY connector_id, subaccount, mapping_id, rule_id`, params),
    // Exact counts over the window: FINAL, so an event delivered twice counts once.
    query(ctx, `SELECT emitter_id, subaccount, rule_id, count() AS calls, max(ts) AS last_ts
      FROM audit_events FINAL
      WHERE ${where([oneSubaccount && 'subaccount = {subaccount:String}'])}
        AND ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')}
        AND emitter = 'connector' AND decision = 'allow' AND rule_id != ''
        ${oneConnector ? 'AND emitter_id = {connector:String}' : ''}${scope.sql}
      GROUP BY emitter_id, subaccount, rule_id`, params),
  ]);

  const used = new Map<string, { calls: number; last: string }>();
  for (const u of usage) used.set(key(String(u.emitter_id), String(u.subaccount), String(u.rule_id)), { calls: num(u.calls), last: isoTime(u.last_ts) });

  const locationOf = new Map(snapshots.map((s) => [String(s.connector_id), String(s.location_id)]));
  const known = new Set<string>();
  const all: RuleView[] = ruleRows.map((r) => {
    const connector = String(r.connector_id);
    const k = key(connector, String(r.subaccount), String(r.rule_id));
    known.add(k);
    const u = used.get(k);
    const kind = String(r.kind);
    const active = r.active === true || r.active === 1 || r.active === 'true';
    const calls = u?.calls ?? 0;
    return {
      connector_id: connector,
      location_id: locationOf.get(connector) ?? '',
      subaccount: String(r.subaccount),
      rule_id: String(r.rule_id),
      kind,
      mapping_id: String(r.mapping_id),
      virtual: String(r.virtual),
      internal: String(r.internal),
      protocol: String(r.protocol),
      host_header: String(r.host_header),
      path: String(r.path),
      match: String(r.match),
      methods: (r.methods as string[]) ?? [],
      active,
      websocket: r.websocket === true || r.websocket === 1 || r.websocket === 'true',
      trusted_apps: (r.trusted_apps as string[]) ?? [],
      calls,
      last_used: u?.last ?? null,
      // A suspended resource allows nothing and an empty mapping has nothing to allow: neither is "unused".
      unused: calls === 0 && active && kind !== 'empty_mapping',
    };
  });

  // A rule only counts for a connector when something of it is in the caller's scope.
  const connectors: ConnectorView[] = [];
  for (const s of snapshots) {
    const id = String(s.connector_id);
    const mine = all.filter((r) => r.connector_id === id);
    if (mine.length === 0 && (scope.sql !== '' || oneSubaccount)) continue;
    const takenAt = isoTime(s.latest_at);
    const age = Math.max(0, Math.round((now.getTime() - Date.parse(takenAt)) / 1000));
    connectors.push({
      connector_id: id,
      location_id: String(s.location_id),
      snapshot_hash: String(s.snapshot_hash),
      taken_at: takenAt,
      received_at: isoTime(s.received_at),
      age_s: age,
      stale: age > STALE_AFTER_S,
      subaccounts: [...new Set(mine.map((r) => r.subaccount))],
      rules: mine.filter((r) => r.kind !== 'empty_mapping').length,
      unused: mine.filter((r) => r.unused).length,
      suspended: mine.filter((r) => !r.active).length,
    });
  }

  connectors.sort((a, b) => a.connector_id.localeCompare(b.connector_id));

  const missing: MissingRuleView[] = [];
  for (const u of usage) {
    const connector = String(u.emitter_id);
    const k = key(connector, String(u.subaccount), String(u.rule_id));
    if (known.has(k)) continue;
    missing.push({
      connector_id: connector,
      subaccount: String(u.subaccount),
      rule_id: String(u.rule_id),
      calls: num(u.calls),
      last_used: isoTime(u.last_ts),
      reason: locationOf.has(connector) ? 'not_in_snapshot' : 'no_snapshot',
    });
  }
  missing.sort((a, b) => a.connector_id.localeCompare(b.connector_id) || a.subaccount.localeCompare(b.subaccount) || b.calls - a.calls);

  const rules = filter.unusedOnly ? all.filter((r) => r.unused) : all;
  return {
    usage_days: filter.usageDays,
    from: from.toISOString(),
    to: to.toISOString(),
    stale_after_s: STALE_AFTER_S,
    totals: {
      connectors: connectors.length,
      rules: all.filter((r) => r.kind !== 'empty_mapping').length,
      unused: all.filter((r) => r.unused).length,
      suspended: all.filter((r) => !r.active).length,
      missing: missing.length,
    },
    connectors,
    rules,
    missing,
  };
}
