// cross_subaccount: one principal, client IP or user agent seen in more subaccounts in a day than it
// usually reaches: a stolen identity or a scanner walking the tenants. Such findings belong to no single
// subaccount: subaccount is '' and the entity names the principal, IP or agent; the subaccounts are in
// the evidence. Shared addresses and agents (a cloud platform's egress NAT, a common SDK) reach many
// subaccounts every day, so their own baseline keeps them quiet; so does an identity that already works
// in several tenants (a vendor's support engineer) when it reaches no more than one of them new to it in
// a day: `min_new_subaccounts` of the day's subaccounts must be outside the ones it used in its baseline.
//
// A principal is an identity of a person or a service: one that worked in a single tenant through its
// baseline (home_share of its active days there, on at least single_min_days days, and no other tenant on
// two days or more) and turns up in a
// subaccount it never used is flagged too, even alone that day, at medium at most (a consultant given a
// second tenant's account is legitimate, a stolen identity walking one tenant a day is not): the count
// rule needs min_subaccounts in one day and misses a walk of one new tenant a day. Addresses and agents
// are not judged this way: a cloud platform's shared egress address or a common SDK turns up in a newly
// onboarded tenant as a matter of course.
//
// Coarse to fine, because these columns have many values: the per-day aggregates (facts.ts, shared with
// off_hours and rare_user_agent) give the subaccounts per entity and day;
// only the unusual days (and their baseline days) are then read for the subaccounts and per window, and
// the finding spans the windows in which the entity reached a subaccount outside its baseline set.
import type { DetectorParams } from '../config.js';
import type { DetectContext, Detector, Hit } from '../detector.js';
import { agentAppDayTable, entityDayTable, HASH } from '../facts.js';
import { fmt, median, scoreOf } from '../score.js';
import { chTime, DAY_MS, n, windowGrid } from '../sql.js';

const ENTITY_TYPES = ['principal', 'client_ip', 'user_agent'] as const;

export const crossSubaccount: Detector = {
  id: 'cross_subaccount',
  summary: 'one principal, client IP or user agent across many subaccounts',
  defaults: { enabled: true, window_minutes: 60, min_subaccounts: 3, factor: 2, min_new_subaccounts: 2, base_score: 60, single_min_days: 5, home_share: 0.8, score_single: 40 },
  paramDocs: {
    single_min_days: 'a principal is single-tenant when active on at least this many of its baseline days (0 = never judged so) ...',
    home_share: '... in one subaccount on at least this share of them, and in no other on two days or more; a subaccount it did not use in the baseline is then flagged even alone that day',
    score_single: 'score of a single-tenant principal in a new subaccount (severity at most medium)',
    window_minutes: 'window length (minutes) of the finding\'s span; the count is per UTC day',
    min_subaccounts: 'fewest distinct subaccounts in a day that can raise a finding',
    factor: 'and at least this multiple of the baseline (median of the entity\'s daily count over the baseline days)',
    min_new_subaccounts: 'and at least this many of that day\'s subaccounts new to the entity (not reached in its baseline days)',
    base_score: 'score at the threshold (+20 per doubling above it)',
  },
  entityPreference: ENTITY_TYPES,
  async detect(ctx, p) {
    const grid = windowGrid(ctx, p.window_minutes);
    const floor = p.min_subaccounts as number;
    const factor = p.factor as number;
    const fromDay = Math.floor(ctx.fromMs / DAY_MS);
    const toDay = Math.floor((ctx.toMs - 1) / DAY_MS);
    const hits: Hit[] = [];
    // Subaccounts are counted by a hash of their name (distinct numbers are counted several times faster
    // than LowCardinality text: 0.87 -> 0.43 s for the client IPs of 10 million events), unless two of the
    // horizon's subaccounts share a hash; then by name.
    const [names] = await ctx.store.query<{ subs: string | number; hashes: string | number }>(`
      SELECT count() AS subs, uniqExact(${HASH.key(['subaccount'])}) AS hashes
      FROM (SELECT DISTINCT subaccount FROM audit_events WHERE ts >= {hfrom:DateTime64(3, 'UTC')} AND ts < {hto:DateTime64(3, 'UTC')})`, grid.params);
    const subCount = names !== undefined && n(names.subs) === n(names.hashes) ? `uniqExact(${HASH.key(['sub'])})` : 'uniqExact(sub)';
    for (const type of ENTITY_TYPES) {
      // Principals and agents: the per-day aggregates off_hours and rare_user_agent read too. Client IPs
      // are not per subaccount there (a shared address makes subaccounts x addresses rows): counted here.
      const table = type === 'client_ip'
        ? `(SELECT subaccount AS sub, client_ip AS entity, toInt64(intDiv(toUnixTimestamp(ts), 86400)) AS day FROM audit_events
            WHERE ts >= {hfrom:DateTime64(3, 'UTC')} AND ts < {hto:DateTime64(3, 'UTC')} AND client_ip != '')`
        : type === 'user_agent' ? await agentAppDayTable(ctx) : await entityDayTable(ctx, type);
      // Per entity and day, the count of subaccounts; the days before come from a window over the same rows.
      // Entities seen in fewer than min_subaccounts subaccounts that day cannot pass and are dropped first.
      const days = await ctx.store.query<{ entity: string; day: string | number; n: string | number; prev: unknown[] }>(`
        SELECT entity, day, n, prev FROM (
          SELECT entity, day, n, prev,
            day - greatest(day - {bdays:UInt32}, {data_day:Int64}) AS history,
            history - length(prev) AS zeros,
            intDiv(history - 1, 2) AS mid,
            if(history <= 0 OR mid < zeros, 0, arraySort(prev)[mid - zeros + 1]) AS low_median
          FROM (
            SELECT entity, day, n, groupArray(n) OVER w AS prev, max(n) OVER (PARTITION BY entity) AS top
            FROM (
              SELECT entity, day, ${subCount} AS n FROM ${table} WHERE sub != '' AND entity != '' GROUP BY entity, day
            )
            WINDOW w AS (PARTITION BY entity ORDER BY day RANGE BETWEEN {bdays:UInt32} PRECEDING AND 1 PRECEDING)
          )
          WHERE top >= {floor:UInt32} AND day >= {from_day:Int64} AND day <= {to_day:Int64} AND n >= {floor:UInt32}
        )
        -- The lower median never exceeds the median, so this keeps every day judged below (and few others).
        WHERE history >= {warmup:UInt32} AND n >= {factor:Float64} * low_median`,
      { ...grid.params, floor, factor, warmup: Math.max(1, ctx.warmupDays), from_day: fromDay, to_day: toDay });
      // The subaccounts of the candidate days and of their baseline days (few rows: read only for them).
      const candidates = days.filter((d) => n(d.n) >= Math.max(floor, factor * median([...d.prev.map(n), ...new Array<number>(Math.max(0, (n(d.day) - Math.max(n(d.day) - ctx.baselineDays, grid.dataDay)) - d.prev.length)).fill(0)])));
      const subsByDay = new Map<string, string[]>();
      if (candidates.length > 0) {
        const ents = [...new Set(candidates.map((d) => d.entity))];
        const lo = Math.min(...candidates.map((d) => n(d.day))) - ctx.baselineDays;
        const hi = Math.max(...candidates.map((d) => n(d.day))) + 1;
        const sets = await ctx.store.query<{ entity: string; day: string | number; subs: string[] }>(`
          SELECT entity, day, groupUniqArray(100)(sub) AS subs FROM ${table}
          WHERE sub != '' AND day >= {lo:Int64} AND day < {hi:Int64} AND entity IN {ents:Array(String)}
          GROUP BY entity, day`, { ...grid.params, lo, hi, ents });
        for (const r of sets) subsByDay.set(`${r.entity}\u0000${n(r.day)}`, r.subs.map(String));
      }
      const unusual = new Map<string, Unusual>();
      for (const d of candidates) {
        const day = n(d.day);
        // Days the store has before this one: an entity absent on them had 0 subaccounts there.
        const history = day - Math.max(day - ctx.baselineDays, grid.dataDay);
        if (history < Math.max(1, ctx.warmupDays)) continue;
        const prev = d.prev.map(n);
        const baseline = median([...prev, ...new Array<number>(Math.max(0, history - prev.length)).fill(0)]);
        const threshold = Math.max(floor, factor * baseline);
        if (n(d.n) < threshold) continue;
        const known = new Set<string>();
        for (let k = 1; k <= ctx.baselineDays; k++) for (const sub of subsByDay.get(`${d.entity}\u0000${day - k}`) ?? []) known.add(sub);
        const daySubs = subsByDay.get(`${d.entity}\u0000${day}`) ?? [];
        if (daySubs.filter((x) => !known.has(x)).length < (p.min_new_subaccounts as number)) continue;
        unusual.set(`${d.entity}\u0000${day}`, { entity: d.entity, day, n: n(d.n), subs: [...(subsByDay.get(`${d.entity}\u0000${day}`) ?? [])].sort(), known, baseline, threshold, history });
      }
      if (type === 'principal' && (p.single_min_days as number) > 0) {
        for (const u of await singleTenantDays(ctx, table, grid.dataDay, fromDay, toDay, p)) {
          const key = `${u.entity}\u0000${u.day}`;
          if (!unusual.has(key)) unusual.set(key, u);
        }
      }
      if (unusual.size === 0) continue;
      // The unusual days, per window, with samples.
      const wins = await ctx.store.query<{ entity: string; win: string | number; subs: string[]; calls: string; denied: string; ids: string[] }>(`
        SELECT ${type} AS entity, toInt64(intDiv(toUnixTimestamp(ts), {wsec:UInt32})) AS win, groupUniqArray(100)(subaccount) AS subs,
          count() AS calls, countIf(decision = 'deny') AS denied, arrayMap(t -> t.2, groupArraySorted({samples:UInt32})((ts, event_id))) AS ids
        FROM audit_events
        WHERE subaccount != '' AND ts >= {lo:DateTime64(3, 'UTC')} AND ts < {hi:DateTime64(3, 'UTC')}
          AND concat(${type}, '\\0', toString(intDiv(toUnixTimestamp(ts), 86400))) IN {keys:Array(String)}
        GROUP BY entity, win`,
      { wsec: grid.wsec, samples: Math.max(1, ctx.maxSamples), lo: chTime(Math.min(...[...unusual.values()].map((u) => u.day)) * DAY_MS), hi: chTime((Math.max(...[...unusual.values()].map((u) => u.day)) + 1) * DAY_MS), keys: [...unusual.keys()] });
      for (const w of wins) {
        const win = n(w.win);
        const u = unusual.get(`${w.entity}\u0000${Math.floor((win * grid.windowMs) / DAY_MS)}`);
        if (!u) continue;
        const subs = w.subs.map(String);
        const fresh = subs.filter((s) => !u.known.has(s));
        // The span: windows that reached a subaccount outside the baseline set (or, when every one was
        // known, windows in more than one subaccount).
        if (fresh.length === 0 && (u.single !== undefined || u.known.size === 0 || subs.length < 2)) continue;
        const label = type === 'user_agent' ? `user agent ${JSON.stringify(w.entity)}` : `${type.replace('_', ' ')} ${w.entity}`;
        if (u.single) {
          const home = u.single;
          hits.push({
            subaccount: '',
            entity_type: type,
            entity: w.entity,
            windowStartMs: win * grid.windowMs,
            windowEndMs: (win + 1) * grid.windowMs,
            score: scoreOf(p.score_single as number, 1),
            maxSeverity: 'medium',
            title: `${label}, until now only in ${home.sub}, seen in ${fresh.sort().join(', ')} on ${new Date(u.day * DAY_MS).toISOString().slice(0, 10)}`,
            explanation: `Observed: ${label} reached ${fmt(u.n)} subaccount(s) that day (${u.subs.join(', ')}); in this window ${fmt(n(w.calls))} calls (${fmt(n(w.denied))} denied) in ${subs.sort().join(', ')}, new to it: ${fresh.sort().join(', ')}. ` +
              `Baseline: over the last ${u.history} day(s) it was active on ${fmt(home.active)} day(s), in ${home.sub} on ${fmt(home.days)} of them${u.known.size > 1 ? ` (also seen in ${[...u.known].filter((x) => x !== home.sub).sort().join(', ')})` : ''}: a single-tenant identity. ` +
              `Threshold: active on at least ${fmt(p.single_min_days as number)} baseline days, in one subaccount on at least ${fmt(100 * (p.home_share as number))} % of them, and now in a subaccount it did not use in the baseline (severity at most medium: a second tenant's account may be legitimate).`,
            evidence: {
              observed: u.n, baseline: u.baseline, threshold: u.threshold, history_days: u.history, home_subaccount: home.sub, home_days: home.days, active_days: home.active,
              subaccounts_that_day: u.subs, subaccounts_in_window: subs.sort(), new_subaccounts: fresh.sort(), calls: n(w.calls), denied_calls: n(w.denied),
            },
            sampleEventIds: ctx.maxSamples === 0 ? [] : w.ids,
          });
          continue;
        }
        const baselineText = `a median of ${fmt(u.baseline)} subaccount(s) a day over the last ${u.history} day(s)` +
          (u.known.size ? `, namely ${[...u.known].sort().slice(0, 10).join(', ')}` : ', none before');
        hits.push({
          subaccount: '',
          entity_type: type,
          entity: w.entity,
          windowStartMs: win * grid.windowMs,
          windowEndMs: (win + 1) * grid.windowMs,
          score: scoreOf(p.base_score as number, u.n / u.threshold),
          title: `${label} seen in ${fmt(u.n)} subaccounts on ${new Date(u.day * DAY_MS).toISOString().slice(0, 10)}`,
          explanation: `Observed: ${label} reached ${fmt(u.n)} subaccounts that day (${u.subs.join(', ')}); in this window ${fmt(n(w.calls))} calls (${fmt(n(w.denied))} denied) in ${subs.sort().join(', ')}` +
            `${fresh.length ? `, new to it: ${fresh.sort().join(', ')}` : ''}. Baseline: ${baselineText}. ` +
            `Threshold: at least ${fmt(floor)} subaccounts and at least ${fmt(factor)} x baseline, so ${fmt(u.threshold)}, of which at least ${fmt(p.min_new_subaccounts as number)} new to it.`,
          evidence: { observed: u.n, baseline: u.baseline, threshold: u.threshold, history_days: u.history, subaccounts_that_day: u.subs, subaccounts_in_window: subs.sort(), new_subaccounts: fresh.sort(), calls: n(w.calls), denied_calls: n(w.denied) },
          sampleEventIds: ctx.maxSamples === 0 ? [] : w.ids,
        });
      }
    }
    return hits;
  },
};

interface Unusual {
  readonly entity: string;
  readonly day: number;
  /** Subaccounts that day. */
  readonly n: number;
  readonly subs: string[];
  /** Subaccounts of the baseline days. */
  readonly known: Set<string>;
  readonly baseline: number;
  readonly threshold: number;
  readonly history: number;
  /** A single-tenant principal in a new subaccount: its home, and its days there out of its active days. */
  readonly single?: { readonly sub: string; readonly days: number; readonly active: number };
}

/**
 * Days of the range on which a principal that worked in one subaccount through its baseline (on at least
 * single_min_days active days, home_share of them in that subaccount) used a subaccount not seen in its
 * baseline. Read for the principals that reached two subaccounts in the horizon at all: a handful.
 */
async function singleTenantDays(ctx: DetectContext, table: string, dataDay: number, fromDay: number, toDay: number, p: DetectorParams): Promise<Unusual[]> {
  const rows = await ctx.store.query<{ entity: string; day: string | number; subs: string[] }>(`
    SELECT entity, day, groupUniqArray(100)(sub) AS subs FROM ${table}
    WHERE sub != '' AND entity != '' AND entity IN (
      SELECT entity FROM ${table} WHERE sub != '' AND entity != '' AND day <= {to_day:Int64} GROUP BY entity HAVING uniqExact(sub) >= 2 AND max(day) >= {from_day:Int64})
      AND day <= {to_day:Int64}
    GROUP BY entity, day`, { from_day: fromDay, to_day: toDay });
  const byEntity = new Map<string, Map<number, string[]>>();
  for (const r of rows) {
    const days = byEntity.get(r.entity) ?? new Map<number, string[]>();
    days.set(n(r.day), r.subs.map(String));
    byEntity.set(r.entity, days);
  }
  const out: Unusual[] = [];
  for (const [entity, days] of byEntity) {
    for (const [day, subs] of days) {
      if (day < fromDay || day > toDay) continue;
      const history = day - Math.max(day - ctx.baselineDays, dataDay);
      if (history < Math.max(1, ctx.warmupDays)) continue;
      const known = new Set<string>();
      const presence = new Map<string, number>();
      let active = 0;
      for (let k = 1; k <= history; k++) {
        const before = days.get(day - k);
        if (!before) continue;
        active++;
        for (const sub of before) {
          known.add(sub);
          presence.set(sub, (presence.get(sub) ?? 0) + 1);
        }
      }
      if (active < (p.single_min_days as number)) continue;
      // Its own subaccounts: used on two days or more. A single-tenant identity has one, present on
      // home_share of its days; a vendor's engineer visiting tenants in turn has several.
      const own = [...presence].filter(([, d]) => d >= 2).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      if (own.length !== 1) continue;
      const [home, homeDays] = own[0] as [string, number];
      if (homeDays < (p.home_share as number) * active) continue;
      if (!subs.some((x) => !known.has(x))) continue;
      out.push({ entity, day, n: subs.length, subs: [...subs].sort(), known, baseline: 1, threshold: 1, history, single: { sub: home, days: homeDays, active } });
    }
  }
  return out;
}
