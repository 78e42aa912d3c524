// Access-rule snapshots (schema tunnelwatch.rules/1): what a connector reports with POST /v1/rules, the
// shape of its rules (connector/acl/policy.ts describePolicy()), and how a snapshot is stored: one row in
// rule_snapshots and one row per rule in rule_snapshot_rules (migration 0010). Idempotent by
// (connector_id, snapshot_hash): the same rules reported again only move taken_at forward.
import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { Type, type Static } from '@sinclair/typebox';
import { canonicalJson } from '../../common/audit/canonical-json.js';
import { ID_PATTERN, SUBACCOUNT_PATTERN } from '../../common/config/schema-parts.js';

export const RULES_SCHEMA = 'tunnelwatch.rules/1';

// Printable text without control characters; rule ids default to "<host>:<port><path>[*]", so they are
// not plain identifiers.
const TEXT = '^[^\\u0000-\\u001f\\u007f]+$';
const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: TEXT });

export const RuleResourceSchema = Type.Object({
  id: Text(512),
  path: Type.String({ minLength: 1, maxLength: 2048, pattern: '^/[^\\u0000-\\u001f\\u007f]*$' }),
  match: Type.Union([Type.Literal('exact'), Type.Literal('prefix')]),
  methods: Type.Array(Type.String({ pattern: '^[A-Z][A-Z0-9-]{0,31}$' }), { maxItems: 64, uniqueItems: true }),
  active: Type.Boolean(),
  websocket: Type.Boolean(),
}, { additionalProperties: false });

export const RuleMappingSchema = Type.Object({
  id: Text(512),
  virtual: Text(300),
  internal: Text(300),
  protocol: Type.Union([Type.Literal('http'), Type.Literal('https'), Type.Literal('tcp'), Type.Literal('tcps')]),
  host_header: Text(300),
  ca: Type.Union([Text(1024), Type.Null()]),
  resources: Type.Array(RuleResourceSchema, { maxItems: 10_000 }),
}, { additionalProperties: false });

export const RuleSubaccountSchema = Type.Object({
  subaccount: Type.String({ pattern: SUBACCOUNT_PATTERN }),
  trusted_apps: Type.Array(Type.String({ pattern: ID_PATTERN }), { maxItems: 1000, uniqueItems: true }),
  /** Concurrent call limits (connector.yaml `limits:`); only when some is set. Kept in the snapshot (and so in rules.change), not in the rule rows. */
  limits: Type.Optional(Type.Object({
    max_calls_in_flight: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    app_max_calls_in_flight: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    apps: Type.Record(Type.String({ pattern: ID_PATTERN }), Type.Integer({ minimum: 0, maximum: 1_000_000 }), { maxProperties: 1000 }),
  }, { additionalProperties: false })),
  mappings: Type.Array(RuleMappingSchema, { maxItems: 10_000 }),
}, { additionalProperties: false });

/** describePolicy()'s output. */
export const RuleSetSchema = Type.Object({
  subaccounts: Type.Array(RuleSubaccountSchema, { maxItems: 10_000 }),
}, { additionalProperties: false });

/** The body of POST /v1/rules. */
export const RuleSnapshotSchema = Type.Object({
  schema: Type.Literal(RULES_SCHEMA),
  connector_id: Type.String({ pattern: ID_PATTERN }),
  location_id: Type.String({ pattern: '^([A-Za-z0-9][A-Za-z0-9._-]{0,63})?$' }),
  taken_at: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$' }),
  snapshot_hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  rules: RuleSetSchema,
  /** Why the connector reports (optional, newer connectors): what changed its rules, and who. */
  change: Type.Optional(Type.Object({
    via: Type.Union([Type.Literal('start'), Type.Literal('reload'), Type.Literal('ha_sync'), Type.Literal('refresh')]),
    actor: Text(256),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

export type RuleSet = Static<typeof RuleSetSchema>;
export type RuleSnapshot = Static<typeof RuleSnapshotSchema>;

/** SHA-256 (hex) of the rules' RFC 8785 canonical JSON: what snapshot_hash must be. */
export function rulesHash(rules: unknown): string {
  return createHash('sha256').update(canonicalJson(rules)).digest('hex');
}

/** What a rule row is: an HTTP resource, a tcp/tcps mapping, or an http/https mapping with no resources. */
export type RuleKind = 'resource' | 'tcp_mapping' | 'empty_mapping';

/** One row of rule_snapshot_rules. */
export interface RuleRow {
  readonly connector_id: string;
  readonly snapshot_hash: string;
  readonly subaccount: string;
  readonly mapping_id: string;
  /** What audit events carry as rule_id when this rule allows a call; '' for an empty mapping. */
  readonly rule_id: string;
  readonly kind: RuleKind;
  readonly position: number;
  readonly virtual: string;
  readonly internal: string;
  readonly protocol: string;
  readonly host_header: string;
  readonly path: string;
  readonly match: string;
  readonly methods: readonly string[];
  readonly active: boolean;
  readonly websocket: boolean;
  readonly trusted_apps: readonly string[];
}

/**
 * One row per rule, in configuration order. decide() reports a tcp/tcps mapping's id as the rule_id and
 * an HTTP resource's id otherwise (connector/acl/decide.ts), so rule_id joins audit_events.rule_id.
 */
export function flattenRules(connectorId: string, snapshotHash: string, rules: RuleSet): RuleRow[] {
  const rows: RuleRow[] = [];
  for (const s of rules.subaccounts) {
    for (const m of s.mappings) {
      const base = {
        connector_id: connectorId,
        snapshot_hash: snapshotHash,
        subaccount: s.subaccount,
        mapping_id: m.id,
        virtual: m.virtual,
        internal: m.internal,
        protocol: m.protocol,
        host_header: m.host_header,
        trusted_apps: s.trusted_apps,
      };
      const tcp = m.protocol === 'tcp' || m.protocol === 'tcps';
      if (tcp || m.resources.length === 0) {
        rows.push({
          ...base,
          rule_id: tcp ? m.id : '',
          kind: tcp ? 'tcp_mapping' : 'empty_mapping',
          position: rows.length,
          path: '',
          match: '',
          methods: [],
          active: true,
          websocket: false,
        });
        continue;
      }
      for (const r of m.resources) {
        rows.push({ ...base, rule_id: r.id, kind: 'resource', position: rows.length, path: r.path, match: r.match, methods: r.methods, active: r.active, websocket: r.websocket });
      }
    }
  }
  return rows;
}

/**
 * What the JSON schema cannot say: the hash matches the rules, and the rules are what compilePolicy()
 * would accept (unique subaccounts, virtual host:port and rule ids per subaccount; no resources on
 * tcp/tcps mappings). Returns why not, or undefined.
 */
export function checkRuleSnapshot(snapshot: RuleSnapshot): string | undefined {
  if (Number.isNaN(Date.parse(snapshot.taken_at))) return `taken_at: ${JSON.stringify(snapshot.taken_at)} is not a valid time`;
  const subaccounts = new Set<string>();
  for (const [i, s] of snapshot.rules.subaccounts.entries()) {
    const at = `rules.subaccounts[${i}]`;
    if (subaccounts.has(s.subaccount)) return `${at}.subaccount: ${s.subaccount} is listed twice`;
    subaccounts.add(s.subaccount);
    const ids = new Set<string>();
    const virtuals = new Set<string>();
    for (const [j, m] of s.mappings.entries()) {
      const mat = `${at}.mappings[${j}]`;
      if (virtuals.has(m.virtual)) return `${mat}.virtual: ${m.virtual} is mapped twice in subaccount ${s.subaccount}`;
      virtuals.add(m.virtual);
      const tcp = m.protocol === 'tcp' || m.protocol === 'tcps';
      if (tcp && m.resources.length > 0) return `${mat}.resources: a ${m.protocol} mapping carries no HTTP resources`;
      if (ids.has(m.id)) return `${mat}.id: rule id ${m.id} is used twice in subaccount ${s.subaccount}`;
      ids.add(m.id);
      for (const [k, r] of m.resources.entries()) {
        if (ids.has(r.id)) return `${mat}.resources[${k}].id: rule id ${r.id} is used twice in subaccount ${s.subaccount}`;
        ids.add(r.id);
      }
    }
  }
  const hash = rulesHash(snapshot.rules);
  if (hash !== snapshot.snapshot_hash) return `snapshot_hash: ${snapshot.snapshot_hash} is not the SHA-256 of the rules' canonical JSON (RFC 8785), which is ${hash}`;
  return undefined;
}

/** ClickHouse DateTime64(3) text for a time (UTC). */
function chTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

export interface RuleSnapshotWriteResult {
  /** This connector had reported these exact rules before: only taken_at moved. */
  readonly known: boolean;
  /** Rule rows of the snapshot. */
  readonly rules: number;
}

/**
 * Stores a validated snapshot. The rule rows go first and the snapshot row last: a snapshot row is only
 * ever visible with all its rules, and a failure in between is repaired by the sender's retry.
 */
export async function insertRuleSnapshot(client: ClickHouseClient, snapshot: RuleSnapshot, receivedAt = Date.now()): Promise<RuleSnapshotWriteResult> {
  const rows = flattenRules(snapshot.connector_id, snapshot.snapshot_hash, snapshot.rules);
  const found = await (await client.query({
    query: 'SELECT count() AS n FROM rule_snapshots WHERE connector_id = {c:String} AND snapshot_hash = {h:String}',
    query_params: { c: snapshot.connector_id, h: snapshot.snapshot_hash },
    format: 'JSONEachRow',
  })).json<{ n: string | number }>();
  const known = Number(found[0]?.n ?? 0) > 0;
  if (!known && rows.length > 0) await client.insert({ table: 'rule_snapshot_rules', values: rows, format: 'JSONEachRow' });
  await client.insert({
    table: 'rule_snapshots',
    values: [{
      connector_id: snapshot.connector_id,
      location_id: snapshot.location_id,
      snapshot_hash: snapshot.snapshot_hash,
      taken_at: chTime(Date.parse(snapshot.taken_at)),
      received_at: chTime(receivedAt),
      rule_count: rows.filter((r) => r.kind !== 'empty_mapping').length,
      rules: JSON.stringify(snapshot.rules),
    }],
    format: 'JSONEachRow',
  });
  return { known, rules: rows.length };
}
