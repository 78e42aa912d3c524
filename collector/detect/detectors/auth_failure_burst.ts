// auth_failure_burst: many unauthenticated attempts at the relay in a few minutes (credential stuffing, a
// scanner, or a client whose token expired). The relay records them with deny_reason 'unauthenticated'
// and subaccount '' (it could not tell whose they were); they sit at the front of the audit_events key,
// so the scan is small. Counted twice:
//   - per client IP: one address trying token after token;
//   - relay-wide (entity_type 'relay', entity '*'): the same stuffing spread over many addresses (a botnet,
//     a pool of proxies), a few attempts each, which no single address shows. Judged on the number of
//     distinct addresses trying, against the relay's own busiest window of an ordinary day (every
//     internet-facing relay sees scanners knock all day): a spread is many addresses, and one address's
//     burst, the per-IP finding, adds one to it (so days with such bursts do not raise the relay's
//     baseline); with at least min_attempts_relay attempts in the window.
import { burstBaselineText, burstCandidates, judgeBurst } from '../burst.js';
import type { Detector, Hit } from '../detector.js';
import { finishHits, warmupCap, type HitDraft } from '../hits.js';
import { fmt, scoreOf } from '../score.js';

const WHERE = "deny_reason = 'unauthenticated' AND client_ip != ''";
/** The relay-wide entity: every client IP. */
export const RELAY_ENTITY = '*';

export const authFailureBurst: Detector = {
  id: 'auth_failure_burst',
  summary: 'a burst of unauthenticated attempts at the relay, from one client IP or spread over many',
  defaults: { enabled: true, window_minutes: 15, min_attempts: 20, factor: 3, min_ips: 10, min_attempts_relay: 40, base_score: 55 },
  paramDocs: {
    window_minutes: 'window length (minutes)',
    min_attempts: 'fewest unauthenticated attempts from one IP in a window that can raise a finding',
    factor: 'attempts from one IP, or distinct IPs at the relay, must also reach this multiple of the baseline (median of the IP\'s, or the relay\'s, daily busiest window)',
    min_ips: 'fewest distinct client IPs making unauthenticated attempts at the relay as a whole in a window that can raise a relay-wide finding',
    min_attempts_relay: 'and at least this many attempts among them',
    base_score: 'score at the threshold (+20 per doubling above it)',
  },
  entityPreference: ['client_ip', 'relay'],
  async detect(ctx, p) {
    const window = p.window_minutes;
    const factor = p.factor as number;
    const hits: Hit[] = [];
    for (const level of ['client_ip', 'relay'] as const) {
      const floor = (level === 'client_ip' ? p.min_attempts : p.min_ips) as number;
      const entity = level === 'client_ip' ? 'client_ip' : `'${RELAY_ENTITY}'`;
      const { grid, candidates } = await burstCandidates(ctx, window, floor, {
        source: 'audit_events',
        time: 'ts',
        where: WHERE,
        subaccount: 'subaccount',
        entity,
        metric: level === 'client_ip' ? 'count()' : 'uniqExact(client_ip)',
        extras: {
          hosts: 'uniqExact(virtual_host)', agents: 'groupUniqArray(3)(user_agent)', attempts: 'count()', top_ips: 'topK(5)(client_ip)',
          top_hosts: "topK(3)(concat(virtual_host, ':', toString(virtual_port)))",
        },
      });
      const drafts: HitDraft[] = [];
      for (const c of candidates) {
        const v = judgeBurst(ctx, c, floor, factor);
        if (!v) continue;
        const agents = (c.extras.agents as string[] | undefined) ?? [];
        const attempts = Number(c.extras.attempts);
        if (level === 'relay' && attempts < (p.min_attempts_relay as number)) continue;
        const hosts = Number(c.extras.hosts);
        const agentText = agents.length ? `, user agent(s) ${agents.map((a) => JSON.stringify(a)).join(', ')}` : '';
        const topIps = (c.extras.top_ips as string[] | undefined) ?? [];
        const topHosts = (c.extras.top_hosts as string[] | undefined) ?? [];
        drafts.push(level === 'client_ip' ? {
          win: c.win,
          subaccount: c.subaccount,
          entity_type: 'client_ip',
          entity: c.entity,
          score: scoreOf(p.base_score as number, v.ratio),
          ...warmupCap(v.partial),
          title: `${fmt(c.observed)} unauthenticated attempts from ${c.entity} in ${window} minutes`,
          explanation: `Observed: client IP ${c.entity} made ${fmt(c.observed)} attempts the relay refused as unauthenticated in ${window} minutes, ` +
            `against ${fmt(hosts)} virtual host(s)${agentText}. ` + burstBaselineText(v, 'attempts', floor, factor, window),
          evidence: { observed: c.observed, baseline: v.baseline, threshold: v.threshold, history_days: v.historyDays, virtual_hosts: hosts, user_agents: agents },
        } : {
          win: c.win,
          subaccount: c.subaccount,
          entity_type: 'relay',
          entity: c.entity,
          score: scoreOf(p.base_score as number, v.ratio),
          ...warmupCap(v.partial),
          title: `${fmt(attempts)} unauthenticated attempts at the relay from ${fmt(c.observed)} client IPs in ${window} minutes`,
          explanation: `Observed: ${fmt(c.observed)} client IPs made ${fmt(attempts)} attempts the relay refused as unauthenticated in ${window} minutes ` +
            `(${fmt(attempts / Math.max(1, c.observed))} each on average; most from ${topIps.join(', ')}), against ${fmt(hosts)} virtual host(s)${topHosts.length ? ` (${topHosts.join(', ')})` : ''}${agentText}. ` +
            burstBaselineText(v, 'client IPs', floor, factor, window).replace(/\.$/, '') + `, with at least ${fmt(p.min_attempts_relay as number)} attempts.`,
          evidence: {
            observed: c.observed, baseline: v.baseline, threshold: v.threshold, history_days: v.historyDays, client_ips: c.observed, attempts, top_client_ips: topIps,
            virtual_hosts: hosts, top_virtual_hosts: topHosts, user_agents: agents,
          },
        });
      }
      hits.push(...await finishHits(ctx, grid, { subaccount: 'subaccount', entity, where: WHERE }, drafts));
    }
    return hits;
  },
};
