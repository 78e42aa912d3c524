// backend_failure: a burst of calls that failed at one backend: no answer at all (DNS, refused or timed-out
// connections, TLS, resets, backend timeouts, internal errors: error_type set), or an answer that is itself
// a server error (an allowed call the backend answered 5xx: error_type '' under the spec, since it did
// answer; an application server whose database is gone answers 503 to everything). Operational rather
// than security: for admins, so its severity stops at high. Read from the audit_minute rollup, where
// error_type and the status class are in the key.
//
// A backend with a normal trickle of 5xx answers (a legacy service that fails 2 % of its calls every day)
// is judged against itself: the failed count against its usual busiest window (the burst baseline, which
// keeps a daily clump of failures quiet), and the failed share against its own usual failed share (the
// median daily share over the baseline days), by a binomial test on the window's calls as peer_deviation
// does (a busy hour with the usual share of failures is no outage, however many failures it holds) and
// by share_factor.
//
// Failures of the tunnel itself are not the backend's: a call refused because the subaccount's connector
// was away (no_connector: a connector restart, the weekly maintenance) or cut when the tunnel broke
// (tunnel_down) says nothing about the system behind it, and such an outage hits every backend of the
// subaccount at once: one operational event that the connector's status shows, not a finding per backend.
//
// A backend that fails at the same time on the same weekday every week (a weekly maintenance window of the
// system behind it) is still reported, for the admin who wonders why calls failed, but at low severity:
// when it failed as badly within an hour of that time on that weekday in every earlier week of the
// baseline, the finding says so and is not raised as an incident again each week.
import { burstBaselineText, burstCandidates, judgeBurst } from '../burst.js';
import type { DetectContext, Detector } from '../detector.js';
import { finishHits, type HitDraft } from '../hits.js';
import { binomialZ, fmt, median, scoreOf } from '../score.js';
import { chTime, DAY_MS, HOUR_MS, n, WINDOW_KEY_SQL, windowKey, type WindowGrid, type WindowKey } from '../sql.js';

/** A backend is named as the cloud side reaches it: virtual host:port (the mapping). */
const BACKEND = "concat(virtual_host, ':', toString(virtual_port))";
/** Over audit_minute / audit_hour: no answer (error_type), or an allowed call answered 5xx by the backend. */
export const FAILED = "((error_type != '' AND error_type != 'tunnel_down') OR (error_type = '' AND decision = 'allow' AND status_class = 5))";
/** The same over audit_events (the samples): the status itself instead of its class. */
const FAILED_EVENTS = "((error_type != '' AND error_type != 'tunnel_down') OR (error_type = '' AND decision = 'allow' AND status >= 500 AND status < 600))";
const WHERE = `${FAILED} AND virtual_host != ''`;
/** Usual failed shares below this are treated as this (a backend that never failed is not infinitely strict). */
const SHARE_FLOOR = 0.005;
/** The share test never asks for more than this share of the window's calls to have failed. */
const MAX_SHARE_THRESHOLD = 0.5;
/** How a 5xx answer shows among the error types of the evidence. */
const ANSWERED_5XX = 'http_5xx';

export const backendFailure: Detector = {
  id: 'backend_failure',
  summary: 'a burst of failed calls (errors, unreachability, 5xx answers) on one backend; failures of the tunnel itself are not counted',
  defaults: { enabled: true, window_minutes: 15, min_failures: 5, min_share: 0.1, factor: 2, share_factor: 2, z: 4, base_score: 45 },
  paramDocs: {
    window_minutes: 'window length (minutes)',
    min_failures: 'fewest failed calls (no answer, or answered 5xx) on one backend in a window that can raise a finding',
    min_share: 'and at least this share of the backend\'s calls in the window failed (a busy backend\'s few errors are not an outage)',
    factor: 'failures must also reach this multiple of the baseline (median of the backend\'s daily busiest window)',
    share_factor: 'and the failed share must reach this multiple of the backend\'s usual failed share (median daily share over the baseline days; a backend with a normal trickle of 5xx answers is judged against it), capped at 50 %',
    z: 'and the failed count must reach this binomial z-score against the usual failed share (at least 0.5 %) given the window\'s calls: a busy window with the usual share of failures is no outage',
    base_score: 'score at the threshold (+20 per doubling above it); severity never above high',
  },
  async detect(ctx, p) {
    const window = p.window_minutes;
    const floor = p.min_failures as number;
    const factor = p.factor as number;
    const { grid, candidates } = await burstCandidates(ctx, window, floor, {
      source: 'audit_minute',
      time: 'minute',
      where: WHERE,
      subaccount: 'subaccount',
      entity: BACKEND,
      metric: 'sum(calls)',
      // Every failed row has an error type or a 5xx status: two small columns that rule out most rows.
      prewhere: "error_type != '' OR status_class = 5",
      extras: {
        total: 'sum(calls)',
        kinds: `sumMapIf([if(error_type = '', '${ANSWERED_5XX}', toString(error_type))], [calls], ${FAILED})`,
        internal: `groupUniqArrayIf(3)(if(internal_host = '', '', concat(internal_host, ':', toString(internal_port))), ${FAILED})`,
      },
      extrasWhere: "virtual_host != ''",
    });
    const judged = candidates.flatMap((c) => {
      const v = judgeBurst(ctx, c, floor, factor);
      return v ? [{ c, v }] : [];
    });
    const usual = await usualShares(ctx, grid, judged.map(({ c }) => c));
    const passed = judged.flatMap(({ c, v }) => {
      // The window's calls to the backend, failed or not (the extras are read without the failure filter).
      const total = Number(c.extras.total ?? 0);
      const share = total > 0 ? c.observed / total : 1;
      const own = usual.get(windowKey(c)) ?? { share: 0, calls: 0, days: 0 };
      const ownShare = own.share;
      // Never more than half the calls: a window where most calls fail is an outage whatever the backend's habits.
      const shareThreshold = Math.max(p.min_share as number, Math.min(MAX_SHARE_THRESHOLD, (p.share_factor as number) * ownShare));
      if (share < shareThreshold) return [];
      // The usual share in the test is at most half the capped share threshold: a backend whose baseline
      // was one long outage (all it had) is not held to failing more than every call.
      const z = binomialZ(c.observed, total, Math.min(Math.max(ownShare, SHARE_FLOOR), MAX_SHARE_THRESHOLD / 2));
      return z < (p.z as number) ? [] : [{ c, v, total, share, own, ownShare, shareThreshold, z }];
    });
    const recurring = await weeklyRecurrence(ctx, grid, passed.map(({ c }) => c), (observed) => Math.max(floor, observed / 4));
    const drafts: HitDraft[] = [];
    for (const { c, v, total, share, own, ownShare, shareThreshold, z } of passed) {
      const [names, counts] = (c.extras.kinds as [string[], unknown[]] | undefined) ?? [[], []];
      const kinds = Object.fromEntries(names.map((k, i) => [k, Number(counts[i])]));
      const kindText = Object.entries(kinds).sort((a, b) => b[1] - a[1]).map(([k, x]) => `${k} ${fmt(x)}`).join(', ');
      const internal = ((c.extras.internal as string[] | undefined) ?? []).filter((x) => x !== '');
      const weeks = recurring.get(windowKey(c));
      drafts.push({
        win: c.win,
        subaccount: c.subaccount,
        entity_type: 'backend',
        entity: c.entity,
        score: scoreOf(p.base_score as number, v.ratio),
        maxSeverity: v.partial || weeks !== undefined ? 'low' : 'high',
        title: `${fmt(c.observed)} failed calls (${Math.round(100 * share)} %) to backend ${c.entity} in ${window} minutes`,
        explanation: `Observed: ${fmt(c.observed)} of ${fmt(total)} calls to ${c.entity}${internal.length ? ` (${internal.join(', ')})` : ''} of subaccount "${c.subaccount}" failed in ${window} minutes (${Math.round(100 * share)} %: ${kindText}${kinds[ANSWERED_5XX] ? `; ${ANSWERED_5XX}: answered with a 5xx status by the backend itself` : ''}). ` +
          burstBaselineText(v, 'failed calls', floor, factor, window) +
          ` Share: at least ${pctText(p.min_share as number)} of the window's calls, and at least ${fmt(p.share_factor as number)} x the backend's usual failed share (the median daily share over its baseline days: ${own.days > 0 ? `${pctText(ownShare)}, ${fmt(own.days)} days with ${fmt(own.calls)} calls` : 'no calls'}; never more than ${pctText(MAX_SHARE_THRESHOLD)}), so ${pctText(shareThreshold)}; and a binomial z of at least ${fmt(p.z as number)} against the usual share (at least ${pctText(SHARE_FLOOR)}, at most ${pctText(MAX_SHARE_THRESHOLD / 2)}) given the window's calls: it is ${fmt(z)}.` +
          (weeks === undefined ? '' : ` It recurs weekly: within an hour of this time on the same weekday, the backend also failed ${weeks.map((w) => `${fmt(w.failed)} times ${w.weeks} week${w.weeks === 1 ? '' : 's'} before`).join(' and ')} (at least a quarter of this window's failures, and at least ${fmt(floor)}), in every earlier week of the baseline: most likely a maintenance window of the system behind it, so severity is capped at low.`),
        evidence: {
          observed: c.observed, calls: total, failed_share: share, baseline: v.baseline, threshold: v.threshold, history_days: v.historyDays, failures: kinds, internal_backends: internal,
          usual_failed_share: ownShare, share_threshold: shareThreshold, z,
          recurs_weekly: weeks ?? null,
        },
      });
    }
    return finishHits(ctx, grid, { subaccount: 'subaccount', entity: BACKEND, where: `${FAILED_EVENTS} AND virtual_host != ''` }, drafts);
  },
};

/**
 * Hits whose backend failed as badly (at least `enough(observed)` calls in one window) within an hour of the
 * same time on the same weekday in every earlier week that the baseline reaches and the store holds (at
 * least one), keyed by windowKey(), with those weeks' worst window.
 */
async function weeklyRecurrence(ctx: DetectContext, grid: WindowGrid, hits: readonly (WindowKey & { readonly observed: number })[], enough: (observed: number) => number): Promise<Map<string, { weeks: number; failed: number }[]>> {
  const out = new Map<string, { weeks: number; failed: number }[]>();
  const reach = Math.round(HOUR_MS / grid.windowMs);
  const weeksBack = (win: number) => {
    const day = Math.floor((win * grid.windowMs + grid.offsetMs) / DAY_MS);
    const weeks: number[] = [];
    for (let w = 1; 7 * w <= ctx.baselineDays && day - 7 * w >= grid.dataDay; w++) weeks.push(w);
    return weeks;
  };
  const keys: string[] = [];
  let lo = Infinity;
  let hi = -Infinity;
  for (const h of hits) {
    for (const w of weeksBack(h.win)) {
      for (let d = -reach; d <= reach; d++) {
        const win = h.win - 7 * w * grid.spd + d;
        keys.push(windowKey({ subaccount: h.subaccount, entity: h.entity, win }));
        lo = Math.min(lo, win);
        hi = Math.max(hi, win + 1);
      }
    }
  }
  if (keys.length === 0) return out;
  const rows = await ctx.store.query<{ sub: string; entity: string; win: string | number; x: string | number }>(`
    SELECT subaccount AS sub, ${BACKEND} AS entity, toInt64(intDiv(toUnixTimestamp(minute), {wsec:UInt32})) AS win, sum(calls) AS x
    FROM audit_minute
    WHERE minute >= {lo:DateTime64(3, 'UTC')} AND minute < {hi:DateTime64(3, 'UTC')} AND ${WHERE}
      AND ${WINDOW_KEY_SQL} IN {keys:Array(String)}
    GROUP BY sub, entity, win`,
  { wsec: grid.wsec, lo: chTime(lo * grid.windowMs), hi: chTime(hi * grid.windowMs), keys });
  const failed = new Map(rows.map((r) => [windowKey({ subaccount: r.sub, entity: r.entity, win: n(r.win) }), n(r.x)]));
  for (const h of hits) {
    const weeks = weeksBack(h.win).map((w) => {
      let worst = 0;
      for (let d = -reach; d <= reach; d++) worst = Math.max(worst, failed.get(windowKey({ subaccount: h.subaccount, entity: h.entity, win: h.win - 7 * w * grid.spd + d })) ?? 0);
      return { weeks: w, failed: worst };
    });
    if (weeks.length > 0 && weeks.every((w) => w.failed >= enough(h.observed))) out.set(windowKey(h), weeks);
  }
  return out;
}

function pctText(share: number): string {
  return `${(100 * share).toFixed(share < 0.1 ? 1 : 0)} %`;
}

/**
 * Each hit's backend: the median over the baseline days of the hit's day (those with calls to it) of the
 * day's failed share, and the calls of those days (audit_hour, read for the hits' backends only), keyed by
 * windowKey(). The median of daily shares, like the burst baseline, is what an ordinary day looks like: one
 * earlier outage day does not raise it.
 */
async function usualShares(ctx: DetectContext, grid: WindowGrid, hits: readonly WindowKey[]): Promise<Map<string, { share: number; calls: number; days: number }>> {
  const out = new Map<string, { share: number; calls: number; days: number }>();
  if (hits.length === 0) return out;
  const dayOf = (win: number) => Math.floor((win * grid.windowMs) / DAY_MS);
  const days = hits.map((h) => dayOf(h.win));
  const lo = Math.max(Math.min(...days) - ctx.baselineDays, grid.dataDay);
  const hi = Math.max(...days);
  const rows = await ctx.store.query<{ sub: string; entity: string; day: string | number; n_failed: string | number; n_calls: string | number }>(`
    SELECT subaccount AS sub, ${BACKEND} AS entity, toInt64(intDiv(toUnixTimestamp(hour), 86400)) AS day, sumIf(calls, ${FAILED}) AS n_failed, sum(calls) AS n_calls
    FROM audit_hour
    WHERE hour >= {lo:DateTime64(3, 'UTC')} AND hour < {hi:DateTime64(3, 'UTC')} AND virtual_host != ''
      AND concat(subaccount, '\\0', ${BACKEND}) IN {keys:Array(String)}
    GROUP BY sub, entity, day`,
  { lo: chTime(lo * DAY_MS), hi: chTime(hi * DAY_MS), keys: [...new Set(hits.map((h) => `${h.subaccount}\u0000${h.entity}`))] });
  const byBackend = new Map<string, { day: number; failed: number; calls: number }[]>();
  for (const r of rows) {
    const k = `${r.sub}\u0000${r.entity}`;
    const list = byBackend.get(k) ?? [];
    list.push({ day: n(r.day), failed: n(r.n_failed), calls: n(r.n_calls) });
    byBackend.set(k, list);
  }
  for (const h of hits) {
    const day = dayOf(h.win);
    const before = (byBackend.get(`${h.subaccount}\u0000${h.entity}`) ?? []).filter((r) => r.day < day && r.day >= day - ctx.baselineDays && r.calls > 0);
    out.set(windowKey(h), { share: median(before.map((r) => r.failed / r.calls)), calls: before.reduce((a, r) => a + r.calls, 0), days: before.length });
  }
  return out;
}
