// GET /api/v1/findings and /api/v1/findings/:finding_id: what the anomaly detectors flagged
// (collector/detect/, docs/detectors.md), newest first, with the explanation, the evidence and a filter of
// the calls explorer that shows the calls behind a finding. A scoped identity sees the findings of its
// subaccounts only; cross-subaccount findings (subaccount "") name several tenants, so only unscoped
// identities see them.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { TunnelwatchError } from '../../common/errors.js';
import type { Severity } from '../../collector/detect/types.js';
import type { DashboardContext } from '../context.js';
import { canSeeSubaccount, type Principal } from '../roles.js';
import { readFindings, readFindingsById, type StoredFinding } from '../../collector/detect/findings-store.js';
import { ErrorResponse, principalOf, requireSubaccount, resolveRange, TimeRangeQuery } from './query-kit.js';

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

const FindingsQuery = Type.Composite([
  TimeRangeQuery,
  Type.Object({
    subaccount: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'only findings of this subaccount (403 when outside your scope)' })),
    detector: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z_]{1,64}$' }), { description: 'only these detectors (repeat the parameter)' })),
    min_severity: Type.Optional(Type.Union(SEVERITIES.map((s) => Type.Literal(s)), { description: 'only findings of this severity or higher' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200, description: 'at most this many findings, newest window first' })),
  }),
], { additionalProperties: false });

const CallsFilter = Type.Record(Type.String(), Type.String(), {
  description: 'query parameters of /calls (and /api/v1/calls) that show the calls behind the finding: its subaccount, window and, where the explorer has a filter for it, its entity',
});

const FindingSchema = Type.Object({
  finding_id: Type.String({ description: 'stable for the same detector, entity and window: a re-run updates it' }),
  detector: Type.String(),
  severity: Type.String({ description: 'low, medium, high or critical' }),
  score: Type.Number({ description: '0-100' }),
  subaccount: Type.String({ description: '"" for a cross-subaccount finding (its entity names what crossed)' }),
  entity_type: Type.String(),
  entity: Type.String(),
  window_start: Type.String({ format: 'date-time' }),
  window_end: Type.String({ format: 'date-time' }),
  title: Type.String(),
  explanation: Type.String({ description: 'the observed value, the baseline it was compared with, and the threshold' }),
  evidence: Type.Record(Type.String(), Type.Unknown(), { description: 'figures behind the finding, and up to 20 sample_event_ids' }),
  first_detected_at: Type.String({ format: 'date-time', description: 'when it was first flagged' }),
  detected_at: Type.String({ format: 'date-time', description: 'when its current version was written' }),
  calls_filter: CallsFilter,
});

const FindingsResponse = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  findings: Type.Array(FindingSchema, { description: 'findings whose window overlaps the range, newest window first' }),
  by_severity: Type.Record(Type.String(), Type.Integer(), { description: 'how many of the listed findings have each severity' }),
  by_detector: Type.Record(Type.String(), Type.Integer(), { description: 'how many of the listed findings each detector raised' }),
});

const ERRORS = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 503: ErrorResponse };

/** The calls explorer's own filter names; entity types it has no filter for narrow by subaccount and time only. */
const ENTITY_FILTER: Readonly<Record<string, string>> = { cloud_app: 'cloud_app', principal: 'principal' };

function callsFilter(f: StoredFinding): Record<string, string> {
  const filter: Record<string, string> = { from: f.window_start, to: f.window_end };
  if (f.subaccount) filter.subaccount = f.subaccount;
  const param = ENTITY_FILTER[f.entity_type];
  if (param && f.entity) filter[param] = f.entity;
  // backend_health: the entity is "<subaccount>/<virtual host>:<port>"; the explorer filters by host.
  if (f.entity_type === 'backend') {
    const host = f.entity.slice(f.entity.indexOf('/') + 1).replace(/:\d+$/, '');
    if (host) filter.virtual_host = host;
  }
  if (f.detector === 'deny_burst' || f.detector === 'path_enumeration' || f.detector === 'auth_failure_burst') filter.decision = 'deny';
  return filter;
}

function view(f: StoredFinding) {
  return { ...f, evidence: { ...f.evidence }, calls_filter: callsFilter(f) };
}

function visible(principal: Principal, f: StoredFinding): boolean {
  return principal.subaccounts === '*' || (f.subaccount !== '' && canSeeSubaccount(principal, f.subaccount));
}

/** A store failure as 503 (logged), as query() in query-kit does for the dashboard's own queries. */
async function storeRead<T>(ctx: DashboardContext, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof TunnelwatchError) throw err;
    ctx.log.error({ err }, 'findings query failed');
    throw new TunnelwatchError('TW_ERR_DASH_STORE_UNAVAILABLE', (err as Error).message.split('\n')[0]?.slice(0, 300), { cause: err });
  }
}

export async function findingRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  app.get('/api/v1/findings', {
    config: { access: 'analyst' },
    schema: {
      tags: ['findings'],
      summary: 'Findings of the anomaly detectors',
      description: 'Findings whose window overlaps the range (default the last hour; the page asks for longer), newest first, with their explanation, evidence and the calls-explorer filter of the calls behind each. Only subaccounts in your scope; cross-subaccount findings only without a scope.',
      querystring: FindingsQuery,
      response: { 200: FindingsResponse, ...ERRORS },
    },
  }, async (request) => {
    const q = request.query as Static<typeof FindingsQuery>;
    const principal = principalOf(request);
    const range = resolveRange(q);
    if (q.subaccount !== undefined) requireSubaccount(principal, q.subaccount);
    const subaccounts = q.subaccount !== undefined ? [q.subaccount] : principal.subaccounts === '*' ? undefined : [...principal.subaccounts];
    const rows = await storeRead(ctx, () => readFindings(ctx.store, {
      from: range.from,
      to: range.to,
      ...(subaccounts ? { subaccounts } : {}),
      ...(q.detector?.length ? { detectors: q.detector } : {}),
      ...(q.min_severity ? { minSeverity: q.min_severity as Severity } : {}),
      limit: q.limit ?? 200,
    }));
    const findings = rows.filter((f) => visible(principal, f)).map(view);
    const by_severity: Record<string, number> = {};
    const by_detector: Record<string, number> = {};
    for (const f of findings) {
      by_severity[f.severity] = (by_severity[f.severity] ?? 0) + 1;
      by_detector[f.detector] = (by_detector[f.detector] ?? 0) + 1;
    }
    return { from: range.from.toISOString(), to: range.to.toISOString(), findings, by_severity, by_detector };
  });

  app.get('/api/v1/findings/:finding_id', {
    config: { access: 'analyst' },
    schema: {
      tags: ['findings'],
      summary: 'One finding',
      description: 'One finding with its explanation, evidence and the calls-explorer filter of the calls behind it. 404 when unknown or outside your scope.',
      params: Type.Object({ finding_id: Type.String({ pattern: '^[A-Za-z0-9._:-]{1,128}$', description: 'the finding id' }) }),
      response: { 200: FindingSchema, ...ERRORS, 404: ErrorResponse },
    },
  }, async (request) => {
    const { finding_id } = request.params as { finding_id: string };
    const principal = principalOf(request);
    const [found] = await storeRead(ctx, () => readFindingsById(ctx.store, [finding_id]));
    if (!found || !visible(principal, found)) throw new TunnelwatchError('TW_ERR_DASH_NOT_FOUND', `no finding ${finding_id}`);
    return view(found);
  });
}
