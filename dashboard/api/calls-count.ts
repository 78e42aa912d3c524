// How many calls a filter matches. Counting audit_events FINAL costs about 130 ms per million rows in the
// range, so when every filter is a column of the per-minute rollup (subaccount, virtual host, decision,
// status class, error type, deny reason) the whole minutes come from audit_minute and only the partial
// minutes at both ends are counted from the events. The rollup counts each event once, as audit_events
// FINAL does, with one collector per store (docs/store.md, "Delivery"); anything else is counted from the
// events.
import type { DashboardContext } from '../context.js';
import type { CallFilter } from './calls-filter.js';
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

export async function countCalls(ctx: DashboardContext, filter: CallFilter, now = Date.now()): Promise<number> {
  const fromMs = filter.range.from.getTime();
  const toMs = filter.range.to.getTime();
  const firstMinute = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS;
  const lastMinute = Math.floor(toMs / MINUTE_MS) * MINUTE_MS;
  if (filter.rollupWhere === undefined || lastMinute - firstMinute < 5 * MINUTE_MS || !rollupCovers(ctx, fromMs, now)) {
    const [row] = await query<{ n: string }>(ctx, `SELECT count() AS n FROM audit_events FINAL${filter.where}`, filter.params);
    return num(row?.n);
  }
  const params = { ...filter.params, m_first: chTime(new Date(firstMinute)), m_last: chTime(new Date(lastMinute)) };
  const [edges] = await query<{ n: string }>(ctx,
    `SELECT count() AS n FROM audit_events FINAL${filter.where} AND (ts < {m_first:DateTime64(3, 'UTC')} OR ts >= {m_last:DateTime64(3, 'UTC')})`, params);
  const [middle] = await query<{ n: string }>(ctx,
    `SELECT sum(calls) AS n FROM audit_minute
     WHERE minute >= toDateTime({m_first:DateTime64(3, 'UTC')}, 'UTC') AND minute < toDateTime({m_last:DateTime64(3, 'UTC')}, 'UTC')${filter.rollupWhere}`, params);
  return num(edges?.n) + num(middle?.n);
}
