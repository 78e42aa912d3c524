// Backend checks in the store (table backend_checks): the schema a report must match (tunnelwatch.checks/1,
// connector/diagnostics/types.ts), how one becomes a row and back, the insert (ids already stored are
// skipped, reports older than the retention are counted as expired rather than dropped silently by the
// TTL), and the reads the state-change logic needs. The dashboard's own reads live in dashboard/api/.
import { Type, type Static } from '@sinclair/typebox';
import { ID_PATTERN, SUBACCOUNT_PATTERN } from '../../common/config/schema-parts.js';
import type { CheckBatch, CheckReport, CheckStep } from '../../connector/diagnostics/types.js';
import { expiryCutoffMs } from './retention.js';
import type { Store } from './store.js';

export const CHECKS_SCHEMA = 'tunnelwatch.checks/1';

const lit = <T extends string>(values: readonly T[], description: string) =>
  Type.Union(values.map((v) => Type.Literal(v)), { description });

const HostPort = (description: string) => Type.String({ pattern: '^[^\\s/]{1,255}:[0-9]{1,5}$', maxLength: 262, description });
// Free text meant for people (messages, fixes): any characters, bounded; pages render it as text.
const Prose = (maxLength: number, description: string) => Type.String({ maxLength, description });

export const CheckStepSchema = Type.Object({
  step: lit(['dns', 'tcp', 'tls', 'probe', 'auth', 'latency'] as const, 'the step, in the order steps run'),
  outcome: lit(['ok', 'warn', 'fail', 'skipped'] as const, 'ok, warn, fail, or skipped after a failed step'),
  duration_ms: Type.Number({ minimum: 0, maximum: 86_400_000, description: 'time the step took, ms' }),
  // A pattern, not the catalogue: a connector newer than this collector may know a classification more.
  classification: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'why it failed or warned (docs/troubleshooting.md); ok when it passed' }),
  message: Prose(4000, 'what was observed'),
  fix: Prose(4000, 'the suggested fix; empty when ok'),
  detail: Type.Record(Type.String(), Type.Unknown(), { description: 'step-specific facts (addresses, status, certificate)' }),
}, { additionalProperties: false });

export const CheckReportSchema = Type.Object({
  check_id: Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'UUID of the check' }),
  connector_id: Type.String({ pattern: ID_PATTERN, description: 'the connector that ran it' }),
  location_id: Type.String({ pattern: '^([A-Za-z0-9][A-Za-z0-9._-]{0,63})?$', description: 'its location id ("" = default)' }),
  subaccount: Type.String({ pattern: SUBACCOUNT_PATTERN, description: 'the subaccount of the mapping' }),
  virtual_host: HostPort('the mapping as cloud apps see it (virtual host:port)'),
  internal_host: HostPort('where the mapping leads (internal host:port)'),
  protocol: lit(['http', 'https', 'tcp', 'tcps'] as const, 'the mapping\'s backend protocol'),
  trigger: lit(['cli', 'dashboard', 'schedule'] as const, 'tunnelwatch check, the dashboard, or the prober'),
  requested_by: Type.String({ maxLength: 256, pattern: '^[^\\u0000-\\u001f\\u007f]*$', description: 'the dashboard user who asked; empty otherwise' }),
  started_at: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$', description: 'RFC 3339' }),
  duration_ms: Type.Number({ minimum: 0, maximum: 86_400_000, description: 'the whole check, ms' }),
  state: lit(['up', 'degraded', 'down'] as const, 'up: every step ok; degraded: a warning; down: a step failed'),
  classification: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'the first failed step\'s classification, else the first warning\'s, else ok' }),
  summary: Prose(1000, 'one line for lists'),
  steps: Type.Array(CheckStepSchema, { maxItems: 16, description: 'the steps in the order they ran' }),
}, { additionalProperties: false });

export const CheckBatchSchema = Type.Object({
  schema: Type.Literal(CHECKS_SCHEMA),
  connector_id: Type.String({ pattern: ID_PATTERN }),
  reports: Type.Array(CheckReportSchema, { maxItems: 1000 }),
}, { additionalProperties: false });

// The schemas must describe exactly the shared types: a field added to types.ts fails the build here
// instead of every batch that carries it failing validation.
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : never;
const stepKeys: SameKeys<Static<typeof CheckStepSchema>, CheckStep> = true;
const reportKeys: SameKeys<Static<typeof CheckReportSchema>, CheckReport> = true;
const batchKeys: SameKeys<Static<typeof CheckBatchSchema>, CheckBatch> = true;
void [stepKeys, reportKeys, batchKeys];

/** What the schema cannot say; the reason a batch is refused, or undefined. */
export function checkBatchProblem(batch: CheckBatch): string | undefined {
  for (const [i, r] of batch.reports.entries()) {
    if (r.connector_id !== batch.connector_id) return `reports[${i}].connector_id: ${r.connector_id} is not the batch's connector ${batch.connector_id}`;
    if (Number.isNaN(Date.parse(r.started_at))) return `reports[${i}].started_at: ${JSON.stringify(r.started_at)} is not a valid time`;
  }
  return undefined;
}

/** ClickHouse DateTime64(3) text for ms since the epoch (UTC). */
export function chTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** ClickHouse DateTime64 text back to RFC 3339 with ms. */
export function isoOf(text: unknown): string {
  const s = String(text);
  return new Date(s.includes('T') ? s : `${s.replace(' ', 'T')}Z`).toISOString();
}

/** The columns reportFromRow() reads, for SELECT lists. */
export const CHECK_COLUMNS = 'check_id, connector_id, location_id, subaccount, virtual_host, internal_host, protocol, trigger, requested_by, started_at, duration_ms, state, classification, summary, steps';

export interface CheckRow {
  check_id: string; connector_id: string; location_id: string; subaccount: string; virtual_host: string;
  internal_host: string; protocol: string; trigger: string; requested_by: string; started_at: string;
  duration_ms: number | string; state: string; classification: string; summary: string; steps: string;
}

function rowOf(r: CheckReport): CheckRow {
  return {
    check_id: r.check_id,
    connector_id: r.connector_id,
    location_id: r.location_id,
    subaccount: r.subaccount,
    // Audit events carry virtual hosts in lower case; matching them to real calls needs the same.
    virtual_host: r.virtual_host.toLowerCase(),
    internal_host: r.internal_host,
    protocol: r.protocol,
    trigger: r.trigger,
    requested_by: r.requested_by,
    started_at: chTime(Date.parse(r.started_at)),
    duration_ms: Math.min(Math.round(r.duration_ms), 4_294_967_295),
    state: r.state,
    classification: r.classification,
    summary: r.summary,
    steps: JSON.stringify(r.steps),
  };
}

/** A stored row as the report it was (virtual host in lower case, started_at normalised to UTC ms). */
export function reportFromRow(row: CheckRow): CheckReport {
  return {
    check_id: row.check_id,
    connector_id: row.connector_id,
    location_id: row.location_id,
    subaccount: row.subaccount,
    virtual_host: row.virtual_host,
    internal_host: row.internal_host,
    protocol: row.protocol as CheckReport['protocol'],
    trigger: row.trigger as CheckReport['trigger'],
    requested_by: row.requested_by,
    started_at: isoOf(row.started_at),
    duration_ms: Number(row.duration_ms),
    state: row.state as CheckReport['state'],
    classification: row.classification as CheckReport['classification'],
    summary: row.summary,
    steps: JSON.parse(row.steps) as CheckStep[],
  };
}

/** The same report in the stored form (lower-case virtual host, UTC time): what comparisons should use. */
export function normalisedReport(r: CheckReport): CheckReport {
  return { ...r, virtual_host: r.virtual_host.toLowerCase(), started_at: new Date(Date.parse(r.started_at)).toISOString() };
}

/** Ids of these reports that the store already holds. */
export async function storedCheckIds(store: Store, reports: readonly CheckReport[]): Promise<Set<string>> {
  if (reports.length === 0) return new Set();
  const times = reports.map((r) => Date.parse(r.started_at));
  const rows = await store.query<{ check_id: string }>(
    `SELECT DISTINCT check_id FROM backend_checks
     WHERE subaccount IN {subs:Array(String)} AND started_at >= {lo:DateTime64(3, 'UTC')} AND started_at <= {hi:DateTime64(3, 'UTC')}
       AND check_id IN {ids:Array(String)}`,
    { subs: [...new Set(reports.map((r) => r.subaccount))], lo: chTime(Math.min(...times)), hi: chTime(Math.max(...times)), ids: reports.map((r) => r.check_id) },
  );
  return new Set(rows.map((r) => r.check_id));
}

/** Splits reports into those the TTL keeps and those it would drop at once (older than the retention, with a day's margin). */
export function splitExpired(store: Store, reports: readonly CheckReport[], now = Date.now()): { kept: CheckReport[]; expired: CheckReport[] } {
  const cutoff = expiryCutoffMs(store.retention.checksDays, now);
  const kept: CheckReport[] = [];
  const expired: CheckReport[] = [];
  for (const r of reports) (Date.parse(r.started_at) < cutoff ? expired : kept).push(r);
  return { kept, expired };
}

/** Inserts reports as they are (the caller filtered stored ids and expired reports); resolves after the commit. */
export async function insertCheckRows(store: Store, reports: readonly CheckReport[]): Promise<void> {
  if (reports.length === 0) return;
  await store.client.insert({ table: 'backend_checks', values: reports.map(rowOf), format: 'JSONEachRow' });
}

/** The latest stored check of a backend, as the state-change logic compares with it. */
export interface LatestCheck {
  readonly connector_id: string;
  readonly subaccount: string;
  readonly virtual_host: string;
  readonly check_id: string;
  readonly started_at: string;
  readonly state: CheckReport['state'];
  readonly classification: string;
  readonly summary: string;
}

export const backendKey = (r: { connector_id: string; subaccount: string; virtual_host: string }): string =>
  `${r.connector_id}\u0000${r.subaccount}\u0000${r.virtual_host.toLowerCase()}`;

/**
 * The latest stored check of each (connector, subaccount, virtual host) the reports name. No FINAL: the
 * writer stores an id once, and a copy would give the same argMax anyway.
 */
export async function latestChecks(store: Store, reports: readonly CheckReport[]): Promise<Map<string, LatestCheck>> {
  if (reports.length === 0) return new Map();
  // Aliases differ from the columns: ClickHouse resolves an alias before a column of the same name.
  const rows = await store.query<{ connector_id: string; subaccount: string; virtual_host: string; last_id: string; last_at: string; last_state: string; last_class: string; last_summary: string }>(
    `SELECT connector_id, subaccount, virtual_host, argMax(check_id, started_at) AS last_id, max(started_at) AS last_at,
            argMax(state, started_at) AS last_state, argMax(classification, started_at) AS last_class, argMax(summary, started_at) AS last_summary
     FROM backend_checks
     WHERE subaccount IN {subs:Array(String)} AND virtual_host IN {hosts:Array(String)} AND connector_id IN {connectors:Array(String)}
     GROUP BY connector_id, subaccount, virtual_host`,
    {
      subs: [...new Set(reports.map((r) => r.subaccount))],
      hosts: [...new Set(reports.map((r) => r.virtual_host.toLowerCase()))],
      connectors: [...new Set(reports.map((r) => r.connector_id))],
    },
  );
  return new Map(rows.map((r) => [backendKey(r), {
    connector_id: r.connector_id, subaccount: r.subaccount, virtual_host: r.virtual_host, check_id: r.last_id, started_at: isoOf(r.last_at),
    state: r.last_state as LatestCheck['state'], classification: r.last_class, summary: r.last_summary,
  }]));
}

/** Stored reports by id (within these subaccounts, which lets the key prune). */
export async function readChecks(store: Store, subaccounts: readonly string[], ids: readonly string[]): Promise<CheckReport[]> {
  if (ids.length === 0 || subaccounts.length === 0) return [];
  const rows = await store.query<CheckRow>(
    `SELECT ${CHECK_COLUMNS} FROM backend_checks FINAL WHERE subaccount IN {subs:Array(String)} AND check_id IN {ids:Array(String)}`,
    { subs: [...subaccounts], ids: [...ids] },
  );
  return rows.map(reportFromRow);
}

/**
 * When the run of `state` that a backend was in at `at` began: the first check after the last one in
 * another state (or the first check of all). For the explanation of a recovery.
 */
export async function runStart(store: Store, key: { connector_id: string; subaccount: string; virtual_host: string }, state: string, at: string): Promise<string> {
  const params = { c: key.connector_id, s: key.subaccount, v: key.virtual_host.toLowerCase(), state, at: chTime(Date.parse(at)) };
  const [row] = await store.query<{ start: string }>(
    `SELECT min(started_at) AS start FROM backend_checks
     WHERE subaccount = {s:String} AND virtual_host = {v:String} AND connector_id = {c:String} AND started_at <= {at:DateTime64(3, 'UTC')}
       AND started_at > (SELECT max(started_at) FROM backend_checks
                         WHERE subaccount = {s:String} AND virtual_host = {v:String} AND connector_id = {c:String}
                           AND started_at <= {at:DateTime64(3, 'UTC')} AND state != {state:String})`,
    params,
  );
  return row?.start ? isoOf(row.start) : at;
}
