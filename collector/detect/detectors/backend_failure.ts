// backend_failure: a burst of calls that did not get an answer from one backend (DNS, refused or timed-out
// connections, TLS, resets, backend timeouts, internal errors). Operational rather than security: for
// admins, so its severity stops at high. Read from the audit_minute rollup, where error_type is in the key.
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
import { fmt, scoreOf } from '../score.js';
import { chTime, DAY_MS, HOUR_MS, n, WINDOW_KEY_SQL, windowKey, type WindowGrid, type WindowKey } from '../sql.js';

/** A backend is named as the cloud side reaches it: virtual host:port (the mapping). */
const BACKEND = "concat(virtual_host, ':', toString(virtual_port))";
const FAILED = "(error_type != '' AND error_type != 'tunnel_down')";
const WHERE = `${FAILED} AND virtual_host != ''`;

export const backendFailure: Detector = {
  id: 'backend_failure',
  summary: 'a burst of failed calls (errors, unreachability) on one backend; failures of the tunnel itself are not counted',
  defaults: { enabled: true, window_minutes: 15, min_failures: 5, min_share: 0.1, factor: 3, base_score: 45 },
  paramDocs: {
    window_minutes: 'window length (minutes)',
    min_failures: 'fewest failed calls on one backend in a window that can raise a finding',
    min_share: 'and at least this share of the backend\'s calls in the window failed (a busy backend\'s few errors are not an outage)',
    factor: 'failures must also reach this multiple of the baseline (median of the backend\'s daily busiest window)',
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
      extras: {
        total: 'sum(calls)',
        kinds: `sumMapIf([toString(error_type)], [calls], ${FAILED})`,
        internal: `groupUniqArrayIf(3)(if(internal_host = '', '', concat(internal_host, ':', toString(internal_port))), ${FAILED})`,
      },
      extrasWhere: "virtual_host != ''",
    });
    const judged = candidates.flatMap((c) => {
      const v = judgeBurst(ctx, c, floor, factor);
      return v ? [{ c, v }] : [];
    });
    const recurring = await weeklyRecurrence(ctx, grid, judged.map(({ c }) => c), (observed) => Math.max(floor, observed / 4));
    const drafts: HitDraft[] = [];
    for (const { c, v } of judged) {
      // The window's calls to the backend, failed or not (the extras are read without the failure filter).
      const total = Number(c.extras.total ?? 0);
      const share = total > 0 ? c.observed / total : 1;
      if (share < (p.min_share as number)) continue;
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
        explanation: `Observed: ${fmt(c.observed)} of ${fmt(total)} calls to ${c.entity}${internal.length ? ` (${internal.join(', ')})` : ''} of subaccount "${c.subaccount}" failed in ${window} minutes (${Math.round(100 * share)} %: ${kindText}). ` +
          burstBaselineText(v, 'failed calls', floor, factor, window) +
          (weeks === undefined ? '' : ` It recurs weekly: within an hour of this time on the same weekday, the backend also failed ${weeks.map((w) => `${fmt(w.failed)} times ${w.weeks} week${w.weeks === 1 ? '' : 's'} before`).join(' and ')} (at least a quarter of this window's failures, and at least ${fmt(floor)}), in every earlier week of the baseline: most likely a maintenance window of the system behind it, so severity is capped at low.`),
        evidence: {
          observed: c.observed, calls: total, failed_share: share, baseline: v.baseline, threshold: v.threshold, history_days: v.historyDays, failures: kinds, internal_backends: internal,
          recurs_weekly: weeks ?? null,
        },
      });
    }
    return finishHits(ctx, grid, { subaccount: 'subaccount', entity: BACKEND, where: WHERE }, drafts);
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
