// GET /api/v1/overview: everything the Overview page draws, in one call. Figures come from the
// multi-grain rollups (overview-queries.ts), so the range counts whole minutes.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { DashboardContext } from '../context.js';
import { loadOverview } from './overview-queries.js';
import { LatencySchema, NullableNumber, TopList } from './overview-series.js';
import { bucketSeconds, ErrorResponse, principalOf, requireSubaccount, resolveRange, TimeRangeQuery } from './query-kit.js';

const OverviewQuery = Type.Object({
  ...TimeRangeQuery.properties,
  subaccount: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'only this subaccount (403 when outside your scope); the `subaccounts` menu still lists all' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'rows of top_backends and top_denied' })),
});

const Int = (description: string) => Type.Integer({ description });
const IntSeries = (description: string) => Type.Array(Type.Integer(), { description });
const LatencySeries = (description: string) => Type.Array(NullableNumber, { description: `${description}; null where no allowed call` });

const CallCounts = {
  calls: Int('calls'),
  denied: Int('refused calls (decision deny)'),
  errors: Int('backend errors: calls with an error_type'),
  status_5xx: Int('calls answered with a 5xx status (backend errors and relay refusals such as no_connector)'),
};

const OverviewResponse = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  bucket_seconds: Int('width of one bucket of `series` (60 s up to 1 day, at most ~180 buckets)'),
  subaccount: Type.Union([Type.String(), Type.Null()], { description: 'the subaccount filter, or null' }),
  totals: Type.Object({
    ...CallCounts,
    allowed: Int('calls minus denied'),
    bytes_in: Int('request bytes from cloud apps'),
    bytes_out: Int('response bytes to cloud apps'),
    deny_rate: Type.Number({ description: 'denied / calls (0 when no calls)' }),
    error_rate: Type.Number({ description: 'errors / calls' }),
    status_5xx_rate: Type.Number({ description: 'status_5xx / calls' }),
    subaccounts: Int('subaccounts with calls'),
  }, { description: 'over the whole range; zeros for a range without calls' }),
  latency_us: LatencySchema,
  subaccounts: Type.Array(Type.Object({ subaccount: Type.String(), ...CallCounts }), {
    description: 'subaccounts in your scope with calls in the range, busiest first (at most 200), whatever the subaccount filter: for a filter menu',
  }),
  series: Type.Object({
    buckets: Type.Array(Type.String({ format: 'date-time' }), { description: 'bucket starts; every other array is aligned with this one. Each bucket\'s figures sum to `totals`' }),
    calls: IntSeries('calls per bucket'),
    allowed: IntSeries('allowed calls per bucket'),
    denied: IntSeries('denied calls per bucket'),
    errors: IntSeries('backend errors per bucket'),
    status_5xx: IntSeries('5xx answers per bucket'),
    latency_p50_us: LatencySeries('median duration of allowed calls per bucket, µs'),
    latency_p95_us: LatencySeries('95th percentile, µs'),
    latency_p99_us: LatencySeries('99th percentile, µs'),
    by_subaccount: Type.Array(Type.Object({
      subaccount: Type.String({ description: '"" for the `other` series' }),
      other: Type.Boolean({ description: 'true for the sum of the subaccounts not drawn on their own' }),
      calls: IntSeries('calls per bucket'),
    }), { description: 'calls per bucket of the 8 busiest subaccounts, then one series for all others; they sum to `calls`' }),
  }),
  top_backends: TopList(Type.Object({
    subaccount: Type.String(),
    virtual_host: Type.String(),
    virtual_port: Type.Integer(),
    internal_host: Type.String(),
    internal_port: Type.Integer(),
    protocol: Type.String({ description: 'backend protocol: http, https, tcp, tcps' }),
    ...CallCounts,
    p95_us: Type.Union([Type.Integer(), Type.Null()], { description: '95th percentile duration of allowed calls, µs' }),
  }), 'backends (virtual host:port -> internal host:port) by calls'),
  top_denied: TopList(Type.Object({
    subaccount: Type.String(),
    cloud_app: Type.String(),
    virtual_host: Type.String(),
    virtual_port: Type.Integer(),
    path: Type.String({ description: 'the path as decided on (normalised), without the query' }),
    deny_reason: Type.String(),
    calls: Type.Integer(),
    last_minute: Type.String({ format: 'date-time', description: 'start of the last minute with such a refusal' }),
  }), 'refused resources by calls (then the most recently refused first), per subaccount, app, virtual host:port, path and reason'),
}, { description: 'The Overview page in one response. Counts come from the rollups (whole days, hours, quarter hours and minutes), exact to the minute: the range is widened to whole minutes.' });

export async function overviewRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  app.get('/api/v1/overview', {
    config: { access: 'viewer' },
    schema: {
      tags: ['overview'],
      summary: 'Calls, refusals, errors, latency, top backends and top denied resources over a time range',
      description: 'Everything the Overview page shows. Only subaccounts in your scope are counted.',
      querystring: OverviewQuery,
      response: { 200: OverviewResponse, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 503: ErrorResponse },
    },
  }, async (request) => {
    const q = request.query as Static<typeof OverviewQuery>;
    const principal = principalOf(request);
    const range = resolveRange(q);
    if (q.subaccount !== undefined) requireSubaccount(principal, q.subaccount);
    return loadOverview(ctx, principal, {
      range,
      bucketSeconds: bucketSeconds(range),
      limit: q.limit ?? 10,
      ...(q.subaccount !== undefined ? { subaccount: q.subaccount } : {}),
    });
  });
}
