// auth_failure_burst: many unauthenticated attempts at the relay from one client IP in a few minutes
// (credential stuffing, a scanner, or a client whose token expired). The relay records them with
// deny_reason 'unauthenticated' and subaccount '' (it could not tell whose they were); they sit at the
// front of the audit_events key, so the scan is small.
import { burstBaselineText, burstCandidates, judgeBurst } from '../burst.js';
import type { Detector } from '../detector.js';
import { finishHits, warmupCap, type HitDraft } from '../hits.js';
import { fmt, scoreOf } from '../score.js';

const WHERE = "deny_reason = 'unauthenticated' AND client_ip != ''";

export const authFailureBurst: Detector = {
  id: 'auth_failure_burst',
  summary: 'a burst of unauthenticated attempts at the relay from one client IP',
  defaults: { enabled: true, window_minutes: 15, min_attempts: 20, factor: 3, base_score: 55 },
  paramDocs: {
    window_minutes: 'window length (minutes)',
    min_attempts: 'fewest unauthenticated attempts from one IP in a window that can raise a finding',
    factor: 'attempts must also reach this multiple of the baseline (median of the IP\'s daily busiest window)',
    base_score: 'score at the threshold (+20 per doubling above it)',
  },
  async detect(ctx, p) {
    const window = p.window_minutes;
    const floor = p.min_attempts as number;
    const factor = p.factor as number;
    const { grid, candidates } = await burstCandidates(ctx, window, floor, {
      source: 'audit_events',
      time: 'ts',
      where: WHERE,
      subaccount: 'subaccount',
      entity: 'client_ip',
      metric: 'count()',
      extras: { hosts: 'uniqExact(virtual_host)', agents: 'groupUniqArray(3)(user_agent)' },
    });
    const drafts: HitDraft[] = [];
    for (const c of candidates) {
      const v = judgeBurst(ctx, c, floor, factor);
      if (!v) continue;
      const agents = (c.extras.agents as string[] | undefined) ?? [];
      drafts.push({
        win: c.win,
        subaccount: c.subaccount,
        entity_type: 'client_ip',
        entity: c.entity,
        score: scoreOf(p.base_score as number, v.ratio),
        ...warmupCap(v.partial),
        title: `${fmt(c.observed)} unauthenticated attempts from ${c.entity} in ${window} minutes`,
        explanation: `Observed: client IP ${c.entity} made ${fmt(c.observed)} attempts the relay refused as unauthenticated in ${window} minutes, ` +
          `against ${fmt(Number(c.extras.hosts))} virtual host(s)${agents.length ? `, user agent(s) ${agents.map((a) => JSON.stringify(a)).join(', ')}` : ''}. ` +
          burstBaselineText(v, 'attempts', floor, factor, window),
        evidence: { observed: c.observed, baseline: v.baseline, threshold: v.threshold, history_days: v.historyDays, virtual_hosts: Number(c.extras.hosts), user_agents: agents },
      });
    }
    return finishHits(ctx, grid, { subaccount: 'subaccount', entity: 'client_ip', where: WHERE }, drafts);
  },
};
