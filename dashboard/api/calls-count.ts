// How many calls a filter matches. When every filter is a column of the rollups (subaccount, virtual
// host, decision, status class, error type, deny reason), whole hours come from audit_hour, whole minutes
// around them from audit_minute, and only the partial minutes at both ends are counted from the events:
// a month is ~720 hour rows per combination instead of ten million events. Otherwise the events
// themselves are counted, which reads the filtered columns of every event in the range (about a second
// per ten million on two cores): GET /api/v1/calls leaves that to GET /api/v1/calls/count.
//
// Events are counted without FINAL. The writer drops duplicates before they are inserted, so the table
// holds each event_id once (docs/store.md, "Delivery") and count() agrees with FINAL; where a copy did get
// past the filter (two collectors writing one server at once) the rollups count it twice too, so both
// paths of this count agree with each other. FINAL would merge the sort keys of every row in the range:
// 5-15 times the time of the count itself.
import type { DashboardContext } from '../context.js';
import type { CallFilter } from './calls-filter.js';
import { cover, spansWhere } from './overview-levels.js';
import { chTime, num, query } from './query-kit.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * Whether the rollup still holds every minute of the range that audit_events holds: the two tables expire
 * at different times (days vs months of partitions), so only ranges well inside both retentions qualify.
 */
function rollupCovers(ctx: DashboardContext, fromMs: number, now: number): boolean {
  const { auditDays, rollupDays } = ctx.store.retention;
  const days = Math.min(auditDays || Infinity, rollupDays || Infinity);
  return days === Infinity || fromMs >= now - (days - 2) * DAY_MS;
}

/** Whether countCalls() answers from the rollups (bounded work whatever the range), not from the events. */
export function countsFromRollups(ctx: DashboardContext, filter: CallFilter, now = Date.now()): boolean {
  return filter.rollupWhere !== undefined && rollupCovers(ctx, filter.range.from.getTime(), now);
}

export async function countCalls(ctx: DashboardContext, filter: CallFilter, now = Date.now()): Promise<number> {
  const fromMs = filter.range.from.getTime();
  const toMs = filter.range.to.getTime();
  const firstMinute = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS;
  const lastMinute = Math.floor(toMs / MINUTE_MS) * MINUTE_MS;
  if (!countsFromRollups(ctx, filter, now) || lastMinute - firstMinute < 5 * MINUTE_MS) {
    const [row] = await query<{ n: string }>(ctx, `SELECT count() AS n FROM audit_events${filter.where}`, filter.params);
    return num(row?.n);
  }
  const spans = cover(firstMinute / 1000, lastMinute / 1000, [60, 3600]);
  const hours = spansWhere(spans.filter((s) => s.level === 3600), 'h', 'hour', null);
  const minutes = spansWhere(spans.filter((s) => s.level === 60), 'm', 'minute', null);
  const params = { ...filter.params, ...hours.params, ...minutes.params, m_first: chTime(new Date(firstMinute)), m_last: chTime(new Date(lastMinute)) };
  // The partial minutes at the ends, as two ranges (an OR across the whole range would read all of it).
  const [row] = await query<{ n: string }>(ctx, `SELECT
      (SELECT count() FROM audit_events${filter.where} AND ts < {m_first:DateTime64(3, 'UTC')})
    + (SELECT count() FROM audit_events${filter.where} AND ts >= {m_last:DateTime64(3, 'UTC')})
    + (SELECT sum(calls) FROM audit_minute WHERE ${minutes.sql}${filter.rollupWhere})
    + (SELECT sum(calls) FROM audit_hour WHERE ${hours.sql}${filter.rollupWhere}) AS n`, params);
  return num(row?.n);
}
