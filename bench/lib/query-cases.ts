// The API calls bench:queries times, each with the naive raw-engine query for the same view.

export interface QueryCase {
  readonly name: string;
  readonly url: string;
  readonly raw: { readonly sql: string; readonly params: Record<string, unknown> };
  /** A few words on what the answer held, for the table (proves the call did real work). */
  describe(body: Record<string, unknown>): string;
}

const HOUR = 3_600_000;

function withQueryString(path: string, params: Record<string, string>): string {
  return `${path}?${new URLSearchParams(params).toString()}`;
}
const ch = (d: Date): string => d.toISOString().replace('T', ' ').replace('Z', '');

function range(end: Date, ms: number): { from: string; to: string; params: { from: string; to: string } } {
  const from = new Date(end.getTime() - ms);
  return { from: from.toISOString(), to: end.toISOString(), params: { from: ch(from), to: ch(end) } };
}

const TS = "ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')}";

/** The naive overview: per minute and subaccount, straight from the events. */
function rawOverview(params: Record<string, unknown>, subaccount?: string): QueryCase['raw'] {
  return {
    sql: `SELECT toStartOfMinute(ts) AS minute, subaccount, count() AS calls, countIf(decision = 'deny') AS denied,
            countIf(error_type != '') AS errors, quantiles(0.5, 0.95, 0.99)(duration_us) AS latency
          FROM audit_events FINAL WHERE ${TS}${subaccount ? ' AND subaccount = {s:String}' : ''}
          GROUP BY minute, subaccount ORDER BY minute`,
    params: subaccount ? { ...params, s: subaccount } : params,
  };
}

function rawCalls(params: Record<string, unknown>, where = ''): QueryCase['raw'] {
  return {
    sql: `SELECT * FROM audit_events FINAL WHERE ${TS}${where} ORDER BY ts DESC, event_id DESC LIMIT 100`,
    params,
  };
}

const count = (body: Record<string, unknown>, key: string): number => (Array.isArray(body[key]) ? (body[key] as unknown[]).length : 0);

function overviewDetail(body: Record<string, unknown>): string {
  const totals = (body.totals ?? {}) as Record<string, number>;
  const buckets = ((body.series ?? {}) as { buckets?: unknown[] }).buckets?.length ?? 0;
  return `${Number(totals.calls ?? 0).toLocaleString('en-US')} calls, ${buckets} buckets of ${Number(body.bucket_seconds ?? 0) / 60} min`;
}

function callsDetail(body: Record<string, unknown>): string {
  const rows = count(body, 'calls') || count(body, 'rows') || count(body, 'items');
  const total = typeof body.total === 'number' ? `of ${body.total.toLocaleString('en-US')}` : '(total left to /calls/count)';
  return `${rows} rows ${total}`.trim();
}

function countDetail(body: Record<string, unknown>): string {
  return `total ${Number(body.total ?? 0).toLocaleString('en-US')}`;
}

/** The naive count: the whole filtered set of audit_events FINAL. */
function rawCount(params: Record<string, unknown>, where: string): QueryCase['raw'] {
  return { sql: `SELECT count() FROM audit_events FINAL WHERE ${TS}${where}`, params };
}

export function queryCases(end: Date): QueryCase[] {
  const h1 = range(end, HOUR);
  const h24 = range(end, 24 * HOUR);
  const d7 = range(end, 7 * 24 * HOUR);
  const d30 = range(end, 30 * 24 * HOUR);
  const big = 'tenant-00';
  return [
    { name: 'overview, last hour', url: withQueryString('/api/v1/overview', { from: h1.from, to: h1.to }), raw: rawOverview(h1.params), describe: overviewDetail },
    { name: 'overview, last 24 h', url: withQueryString('/api/v1/overview', { from: h24.from, to: h24.to }), raw: rawOverview(h24.params), describe: overviewDetail },
    { name: 'overview, last 7 days', url: withQueryString('/api/v1/overview', { from: d7.from, to: d7.to }), raw: rawOverview(d7.params), describe: overviewDetail },
    { name: 'overview, last 30 days', url: withQueryString('/api/v1/overview', { from: d30.from, to: d30.to }), raw: rawOverview(d30.params), describe: overviewDetail },
    { name: `overview, 24 h, largest subaccount`, url: withQueryString('/api/v1/overview', { from: h24.from, to: h24.to, subaccount: big }), raw: rawOverview(h24.params, big), describe: overviewDetail },
    { name: 'calls explorer, 24 h, first page', url: withQueryString('/api/v1/calls', { from: h24.from, to: h24.to }), raw: rawCalls(h24.params), describe: callsDetail },
    {
      name: 'calls explorer, 7 days, subaccount + denied',
      url: withQueryString('/api/v1/calls', { from: d7.from, to: d7.to, subaccount: big, decision: 'deny' }),
      raw: rawCalls({ ...d7.params, s: big }, " AND subaccount = {s:String} AND decision = 'deny'"),
      describe: callsDetail,
    },
    {
      name: 'calls explorer, 30 days, path prefix + 5xx',
      url: withQueryString('/api/v1/calls', { from: d30.from, to: d30.to, path_prefix: '/api/invoices/', status: '5xx' }),
      raw: rawCalls({ ...d30.params, p: '/api/invoices/' }, ' AND startsWith(path, {p:String}) AND status >= 500'),
      describe: callsDetail,
    },
    // The page leaves this total to its own call (counting reads the path of every event in the range).
    {
      name: 'calls count, 30 days, path prefix + 5xx',
      url: withQueryString('/api/v1/calls/count', { from: d30.from, to: d30.to, path_prefix: '/api/invoices/', status: '5xx' }),
      raw: rawCount({ ...d30.params, p: '/api/invoices/' }, ' AND startsWith(path, {p:String}) AND status >= 500'),
      describe: countDetail,
    },
    {
      name: 'calls explorer, 30 days, one principal',
      url: withQueryString('/api/v1/calls', { from: d30.from, to: d30.to, principal: `user7@${big}.example` }),
      raw: rawCalls({ ...d30.params, u: `user7@${big}.example` }, ' AND principal = {u:String}'),
      describe: callsDetail,
    },
    {
      name: 'calls count, 30 days, one principal',
      url: withQueryString('/api/v1/calls/count', { from: d30.from, to: d30.to, principal: `user7@${big}.example` }),
      raw: rawCount({ ...d30.params, u: `user7@${big}.example` }, ' AND principal = {u:String}'),
      describe: countDetail,
    },
  ];
}
