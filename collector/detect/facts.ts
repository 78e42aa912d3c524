// Per-sweep aggregates of audit_events that several detectors read (scratch.ts): one pass over the big
// table for each, instead of one per detector and entity type.
//   app_half:          calls, denied calls (all, and those deny_burst counts) and bytes out per subaccount,
//                      cloud app and half hour
//                      (volume_spike, exfiltration: hourly windows on the plain and the half-hour-shifted grid;
//                      deny_burst's long window of apps)
//   app_hour:          the same per hour, from app_half (off_hours for apps)
//   <kind>_day:        per subaccount, entity and UTC day: calls, denied calls, a 24-bit mask of the hours
//                      with calls and one of the busy hours (off_hours)
//   user_agent_app_day: per subaccount, cloud app, user agent ('' included) and UTC day: calls, denied
//                      calls, a 24-bit mask of the hours with calls (rare_user_agent, cross_subaccount)
//   refused:           the refused calls, and the allowed ones answered 400/403/404/405/410, themselves
//                      (deny_burst, path_enumeration)
import type { DetectContext } from './detector.js';
import type { Scratch } from './scratch.js';
import { windowGrid } from './sql.js';

function horizon(ctx: DetectContext): { hfrom: string | number; hto: string | number } {
  // The horizon is the same for every window length (whole days before the first judged day).
  const { params } = windowGrid(ctx, 60);
  return { hfrom: params.hfrom as string, hto: params.hto as string };
}

const IN_HORIZON = "ts >= {hfrom:DateTime64(3, 'UTC')} AND ts < {hto:DateTime64(3, 'UTC')}";

/**
 * An hour is busy for an entity when it made calls in at least this many of the six 10-minute slots of
 * the hour, or of the hour from its half past to the next half past (then both hours it touches are
 * busy): activity, not a stray call or two (which would make every quiet hour of a sparse principal a
 * candidate), and a session of 45 minutes from 21:30 is as busy as one from 21:00. Kept as bits per
 * slot, which is far cheaper to aggregate than counts per hour. Days are aggregated apart; the hour from
 * 23:30 to 00:30 is judged across them (withMidnight).
 */
export const BUSY_SLOTS = 3;

/**
 * SQL over the day's 144 ten-minute slots as three UInt64 words w0, w1, w2 of eight hours each (slot s:
 * word s / 48, bit s % 48): `mask` (bit h: calls in hour h) and `busy_day` (bit h: hour h busy within the
 * day, BUSY_SLOTS), both UInt32, and the day's first and last half hours as slot bits, `head` (00:00-00:29)
 * and `tail` (23:30-23:59), for withMidnight. The hour masks are unrolled into plain arithmetic: UInt256
 * shifts per event and a lambda per hour and row cost several times more.
 */
function hourMasksSql(): string {
  const six = (h: number) => `bitAnd(bitShiftRight(w${Math.floor(h / 8)}, ${(h % 8) * 6}), 63)`;
  const bits = (hours: number, test: (h: number) => string) =>
    `toUInt32(${Array.from({ length: hours }, (_, h) => `bitShiftLeft(toUInt32(${test(h)}), ${h})`).join(' + ')})`;
  // Bit h: the hour from h:30 to (h + 1):30 is busy (the last three slots of h, the first three of h + 1).
  const straddle = bits(23, (h) => `bitCount(bitShiftRight(${six(h)}, 3)) + bitCount(bitAnd(${six(h + 1)}, 7)) >= ${BUSY_SLOTS}`);
  return `${bits(24, (h) => `${six(h)} != 0`)} AS mask,
    bitOr(${bits(24, (h) => `bitCount(${six(h)}) >= ${BUSY_SLOTS}`)}, bitOr(${straddle}, bitShiftLeft(${straddle}, 1))) AS busy_day,
    toUInt8(bitAnd(w0, 7)) AS head, toUInt8(bitShiftRight(w2, 45)) AS tail`;
}

/**
 * The day table `raw` (columns DAY_COLUMNS, busy_day, head, tail) with `busy`: busy_day plus the hour from
 * 23:30 to 00:30 when it is busy (BUSY_SLOTS of its six slots), which makes hour 23 of the day before and
 * hour 0 of the day after busy, as within a day. A window over each entity's days in order: its neighbour
 * row is the day before or after only when the entity was active that day. Over the materialised table,
 * not inside the aggregation: the window there held up the aggregate (on 10 million events, principals
 * 0.65 -> 1.3 s against +0.12 s this way).
 */
function withMidnight(ctx: DetectContext, what: string, raw: string): Promise<string> {
  return ctx.scratch.table(what, `
    SELECT ${DAY_COLUMNS}, toUInt32(bitOr(busy_day, bitOr(
        if(prev_day = day - 1 AND bitCount(prev_tail) + bitCount(head) >= ${BUSY_SLOTS}, 1, 0),
        if(next_day = day + 1 AND bitCount(tail) + bitCount(next_head) >= ${BUSY_SLOTS}, 8388608, 0)))) AS busy
    FROM (
      SELECT ${DAY_COLUMNS}, busy_day, head, tail,
        lagInFrame(day, 1, toInt64(-2)) OVER w AS prev_day, lagInFrame(tail, 1, toUInt8(0)) OVER w AS prev_tail,
        leadInFrame(day, 1, toInt64(-2)) OVER w AS next_day, leadInFrame(head, 1, toUInt8(0)) OVER w AS next_head
      FROM ${raw}
      WINDOW w AS (PARTITION BY sub, entity ORDER BY day ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING)
    )`, {});
}

/**
 * Refusals that say something about the caller's intent (deny_burst): not unauthenticated (auth_failure_burst),
 * rate_limited or no_connector (load and availability).
 */
export const PROBING_REASONS: readonly string[] = ['app_not_trusted', 'no_mapping', 'protocol_not_allowed', 'path_not_allowed', 'method_not_allowed', 'resource_suspended', 'malformed_request'];

/**
 * Columns sub, entity (the app), half (DateTime, start of the half hour), calls, denied, probing (denied for
 * one of PROBING_REASONS), bytes, slots (bit k: calls in minutes 10k..10k+9 of the hour).
 */
export function appHalfHourTable(ctx: DetectContext): Promise<string> {
  const app = ['subaccount', 'cloud_app'];
  const sql = (hashed: boolean) => `
    SELECT ${hashed ? 'any(subaccount) AS sub, any(cloud_app) AS entity' : 'subaccount AS sub, cloud_app AS entity'}, toStartOfInterval(ts, INTERVAL 30 MINUTE) AS half, count() AS calls,
      countIf(decision = 'deny') AS denied, countIf(decision = 'deny' AND deny_reason IN (${PROBING_REASONS.map((r) => `'${r}'`).join(', ')})) AS probing,
      sumIf(bytes_out, decision = 'allow') AS bytes,
      groupBitOr(bitShiftLeft(toUInt8(1), intDiv(toMinute(ts), 10))) AS slots${hashed ? `, ${HASH.mixed(app)} AS mixed` : ''}
    FROM audit_events WHERE ${IN_HORIZON} AND cloud_app != ''
    GROUP BY ${hashed ? HASH.key(app) : 'sub, entity'}, half`;
  return checkedTable(ctx, 'app_half', sql(true), sql(false), horizon(ctx));
}

/** Columns sub, entity (the app), hour (DateTime), calls, denied, bytes, slots (bit k: calls in minutes 10k..10k+9). */
export async function appHourTable(ctx: DetectContext): Promise<string> {
  const half = await appHalfHourTable(ctx);
  return ctx.scratch.table('app_hour', `
    SELECT sub, entity, toStartOfHour(half) AS hour, sum(calls) AS calls, sum(denied) AS denied, sum(bytes) AS bytes, groupBitOr(slots) AS slots
    FROM ${half} GROUP BY sub, entity, hour`, {});
}

export type DayKind = 'principal' | 'client_ip' | 'cloud_app';

const DAY_COLUMNS = 'sub, entity, day, calls, denied, mask, apps';

/**
 * Columns sub, entity, day (Int64 days since the epoch), calls, denied, mask (UInt32, bit h = calls in
 * hour h), busy (UInt32, bit h = hour h busy, see BUSY_SLOTS), apps (always empty; kept for the column set).
 */
export async function entityDayTable(ctx: DetectContext, kind: DayKind): Promise<string> {
  if (kind === 'cloud_app') {
    // From app_hour: the apps' hours are already grouped there.
    const source = await appHourTable(ctx);
    const appWords = [0, 1, 2].map((k) => `groupBitOrIf(bitShiftLeft(toUInt64(t.slots), (toHour(t.hour) % 8) * 6), intDiv(toHour(t.hour), 8) = ${k}) AS w${k}`).join(', ');
    return withMidnight(ctx, 'cloud_app_day', await ctx.scratch.table('cloud_app_day_raw', `
      SELECT sub, entity, day, calls, denied, ${hourMasksSql()}, apps
      FROM (
        SELECT t.sub AS sub, t.entity AS entity, toInt64(intDiv(toUnixTimestamp(t.hour), 86400)) AS day, sum(t.calls) AS calls, sum(t.denied) AS denied,
          ${appWords}, [t.entity] AS apps
        FROM ${source} AS t GROUP BY sub, entity, day
      )`, {}));
  }
  const slot = 'intDiv(toUInt32(toUnixTimestamp(ts)) % 86400, 600)';
  const words = [0, 1, 2].map((k) => `groupBitOrIf(bitShiftLeft(toUInt64(1), ${slot} % 48), intDiv(${slot}, 48) = ${k}) AS w${k}`).join(', ');
  const daySql = (hashed: boolean) => `
    SELECT sub, entity, day, calls, denied, ${hourMasksSql()}, apps${hashed ? ', entity != entity_max OR sub != sub_max AS mixed' : ''}
    FROM (
      SELECT ${hashed ? `min(subaccount) AS sub, max(subaccount) AS sub_max, min(${kind}) AS entity, max(${kind}) AS entity_max` : `subaccount AS sub, ${kind} AS entity`},
        toInt64(intDiv(toUnixTimestamp(ts), 86400)) AS day, count() AS calls, countIf(decision = 'deny') AS denied, ${words},
        CAST([], 'Array(String)') AS apps
      FROM audit_events WHERE ${IN_HORIZON} AND ${kind} != ''
      GROUP BY ${hashed ? HASH.key(['subaccount', kind]) : 'sub, entity'}, day
    )`;
  // Grouped by a hash of subaccount and entity (on 10 million events, principals 0.54 -> 0.36 s). The values themselves are kept as their least and greatest in the group,
  // so the check is exact: an agent string made to collide is caught like a chance collision.
  return withMidnight(ctx, `${kind}_day`, await checkedTable(ctx, `${kind}_day_raw`, daySql(true), daySql(false), horizon(ctx)));
}

/**
 * Columns sub, app (the cloud app, '' for none), entity (the user agent, '' when the call had none), day
 * (Int64 days since the epoch), calls, denied, mask (UInt32, bit h = calls in hour h): authenticated calls
 * only (subaccount != ''), and not TCP sessions, which carry no user agent at all. Per app, because an agent is normal for the app that sends it: the tenant's
 * batch job using python-requests says nothing about python-requests on a web app's token. The empty agent
 * is a value like any other: an app that always sends one and suddenly sends none is a different client.
 * Grouped by a hash of the three columns, checked (HASH): the agent is free text, so the check is exact.
 */
export function agentAppDayTable(ctx: DetectContext): Promise<string> {
  const key = ['subaccount', 'cloud_app', 'user_agent'];
  const sql = (hashed: boolean) => `
    SELECT sub, app, entity, day, calls, denied, mask${hashed ? ', entity != entity_max OR sub != sub_max OR app != app_max AS mixed' : ''}
    FROM (
      SELECT ${hashed
        ? 'min(subaccount) AS sub, max(subaccount) AS sub_max, min(cloud_app) AS app, max(cloud_app) AS app_max, min(user_agent) AS entity, max(user_agent) AS entity_max'
        : 'subaccount AS sub, cloud_app AS app, user_agent AS entity'},
        toInt64(intDiv(toUnixTimestamp(ts), 86400)) AS day, count() AS calls, countIf(decision = 'deny') AS denied,
        groupBitOr(bitShiftLeft(toUInt32(1), toHour(ts))) AS mask
      FROM audit_events WHERE ${IN_HORIZON} AND subaccount != '' AND protocol != 'tcp'
      GROUP BY ${hashed ? HASH.key(key) : 'sub, app, entity'}, day
    )`;
  return checkedTable(ctx, 'user_agent_app_day', sql(true), sql(false), horizon(ctx));
}

/**
 * Grouping by a 64-bit hash of the key columns instead of by the columns: the engine groups several
 * String or LowCardinality columns by serialising every row's values, which costs it two to three times
 * more than one number (docs/detectors.md, "What keeps a sweep cheap"). `key` is the hash; `mixed` an
 * aggregate that is true when a group holds more than one key (by a second, independent 32-bit hash).
 * A test replaces `key` to force collisions.
 */
export const HASH = {
  key: (columns: readonly string[]): string => `cityHash64(${columns.join(', ')})`,
  mixed: (columns: readonly string[]): string => `min(xxHash32(${columns.join(', ')})) != max(xxHash32(${columns.join(', ')}))`,
};

/**
 * The scratch table of `hashed` (grouped by HASH.key, with a Bool column `mixed`), or, when any of its
 * groups is mixed (two keys shared a hash), that of `exact`, grouped by the values: the detectors read the
 * same rows either way.
 */
export function checkedTable(ctx: DetectContext, what: string, hashed: string, exact: string, params: Record<string, unknown>): Promise<string> {
  // Checked once per sweep (the scratch), however many detectors ask.
  const checked = checkedBySweep.get(ctx.scratch) ?? new Map<string, Promise<string>>();
  checkedBySweep.set(ctx.scratch, checked);
  let table = checked.get(what);
  if (!table) {
    table = (async () => {
      const t = await ctx.scratch.table(what, hashed, params);
      const [check] = await ctx.store.query<{ n: string | number }>(`SELECT count() AS n FROM ${t} WHERE mixed`);
      return Number(check?.n ?? 0) === 0 ? t : ctx.scratch.table(`${what}_exact`, exact, params);
    })();
    checked.set(what, table);
  }
  return table;
}

const checkedBySweep = new WeakMap<Scratch, Map<string, Promise<string>>>();

/**
 * Answers of a backend to an allowed call that say the target is not there or not for this caller, what a
 * scan collects: bad request, forbidden (a backend's or a WAF's own access checks), not found, method not
 * allowed, gone. Not 401: it refuses the credentials, which any path would have got (as the relay's
 * unauthenticated refusals), and a backend that stops accepting a tenant's token answers 401 on every path
 * its apps call, an outage rather than a scan (peer_deviation's 4xx rate). Not 409, 412, 422 or 429: those
 * answer what a client sent or how often, about a target that exists.
 */
export const PROBE_STATUSES: readonly number[] = [400, 403, 404, 405, 410];

/**
 * The refused calls of the horizon and the allowed ones a backend answered with a PROBE_STATUSES status:
 * subaccount, cloud_app, principal, client_ip, path, query, decision, deny_reason, status, ts.
 */
export function refusedTable(ctx: DetectContext): Promise<string> {
  return ctx.scratch.table('refused', `
    SELECT subaccount, cloud_app, principal, client_ip, path, query, decision, deny_reason, status, ts
    FROM audit_events WHERE ${IN_HORIZON} AND (decision = 'deny' OR (decision = 'allow' AND status IN (${PROBE_STATUSES.join(', ')})))`, horizon(ctx));
}
