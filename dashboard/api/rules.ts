// GET /api/v1/rules: every access rule the connectors enforce, from the snapshot each connector reports
// (POST /v1/rules on the collector), with how often each rule allowed a call and when last, so unused
// rules stand out; and rule ids that calls named but that no current snapshot holds (removed rules).
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { DashboardContext } from '../context.js';
import { ErrorResponse, principalOf, requireSubaccount } from './query-kit.js';
import { loadRules } from './rules-usage.js';

const RulesQuery = Type.Object({
  usage_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 400, default: 30, description: 'usage window: calls and last use are counted over the last this many days' })),
  subaccount: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'only rules of this subaccount (403 when outside your scope)' })),
  connector_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'only rules of this connector' })),
  unused_only: Type.Optional(Type.Boolean({ default: false, description: 'only rules without an allowed call in the window' })),
});

const Time = (description: string) => Type.String({ format: 'date-time', description });
const Int = (description: string) => Type.Integer({ description });

const Connector = Type.Object({
  connector_id: Type.String(),
  location_id: Type.String({ description: '"" is the default location' }),
  snapshot_hash: Type.String({ description: 'SHA-256 of the rules\' canonical JSON: equal hashes, equal rules' }),
  taken_at: Time('when the connector last reported these rules (at start, on change, and every 6 hours while it runs)'),
  received_at: Time('when the collector received that report'),
  age_s: Int('seconds since taken_at'),
  stale: Type.Boolean({ description: 'age_s > stale_after_s: the connector stopped reporting (stopped, or cannot reach the collector); its rules may have changed since' }),
  subaccounts: Type.Array(Type.String(), { description: 'subaccounts it serves (in your scope)' }),
  rules: Int('rules (resources and tcp mappings) in your scope'),
  unused: Int('of which unused in the window'),
  suspended: Int('of which suspended (active: false)'),
});

const Rule = Type.Object({
  connector_id: Type.String(),
  location_id: Type.String(),
  subaccount: Type.String(),
  rule_id: Type.String({ description: 'what audit events name as rule_id: the resource id, or the mapping id of a tcp/tcps mapping; "" for an http mapping without resources' }),
  kind: Type.String({ description: 'resource | tcp_mapping | empty_mapping (an http/https mapping without resources: allows nothing)' }),
  mapping_id: Type.String(),
  virtual: Type.String({ description: 'virtual host:port cloud apps ask for' }),
  internal: Type.String({ description: 'internal host:port it maps to' }),
  protocol: Type.String({ description: 'http, https, tcp or tcps' }),
  host_header: Type.String({ description: 'Host header sent to the backend' }),
  path: Type.String({ description: 'resource path; "" for mappings' }),
  match: Type.String({ description: 'exact or prefix; "" for mappings' }),
  methods: Type.Array(Type.String(), { description: 'allowed methods; empty = every method' }),
  active: Type.Boolean({ description: 'false: suspended, its calls are denied with resource_suspended' }),
  websocket: Type.Boolean({ description: 'WebSocket upgrades allowed' }),
  trusted_apps: Type.Array(Type.String(), { description: 'cloud apps the subaccount trusts; empty = every app of the subaccount' }),
  calls: Int('allowed calls with this rule_id through this connector in the window'),
  last_used: Type.Union([Time('last allowed call in the window'), Type.Null()], { description: 'last allowed call in the window; null when none' }),
  unused: Type.Boolean({ description: 'active rule without an allowed call in the window (suspended rules and empty mappings never count as unused)' }),
});

const Missing = Type.Object({
  connector_id: Type.String(),
  subaccount: Type.String(),
  rule_id: Type.String(),
  calls: Int('allowed calls in the window'),
  last_used: Time('last allowed call'),
  reason: Type.String({ description: 'not_in_snapshot: the connector\'s current rules do not hold it (removed or renamed); no_snapshot: the connector never reported its rules (older version, or no audit.collector)' }),
});

const RulesResponse = Type.Object({
  usage_days: Int('the usage window, days'),
  from: Time('window start'),
  to: Time('window end (now)'),
  stale_after_s: Int('a snapshot older than this is flagged stale'),
  totals: Type.Object({
    connectors: Int('connectors with a snapshot (with rules in your scope)'),
    rules: Int('rules (resources and tcp mappings)'),
    unused: Int('rules without an allowed call in the window'),
    suspended: Int('suspended rules'),
    missing: Int('rule ids seen in calls but absent from the current snapshots'),
  }, { description: 'over every rule that passes the subaccount and connector filters (unused_only does not change them)' }),
  connectors: Type.Array(Connector, { description: 'the latest snapshot of each connector' }),
  rules: Type.Array(Rule, { description: 'every rule of those snapshots, by connector, subaccount and configuration order' }),
  missing: Type.Array(Missing, { description: 'rule ids that allowed calls in the window but are in no current snapshot of their connector' }),
}, { description: 'Access rules with their usage. Calls are exact (audit_events) over the window.' });

const ERRORS = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 503: ErrorResponse };

export async function ruleRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  app.get('/api/v1/rules', {
    config: { access: 'viewer' },
    schema: {
      tags: ['rules'],
      summary: 'Access rules of every connector, with their use',
      description: 'The rules each connector enforces (from the snapshot it reports at start, on change and every 6 hours), each with its allowed calls and last use in the window; unused rules are marked. Rule ids that calls named but no current snapshot holds are listed apart. Only subaccounts in your scope.',
      querystring: RulesQuery,
      response: { 200: RulesResponse, ...ERRORS },
    },
  }, async (request) => {
    const q = request.query as Static<typeof RulesQuery>;
    const principal = principalOf(request);
    if (q.subaccount !== undefined) requireSubaccount(principal, q.subaccount);
    return loadRules(ctx, principal, {
      usageDays: q.usage_days ?? 30,
      subaccount: q.subaccount,
      connectorId: q.connector_id,
      unusedOnly: q.unused_only ?? false,
    });
  });
}
