// off_hours: a cloud app or principal active in an hour of the day when it has (almost) never been active
// on comparable days (weekdays with weekdays, weekends with weekends, once there are enough of each). An
// hour next to its usual ones does not count (someone starting early is not an intruder): the hours on
// both sides must be rare too. Per day, ClickHouse keeps a 24-bit mask of the hours an entity was
// active (facts.ts, shared with cross_subaccount), so the baseline is a handful of integers per entity and
// day, whatever the traffic.
// Warm-up: entities with fewer than warmup_days of history are not judged.
import type { Detector, Hit } from '../detector.js';
import { entityDayTable } from '../facts.js';
import { fetchSamples, sampleKey } from '../samples.js';
import { scoreOf } from '../score.js';
import { DAY_MS, HOUR_MS, windowGrid } from '../sql.js';

const ENTITY_TYPES = ['principal', 'cloud_app'] as const;

export const offHours: Detector = {
  id: 'off_hours',
  summary: 'an app or principal active at an hour when it is historically (almost) never active',
  fixedWindowMinutes: 60,
  defaults: { enabled: true, window_minutes: 60, max_share: 0.1, neighbour_share: 0.25, min_active_share: 0.5, min_calls: 5, min_type_days: 3, base_score: 45 },
  paramDocs: {
    window_minutes: 'always 60: the baseline is per hour of the day',
    max_share: 'the hour counts as off-hours when the entity was active in it on at most this share of comparable baseline days',
    neighbour_share: 'and in the hour before and after on at most this share',
    min_active_share: 'the entity must have been active on at least this share of its baseline days (any day type): only a regular rhythm has off-hours (a sporadic support account does not)',
    min_calls: 'fewest calls in the off-hour that can raise a finding (the hour must also be busy: calls in at least 3 of its six 10-minute slots)',
    min_type_days: 'fewest baseline days of the same kind (weekday / weekend) to compare with that kind only; otherwise all days',
    base_score: 'score at min_calls (+20 per doubling of the calls, up to 4x)',
  },
  entityPreference: ENTITY_TYPES,
  async detect(ctx, p) {
    const grid = windowGrid(ctx, 60);
    const fromDay = Math.floor(ctx.fromMs / DAY_MS);
    const toDay = Math.floor((ctx.toMs - 1) / DAY_MS);
    const hits: Hit[] = [];
    for (const type of ENTITY_TYPES) {
      const where = `subaccount != '' AND ${type} != ''`;
      const table = await entityDayTable(ctx, type);
      // Inner: per entity, the hour masks of every day (baseline) and, for the judged days, the busy hours
      // (facts.ts: calls in at least 3 of the six 10-minute slots); middle: the baseline masks of each judged
      // day; outer: the rare hours. The heavy part (per-hour counts over the baseline) only runs for days
      // that had a busy hour; min_calls is checked on the few candidates with their samples.
      const rows = await ctx.store.query<{ sub: string; entity: string; day: string | number; odd: number[]; act: number[]; basis_days: number; same: boolean | number; hist: number }>(`
        SELECT sub, entity, day, odd, act, basis_days, same, hist FROM (
          SELECT sub, entity, day, busy, hist, same, basis_days, active_days,
            arrayMap(h -> arrayCount(m -> bitTest(m, h), bm), range(24)) AS act,
            arrayFilter(h -> act[h + 1] <= {max_share:Float64} * basis_days
              AND act[((h + 23) % 24) + 1] <= {nb_share:Float64} * basis_days
              AND act[((h + 1) % 24) + 1] <= {nb_share:Float64} * basis_days, busy) AS odd
          FROM (
            SELECT sub, entity, d.1 AS day,
              arrayFilter(h -> bitTest(d.3, h) AND d.1 * 24 + h >= {from_win:Int64} AND d.1 * 24 + h < {to_win:Int64}, range(24)) AS busy,
              greatest(d.1 - {bdays:UInt32}, first_day, {data_day:Int64}) AS lo,
              d.1 - lo AS hist,
              toDayOfWeek(toDateTime(d.1 * 86400, 'UTC')) >= 6 AS wk,
              arrayCount(k -> (toDayOfWeek(toDateTime(k * 86400, 'UTC')) >= 6) = wk, range(lo, d.1)) AS same_days,
              same_days >= {min_type_days:UInt32} AS same,
              if(same, same_days, hist) AS basis_days,
              arrayCount(x -> x.1 >= lo AND x.1 < d.1, masks) AS active_days,
              arrayMap(x -> x.2, arrayFilter(x -> x.1 >= lo AND x.1 < d.1 AND (NOT same OR (toDayOfWeek(toDateTime(x.1 * 86400, 'UTC')) >= 6) = wk), masks)) AS bm
            FROM (
              SELECT sub, entity, arraySort(groupArray((day, mask))) AS masks,
                groupArrayIf((day, mask, busy), day >= {from_day:Int64} AND day <= {to_day:Int64}) AS days, min(day) AS first_day
              FROM ${table}
              WHERE sub != ''
              GROUP BY sub, entity
            )
            ARRAY JOIN days AS d
            WHERE notEmpty(busy) AND hist >= {warmup:UInt32}
          )
        )
        WHERE notEmpty(odd) AND active_days >= {active_share:Float64} * hist`,
      { ...grid.params, active_share: p.min_active_share as number, from_day: fromDay, to_day: toDay, warmup: Math.max(1, ctx.warmupDays), max_share: p.max_share as number, nb_share: p.neighbour_share as number, min_type_days: p.min_type_days as number });
      const cands = rows.flatMap((r) => r.odd.map((h) => ({ r, h, win: Number(r.day) * 24 + Number(h) })));
      // The calls of each candidate hour (and samples) in one query; quiet hours with a stray call or two drop out here.
      const samples = await fetchSamples(ctx, 3600, { subaccount: 'subaccount', entity: type, where }, cands.map((c) => ({ subaccount: c.r.sub, entity: c.r.entity, win: c.win })));
      for (const { r, h, win } of cands) {
        const s = samples.get(sampleKey({ subaccount: r.sub, entity: r.entity, win }));
        const calls = s?.count ?? 0;
        if (calls < (p.min_calls as number)) continue;
        const activeDays = r.act[h] ?? 0;
        const basis = r.same ? (new Date(Number(r.day) * DAY_MS).getUTCDay() % 6 === 0 ? 'weekend days' : 'weekdays') : 'days';
        const who = `${type === 'cloud_app' ? 'cloud app' : 'principal'} "${r.entity}"`;
        const hh = String(h).padStart(2, '0');
        hits.push({
          subaccount: r.sub,
          entity_type: type,
          entity: r.entity,
          windowStartMs: win * HOUR_MS,
          windowEndMs: (win + 1) * HOUR_MS,
          score: scoreOf(p.base_score as number, Math.min(4, calls / Math.max(1, p.min_calls as number))),
          title: `${type === 'cloud_app' ? 'Cloud app' : 'Principal'} ${r.entity} active at ${hh}:00 UTC, an hour it is almost never active`,
          explanation: `Observed: ${who} of subaccount "${r.sub}" made ${calls} calls between ${hh}:00 and ${hh}:59 UTC. ` +
            `Baseline: it was active in that hour on ${activeDays} of the last ${r.basis_days} ${basis} (${r.hist} days of history), and rarely in the hours around it. ` +
            `Threshold: active on at most ${Math.round((p.max_share as number) * 100)} % of them (${Math.round((p.neighbour_share as number) * 100)} % for the neighbouring hours), and at least ${p.min_calls} calls.`,
          evidence: { observed: calls, hour_utc: h, active_days_in_hour: activeDays, baseline_days: r.basis_days, basis, history_days: r.hist, active_days_by_hour: r.act },
          sampleEventIds: s?.ids ?? [],
        });
      }
    }
    return hits;
  },
};
