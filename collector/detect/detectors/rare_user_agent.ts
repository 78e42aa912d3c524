// rare_user_agent: a user agent the subaccount has not seen in its baseline that is a known attack tool
// (sqlmap, nikto, nmap, ...), a scripting client whose family the subaccount never used (curl,
// python-requests, Go-http-client, ...), or, at low severity, any agent family new to the subaccount that
// no other subaccount uses either. Agents a subaccount uses on several days (its own Python jobs) are its
// baseline and stay quiet, as does a weekly job's agent on the same weekday, while one other earlier day
// of use does not make a tool normal; a new version of a known family (okhttp/4.12.0 -> 4.12.1) is not new.
// Warm-up: subaccounts with fewer than warmup_days of history are not judged.
// Unauthenticated calls at the relay (subaccount '') are not judged: an internet-facing relay sees every
// scanner and script on the internet try it as an open proxy, one or two calls each, which is background,
// not a client of a tenant; a burst of them is auth_failure_burst's.
import type { Detector, Hit } from '../detector.js';
import { fetchSamples } from '../samples.js';
import { fmt, scoreOf } from '../score.js';
import { entityDayTable } from '../facts.js';
import { DAY_MS, HOUR_MS, windowGrid, windowKey } from '../sql.js';

/** Attack and scanning tools: flagged whenever the exact agent is new to the subaccount. */
export const SCANNER_AGENTS = /sqlmap|nikto|nmap|masscan|zgrab|nuclei|gobuster|dirbuster|dirb\/|feroxbuster|ffuf|wfuzz|hydra|acunetix|nessus|openvas|burp|owasp[ _-]?zap|zaproxy|w3af|arachni|wpscan|whatweb|skipfish|commix|metasploit|jaeles|httpx - open-source|netsparker|qualys|appscan|havij|brutus|medusa|fimap|xsstrike|dalfox|katana|interactsh/i;
/** Scripting clients: flagged when their family is new to the subaccount. */
export const TOOL_AGENTS = /^(curl|wget|python-requests|python-urllib|python-httpx|aiohttp|httpie|go-http-client|libwww-perl|lwp::|powershell|windowspowershell|postmanruntime|insomnia|java\/|ruby|php\/|scrapy|node-fetch|undici|headlesschrome)|headlesschrome|phantomjs|puppeteer|selenium/i;

export type AgentClass = 'scanner' | 'tool' | 'other';

export function classifyAgent(agent: string): AgentClass {
  if (SCANNER_AGENTS.test(agent)) return 'scanner';
  if (TOOL_AGENTS.test(agent)) return 'tool';
  return 'other';
}

export const rareUserAgent: Detector = {
  id: 'rare_user_agent',
  summary: 'a tool-like or rare user agent new to the subaccount',
  fixedWindowMinutes: 60,
  defaults: { enabled: true, window_minutes: 60, min_calls: 1, known_days: 2, rare_max_subaccounts: 1, score_scanner: 65, score_tool: 45, score_rare: 25 },
  paramDocs: {
    window_minutes: 'always 60: agents are counted per hour (facts.ts)',
    min_calls: 'fewest calls with the agent in an hour',
    known_days: 'an agent (or family) is the subaccount\'s own once used on at least this many days of the baseline, or on the same weekday a week or two before (a weekly job): one other earlier day (the same stolen token and curl last Tuesday) does not make a tool normal',
    rare_max_subaccounts: 'an agent family that is neither a scanner nor a tool is rare when at most this many subaccounts use it',
    score_scanner: 'score of a known attack or scanning tool',
    score_tool: 'score of a scripting client whose family is new to the subaccount',
    score_rare: 'score of a rare family (low: new SDKs appear)',
  },
  async detect(ctx, p) {
    const grid = windowGrid(ctx, 60);
    // Used on known_days days of the baseline, or on the same weekday a week or two before (a weekly job).
    const knownOn = (days: string) => `(arrayCount(x -> x >= d.1 - {bdays:UInt32} AND x < d.1, ${days}) >= {known_days:UInt32}
          OR arrayExists(x -> x >= d.1 - {bdays:UInt32} AND x < d.1 AND (d.1 - x) % 7 = 0, ${days}))`;
    const table = await entityDayTable(ctx, 'user_agent');
    // Per agent and judged day, with the days the agent and its family were used in the subaccount.
    const rows = await ctx.store.query<Record<string, unknown>>(`
      SELECT sub, ua, fam, d.1 AS day, d.2 AS mask, d.3 AS denied, d.4 AS apps, fam_subs, sub_first,
        arrayCount(x -> x >= d.1 - {bdays:UInt32} AND x < d.1, ua_days) AS ua_seen,
        ${knownOn('ua_days')} AS ua_known,
        ${knownOn('fam_days')} AS fam_known
      FROM (
        SELECT sub, ua, fam, days, ua_days,
          groupUniqArrayArray(ua_days) OVER (PARTITION BY sub, fam) AS fam_days,
          uniqExact(sub) OVER (PARTITION BY fam) AS fam_subs,
          min(arrayMin(ua_days)) OVER (PARTITION BY sub) AS sub_first
        FROM (
          SELECT sub, entity AS ua, lower(extract(entity, '^\\s*([^/ (;]+)')) AS fam,
            groupArrayIf((day, mask, denied, apps), day >= {from_day:Int64} AND day <= {to_day:Int64}) AS days,
            groupArray(day) AS ua_days
          FROM ${table}
          WHERE sub != ''
          GROUP BY sub, entity
        )
      )
      ARRAY JOIN days AS d
      WHERE NOT ua_known`, { ...grid.params, known_days: Math.max(1, p.known_days as number), from_day: Math.floor(ctx.fromMs / DAY_MS), to_day: Math.floor((ctx.toMs - 1) / DAY_MS) });
    interface Candidate { win: number; h: number; sub: string; ua: string; fam: string; kind: AgentClass; base: number; why: string; famKnown: boolean; famSubs: number; denied: number; apps: string[]; history: number; seenDays: number }
    const cands: Candidate[] = [];
    for (const r of rows) {
      const ua = String(r.ua);
      const day = Number(r.day);
      const history = day - Math.max(Number(r.sub_first), grid.dataDay);
      if (history < ctx.warmupDays) continue;
      const kind = classifyAgent(ua);
      const famKnown = r.fam_known === true || r.fam_known === 1;
      const famSubs = Number(r.fam_subs);
      const fam = String(r.fam);
      let base: number;
      let why: string;
      if (kind === 'scanner') {
        base = p.score_scanner as number;
        why = 'it is a known attack or scanning tool';
      } else if (kind === 'tool' && !famKnown) {
        base = p.score_tool as number;
        why = `it is a scripting client and its family "${fam}" is new to the subaccount`;
      } else if (!famKnown && famSubs <= (p.rare_max_subaccounts as number)) {
        base = p.score_rare as number;
        why = `its family "${fam}" is new to the subaccount and used by ${famSubs} subaccount(s) in the store`;
      } else {
        continue;
      }
      const mask = Number(r.mask);
      const apps = ((r.apps as string[] | undefined) ?? []).filter((a) => a !== '');
      for (let h = 0; h < 24; h++) {
        const win = day * 24 + h;
        if ((mask & (1 << h)) === 0 || win < grid.fromWin || win >= grid.toWin) continue;
        cands.push({ win, h, sub: String(r.sub), ua, fam, kind, base, why, famKnown, famSubs, denied: Number(r.denied), apps, history, seenDays: Number(r.ua_seen) });
      }
    }
    // The calls of each candidate hour, with its samples.
    const samples = await fetchSamples(ctx, 3600, { subaccount: 'subaccount', entity: 'user_agent', where: "user_agent != ''" }, cands.map((c) => ({ subaccount: c.sub, entity: c.ua, win: c.win })));
    const hits: Hit[] = [];
    for (const c of cands) {
      const sample = samples.get(windowKey({ subaccount: c.sub, entity: c.ua, win: c.win }));
      const calls = sample?.count ?? 0;
      if (calls < Math.max(1, p.min_calls as number)) continue;
      const hh = String(c.h).padStart(2, '0');
      hits.push({
        subaccount: c.sub,
        entity_type: 'user_agent',
        entity: c.ua,
        windowStartMs: c.win * HOUR_MS,
        windowEndMs: (c.win + 1) * HOUR_MS,
        // More calls with a new tool add a little: a one-off curl is less than a scripted run.
        score: scoreOf(c.base, Math.min(2, Math.max(1, Math.log10(Math.max(1, calls))))),
        title: `${c.kind === 'scanner' ? 'Attack tool' : c.kind === 'tool' ? 'Scripting client' : 'Rare user agent'} ${JSON.stringify(c.ua.slice(0, 80))} in subaccount ${c.sub || '(unauthenticated)'}`,
        explanation: `Observed: ${fmt(calls)} calls with user agent ${JSON.stringify(c.ua)} in subaccount "${c.sub}" between ${hh}:00 and ${hh}:59 UTC` +
          ` (${fmt(c.denied)} denied that day${c.apps.length ? `; cloud app(s) ${c.apps.join(', ')}` : ''}). ` +
          `Baseline: the subaccount ${c.seenDays === 0 ? 'did not use this agent in' : `used this agent on ${fmt(c.seenDays)} of`} the ${ctx.baselineDays} days before (${c.history} days of history; an agent is its own from ${fmt(p.known_days as number)} days, or from the same weekday a week or two before)${c.famKnown ? ', though it uses other versions of its family' : ''}. ` +
          `Threshold: flagged because ${c.why}.`,
        evidence: { observed: calls, agent_class: c.kind, family: c.fam, family_known: c.famKnown, family_subaccounts: c.famSubs, denied_calls_that_day: c.denied, cloud_apps: c.apps, history_days: c.history, agent_days_in_baseline: c.seenDays },
        sampleEventIds: sample?.ids ?? [],
      });
    }
    return hits;
  },
};
