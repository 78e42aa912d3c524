// backend_failure: a burst of calls that did not get an answer from one backend (DNS, refused or timed-out
// connections, TLS, resets, backend timeouts, internal errors). Operational rather than security: for
// admins, so its severity stops at high. Read from the audit_minute rollup, where error_type is in the key.
//
// Failures of the tunnel itself are not the backend's: a call refused because the subaccount's connector
// was away (no_connector: a connector restart, the weekly maintenance) or cut when the tunnel broke
// (tunnel_down) says nothing about the system behind it, and such an outage hits every backend of the
// subaccount at once: one operational event that the connector's status shows, not a finding per backend.
import { burstBaselineText, burstCandidates, judgeBurst } from '../burst.js';
import type { Detector } from '../detector.js';
import { finishHits, type HitDraft } from '../hits.js';
import { fmt, scoreOf } from '../score.js';

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
    const drafts: HitDraft[] = [];
    for (const c of candidates) {
      const v = judgeBurst(ctx, c, floor, factor);
      if (!v) continue;
      // The window's calls to the backend, failed or not (the extras are read without the failure filter).
      const total = Number(c.extras.total ?? 0);
      const share = total > 0 ? c.observed / total : 1;
      if (share < (p.min_share as number)) continue;
      const [names, counts] = (c.extras.kinds as [string[], unknown[]] | undefined) ?? [[], []];
      const kinds = Object.fromEntries(names.map((k, i) => [k, Number(counts[i])]));
      const kindText = Object.entries(kinds).sort((a, b) => b[1] - a[1]).map(([k, x]) => `${k} ${fmt(x)}`).join(', ');
      const internal = ((c.extras.internal as string[] | undefined) ?? []).filter((x) => x !== '');
      drafts.push({
        win: c.win,
        subaccount: c.subaccount,
        entity_type: 'backend',
        entity: c.entity,
        score: scoreOf(p.base_score as number, v.ratio),
        maxSeverity: v.partial ? 'low' : 'high',
        title: `${fmt(c.observed)} failed calls (${Math.round(100 * share)} %) to backend ${c.entity} in ${window} minutes`,
        explanation: `Observed: ${fmt(c.observed)} of ${fmt(total)} calls to ${c.entity}${internal.length ? ` (${internal.join(', ')})` : ''} of subaccount "${c.subaccount}" failed in ${window} minutes (${Math.round(100 * share)} %: ${kindText}). ` +
          burstBaselineText(v, 'failed calls', floor, factor, window),
        evidence: { observed: c.observed, calls: total, failed_share: share, baseline: v.baseline, threshold: v.threshold, history_days: v.historyDays, failures: kinds, internal_backends: internal },
      });
    }
    return finishHits(ctx, grid, { subaccount: 'subaccount', entity: BACKEND, where: WHERE }, drafts);
  },
};
