// off_hours: a cloud app or principal active in an hour of the day when it has (almost) never been active
// on comparable days (weekdays with weekdays, weekends with weekends, once there are enough of each). An
// hour next to its usual ones does not count (someone starting early is not an intruder): the hours on
// both sides must be rare too. Per day, ClickHouse keeps a 24-bit mask of the hours an entity was
// active (facts.ts, shared with cross_subaccount), so the baseline is a handful of integers per entity and
// day, whatever the traffic. Nor does an hour inside the span of its usual hours (off-hours-rhythm.ts), nor,
// for an app, an hour in which it only served principals who were at their own usual hours.
// Warm-up: entities with fewer than warmup_days of history are not judged.
import type { Detector, Hit } from '../detector.js';
import { entityDayTable } from '../facts.js';
import { localOffsetSql, localWeek, weekendMasksSql } from '../local-week.js';
import { inUsualSpan, quietChance, servingUsualPrincipals } from '../off-hours-rhythm.js';
import { fetchSamples } from '../samples.js';
import { scoreOf } from '../score.js';
import { firstDaySql, KNOWN_APPS, KNOWN_PRINCIPALS } from '../seasonal.js';
import { DAY_MS, HOUR_MS, windowGrid, windowKey } from '../sql.js';

const ENTITY_TYPES = ['principal', 'cloud_app'] as const;

export const offHours: Detector = {
  id: 'off_hours',
  summary: 'an app or principal active at an hour when it is historically (almost) never active',
  fixedWindowMinutes: 60,
  defaults: { enabled: true, window_minutes: 60, max_share: 0.1, neighbour_share: 0.25, min_active_share: 0.5, max_chance: 0.05, span_margin_hours: 2, min_calls: 5, min_type_days: 3, base_score: 45 },
  paramDocs: {
    window_minutes: 'always 60: the baseline is per hour of the day',
    max_share: 'the hour counts as off-hours when the entity was active in it on at most this share of comparable baseline days',
    neighbour_share: 'and in the hour before and after on at most this share',
    min_active_share: 'the entity must have been active on at least this share of its baseline days (any day type): only a regular rhythm has off-hours (a sporadic support account does not)',
    max_chance: 'judge only a rhythm regular enough: (1 - s)^n at most this, s the share of comparable days its busiest hour is active, n those days (the chance that one of its usual hours looks as quiet)',
    span_margin_hours: 'an hour within this many hours of the span of its usual hours (first to last hour active on more than max_share of the days) is not off-hours',
    min_calls: 'fewest calls in the off-hour that can raise a finding (the hour must also be busy: calls in at least 3 of its six 10-minute slots, or of the six from its half past to the next)',
    min_type_days: 'fewest baseline days of the same kind (weekday / weekend) to compare with that kind only; otherwise all days',
    base_score: 'score at min_calls (+20 per doubling of the calls, up to 4x)',
  },
  entityPreference: ENTITY_TYPES,
  async detect(ctx, p) {
    const grid = windowGrid(ctx, 60);
    const fromDay = Math.floor(ctx.fromMs / DAY_MS);
    const toDay = Math.floor((ctx.toMs - 1) / DAY_MS);
    const hits: Hit[] = [];
    const lw = await localWeek(ctx);
    const rhythm = { maxShare: p.max_share as number, neighbourShare: p.neighbour_share as number, minActiveShare: p.min_active_share as number, minTypeDays: p.min_type_days as number, maxChance: p.max_chance as number, spanMarginHours: p.span_margin_hours as number };
    for (const type of ENTITY_TYPES) {
      const where = `subaccount != '' AND ${type} != ''`;
      const table = await entityDayTable(ctx, type);
      // A person keeps their own hours in whichever subaccount they work: a principal's rhythm is read
      // over all subaccounts (a vendor's support engineer in Berlin office hours is not off-hours at a
      // Tokyo tenant's midnight); an app's is its own subaccount's.
      const scope = type === 'principal' ? "''" : 'sub';
      // An entity known from before the horizon is as old as a sweep over the whole store finds it (seasonal.ts).
      const firstDay = await firstDaySql(ctx, type === 'principal' ? KNOWN_PRINCIPALS : KNOWN_APPS, '(scope, entity)', 'min(day)');
      // Inner: per entity, the hour masks of every day (baseline; a principal's over all subaccounts) and,
      // for the judged days, the busy hours (facts.ts: calls in at least 3 of six 10-minute slots);
      // middle: per judged day, the baseline counts per hour; outer: the rare hours. The kind of day (local
      // weekend or not, local-week.ts) is per hour, a Tokyo tenant's UTC Sunday evening being its Monday
      // morning: `wms` holds the subaccount's weekend-hour masks from lo to the judged day (all in the week
      // known on the judged day), `eqs` for each baseline day its hours of the same kind as the judged
      // day's. The heavy part only runs for days that had a busy hour; min_calls is checked on the few
      // candidates with their samples.
      const rows = await ctx.store.query<{ sub: string; entity: string; day: string | number; odd: number[]; act: number[]; basis: number[]; wmd: string | number; same: (boolean | number)[]; hist: number }>(`
        SELECT sub, entity, day, odd, act, basis, wmd, same, hist FROM (
          SELECT sub, entity, day, busy, hist, active_days, basis, wmd, same, act,
            arrayFilter(h -> act[h + 1] <= {max_share:Float64} * basis[h + 1]
              AND act[((h + 23) % 24) + 1] <= {nb_share:Float64} * basis[((h + 23) % 24) + 1]
              AND act[((h + 1) % 24) + 1] <= {nb_share:Float64} * basis[((h + 1) % 24) + 1], busy) AS odd
          FROM (
            SELECT sub, entity, d.1 AS day,
              arrayFilter(h -> bitTest(d.3, h) AND d.1 * 24 + h >= {from_win:Int64} AND d.1 * 24 + h < {to_win:Int64}, range(24)) AS busy,
              greatest(d.1 - {bdays:UInt32}, first_day, {data_day:Int64}) AS lo,
              d.1 - lo AS hist,
              ${localOffsetSql('sub', 'd.1')} AS lw_off,
              ${weekendMasksSql('lw_off', 'lo', 'd.1')} AS wms,
              wms[length(wms)] AS wmd,
              arrayMap(m -> bitAnd(bitNot(bitXor(m, wmd)), 16777215), arrayPopBack(wms)) AS eqs,
              arrayMap(h -> arrayCount(e -> bitTest(e, h), eqs), range(24)) AS same_days,
              arrayMap(c -> c >= {min_type_days:UInt32}, same_days) AS same,
              arrayMap(c -> if(c >= {min_type_days:UInt32}, c, hist), same_days) AS basis,
              -- Bit masks, not arrays captured in nested lambdas (which ClickHouse copies per element):
              -- the hours compared with all days, each baseline day's hour mask (a slice of the entity's
              -- masks by day from the horizon on, 0 where it was not seen), and its hours that count.
              arraySum(arrayMap((c, h) -> if(c >= {min_type_days:UInt32}, 0, bitShiftLeft(toInt64(1), h)), same_days, range(24))) AS all_kinds,
              arraySlice(masks, lo - {h_day:Int64} + 1, d.1 - lo) AS ms,
              arrayMap((m, e) -> bitAnd(m, bitOr(e, all_kinds)), ms, eqs) AS counted,
              arrayCount(m -> m != 0, ms) AS active_days,
              arrayMap(h -> arrayCount(m -> bitTest(m, h), counted), range(24)) AS act
            FROM (
              SELECT sub, entity, masks, days, first_day FROM (
                SELECT sub, ${scope} AS scope, entity, groupArray((day, mask, busy)) AS days
                FROM ${table} WHERE sub != '' AND busy != 0 AND day >= {from_day:Int64} AND day <= {to_day:Int64} GROUP BY sub, entity
              ) AS j
              INNER JOIN (
                SELECT scope, entity, groupArrayInsertAt(m, toUInt32(day - {h_day:Int64})) AS masks, ${firstDay.sql} AS first_day
                FROM (SELECT ${scope} AS scope, entity, day, groupBitOr(mask) AS m FROM ${table} WHERE sub != '' GROUP BY scope, entity, day)
                GROUP BY scope, entity
              ) AS r USING (scope, entity)
            )
            ARRAY JOIN days AS d
            WHERE notEmpty(busy) AND d.1 - greatest(d.1 - {bdays:UInt32}, first_day, {data_day:Int64}) >= {warmup:UInt32}
          )
        )
        WHERE notEmpty(odd) AND active_days >= {active_share:Float64} * hist`,
      { ...grid.params, ...lw.params, h_day: grid.horizonMs / DAY_MS, active_share: p.min_active_share as number, from_day: fromDay, to_day: toDay, warmup: Math.max(1, ctx.warmupDays), max_share: p.max_share as number, nb_share: p.neighbour_share as number, min_type_days: p.min_type_days as number, ...firstDay.params });
      const cands = rows.map((r) => ({ ...r, basis: r.basis.map(Number) }))
        .filter((r) => quietChance(r.act, r.basis) <= rhythm.maxChance)
        .flatMap((r) => r.odd.filter((h) => !inUsualSpan(r.act, r.basis, rhythm.maxShare, h, rhythm.spanMarginHours)).map((h) => ({ r, h, win: Number(r.day) * 24 + Number(h) })));
      // The calls of each candidate hour (and samples) in one query; quiet hours with a stray call or two drop out here.
      const samples = await fetchSamples(ctx, 3600, { subaccount: 'subaccount', entity: type, where }, cands.map((c) => ({ subaccount: c.r.sub, entity: c.r.entity, win: c.win })));
      const busy = cands.filter((c) => (samples.get(windowKey({ subaccount: c.r.sub, entity: c.r.entity, win: c.win }))?.count ?? 0) >= (p.min_calls as number));
      const serving = type === 'cloud_app'
        ? await servingUsualPrincipals(ctx, await entityDayTable(ctx, 'principal'), busy.map((c) => ({ sub: c.r.sub, app: c.r.entity, win: c.win })), p.min_calls as number, rhythm, lw)
        : new Set<string>();
      for (const { r, h, win } of busy) {
        if (serving.has(`${r.sub}\u0000${r.entity}\u0000${win}`)) continue;
        const s = samples.get(windowKey({ subaccount: r.sub, entity: r.entity, win }));
        const calls = s?.count ?? 0;
        const activeDays = r.act[h] ?? 0;
        const isTrue = (x: boolean | number | undefined) => x === true || x === 1;
        const local = lw.offsetHours(r.sub, Number(r.day));
        const weekend = ((Number(r.wmd) >>> h) & 1) === 1;
        const basis = isTrue(r.same[h]) ? `${weekend ? 'weekend days' : 'weekdays'}${local !== 0 ? ` (local week UTC${local > 0 ? '+' : ''}${local})` : ''}` : 'days';
        const basisDays = r.basis[h] ?? 0;
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
            `Baseline: it was active in that hour on ${activeDays} of the last ${basisDays} ${basis}${type === 'principal' ? ' in any subaccount' : ''} (${r.hist} days of history), rarely in the hours around it, and the hour is more than ${p.span_margin_hours} hours outside the span of its usual hours` +
            `${type === 'cloud_app' ? ' (nor was the app only serving principals at their own usual hours)' : ''}. ` +
            `Threshold: active on at most ${Math.round((p.max_share as number) * 100)} % of them (${Math.round((p.neighbour_share as number) * 100)} % for the neighbouring hours), and at least ${p.min_calls} calls.`,
          evidence: { observed: calls, hour_utc: h, active_days_in_hour: activeDays, baseline_days: basisDays, basis, history_days: Number(r.hist), active_days_by_hour: r.act, baseline_days_by_hour: r.basis },
          sampleEventIds: s?.ids ?? [],
        });
      }
    }
    return hits;
  },
};
