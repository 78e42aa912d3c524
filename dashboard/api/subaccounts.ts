// GET /api/v1/subaccounts (the list) and GET /api/v1/subaccounts/:name (one subaccount: usage over time,
// its cloud apps, principals, backends and resources). Both show only subaccounts in the caller's scope.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { DashboardContext } from '../context.js';
import { LatencySchema, NullableNumber, TopList } from './overview-series.js';
import { loadSubaccount } from './subaccount-detail.js';
import { listSubaccounts } from './subaccount-list.js';
import { bucketSeconds, ErrorResponse, principalOf, requireSubaccount, resolveRange, TimeRangeQuery } from './query-kit.js';

const ListQuery = Type.Object({
  ...TimeRangeQuery.properties,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200, description: 'subaccounts to return (busiest first)' })),
});

const DetailQuery = Type.Object({
  ...TimeRangeQuery.properties,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 25, description: 'rows of each list (apps, principals, backends, resources)' })),
});

const NameParams = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200, description: 'subaccount name (403 when outside your scope)' }),
});

const Int = (description: string) => Type.Integer({ description });
const Time = (description: string) => Type.String({ format: 'date-time', description });
const NullableInt = (description: string) => Type.Union([Type.Integer(), Type.Null()], { description });

const Counts = {
  calls: Int('calls'),
  denied: Int('refused calls'),
  errors: Int('backend errors (calls with an error_type)'),
  status_5xx: Int('calls answered with a 5xx status'),
};
const Seen = { ...Counts, last_seen: Time('time of the last call in the range') };

const ListResponse = Type.Object({
  from: Time('range start'),
  to: Time('range end'),
  total: Int('subaccounts with calls in the range'),
  subaccounts: Type.Array(Type.Object({
    subaccount: Type.String(),
    ...Counts,
    allowed: Int('allowed calls'),
    bytes_in: Int('request bytes'),
    bytes_out: Int('response bytes'),
    p95_us: NullableInt('95th percentile duration of allowed calls, µs'),
    apps: Int('distinct cloud apps'),
    principals: Int('distinct principals (end users named by the apps)'),
    last_seen: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'last call in the range' }),
  }), { description: 'busiest first' }),
}, { description: 'Subaccounts with calls in the range. Counts come from the per-minute rollup (whole minutes).' });

const IntSeries = (description: string) => Type.Array(Type.Integer(), { description });
const LatencySeries = (description: string) => Type.Array(NullableNumber, { description: `${description}; null where no allowed call` });

const DetailResponse = Type.Object({
  subaccount: Type.String(),
  from: Time('range start'),
  to: Time('range end'),
  bucket_seconds: Int('width of one bucket of `usage`'),
  last_seen: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'last call in the range; null when none' }),
  totals: Type.Object({
    ...Counts,
    allowed: Int('allowed calls'),
    bytes_in: Int('request bytes'),
    bytes_out: Int('response bytes'),
    deny_rate: Type.Number({ description: 'denied / calls' }),
    error_rate: Type.Number({ description: 'errors / calls' }),
  }, { description: 'from the per-minute rollup (whole minutes); zeros when no calls' }),
  latency_us: LatencySchema,
  usage: Type.Object({
    buckets: Type.Array(Type.String({ format: 'date-time' }), { description: 'bucket starts; the other arrays align with it and sum to `totals`' }),
    calls: IntSeries('calls per bucket'),
    allowed: IntSeries('allowed calls per bucket'),
    denied: IntSeries('denied calls per bucket'),
    errors: IntSeries('backend errors per bucket'),
    status_5xx: IntSeries('5xx answers per bucket'),
    latency_p50_us: LatencySeries('median duration of allowed calls, µs'),
    latency_p95_us: LatencySeries('95th percentile, µs'),
    latency_p99_us: LatencySeries('99th percentile, µs'),
  }),
  apps: TopList(Type.Object({ cloud_app: Type.String(), ...Seen, principals: Int('distinct principals of this app') }), 'cloud apps by calls'),
  principals: TopList(Type.Object({
    principal: Type.String({ description: '"" for calls where the app named no end user' }),
    ...Seen,
    apps: Type.Array(Type.String(), { description: 'apps this principal came through (at most 5)' }),
  }), 'principals by calls'),
  backends: TopList(Type.Object({
    virtual_host: Type.String(),
    virtual_port: Type.Integer(),
    internal_host: Type.String({ description: 'where it is mapped to; "" when no call in the range got as far as a mapping' }),
    internal_port: Type.Integer(),
    protocol: Type.String(),
    ...Seen,
    p95_us: NullableInt('95th percentile duration of allowed calls, µs'),
  }), 'backends (virtual host:port -> internal host:port) by calls'),
  resources: TopList(Type.Object({
    rule_id: Type.String({ description: 'the access rule that allowed the calls; "" for refused calls (no rule matched)' }),
    virtual_host: Type.String(),
    virtual_port: Type.Integer(),
    ...Seen,
    prefixes: Type.Array(Type.Object({
      prefix: Type.String({ description: 'the first two segments of the path' }),
      ...Seen,
    }), { description: 'busiest path prefixes under this rule (at most 5)' }),
  }), 'resources (rule and virtual host:port) by calls'),
}, { description: 'One subaccount. Lists come from audit_events (exact over the range), usage and totals from the per-minute rollup.' });

const ERRORS = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 503: ErrorResponse };

export async function subaccountRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  app.get('/api/v1/subaccounts', {
    config: { access: 'viewer' },
    schema: {
      tags: ['subaccounts'],
      summary: 'Subaccounts with calls in a time range',
      description: 'Calls, refusals, errors, latency, apps, principals and last call per subaccount in your scope.',
      querystring: ListQuery,
      response: { 200: ListResponse, ...ERRORS },
    },
  }, async (request) => {
    const q = request.query as Static<typeof ListQuery>;
    return listSubaccounts(ctx, principalOf(request), resolveRange(q), q.limit ?? 200);
  });

  app.get('/api/v1/subaccounts/:name', {
    config: { access: 'viewer' },
    schema: {
      tags: ['subaccounts'],
      summary: 'One subaccount: usage over time, cloud apps, principals, backends, resources',
      description: 'A subaccount without calls in the range answers zeros and empty lists, not 404.',
      params: NameParams,
      querystring: DetailQuery,
      response: { 200: DetailResponse, ...ERRORS },
    },
  }, async (request) => {
    const { name } = request.params as Static<typeof NameParams>;
    const q = request.query as Static<typeof DetailQuery>;
    const principal = principalOf(request);
    requireSubaccount(principal, name);
    const range = resolveRange(q);
    return loadSubaccount(ctx, principal, name, { range, bucketSeconds: bucketSeconds(range), limit: q.limit ?? 25 });
  });
}
