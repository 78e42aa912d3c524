// rare_user_agent: a user agent that a cloud app has not sent in its baseline and that is a known attack tool
// (sqlmap, nikto, nuclei, ...), a scripting client or HTTP library whose family the app never used (curl,
// python-requests, Go-http-client, okhttp, ...), no agent at all from an app that always sends one, or, at
// low severity, any agent family new to the subaccount that no other subaccount uses either.
//
// Judged per cloud app: an agent is normal for the app that sends it. The tenant's batch job using
// python-requests every night says nothing about python-requests with a web app's token, which is someone
// holding that token in a script. A family another app of the tenant uses is still flagged on this app,
// at a lower score (the tenant's developers have such scripts). Agents an app uses on several days are its
// baseline and stay quiet, as does a weekly job's agent on the same weekday, while one other earlier day
// of use does not make a tool normal; a new version of a family the app uses (okhttp/4.12.0 -> 4.12.1) is
// not new. An agent is classified by any of its product tokens, not only the first: "Python/3.11
// aiohttp/3.9.1" is aiohttp, "Mozilla/5.0 (compatible; Nuclei)" is nuclei; its family stays its first token.
// Warm-up: apps with fewer than warmup_days of history are not judged (scanners: subaccounts).
// Unauthenticated calls at the relay (subaccount '') are not judged: an internet-facing relay sees every
// scanner and script on the internet try it as an open proxy, one or two calls each, which is background,
// not a client of a tenant; a burst of them is auth_failure_burst's.
import type { Detector, Hit } from '../detector.js';
import { fetchSamples } from '../samples.js';
import { fmt, scoreOf } from '../score.js';
import { agentAppDayTable } from '../facts.js';
import { DAY_MS, HOUR_MS, windowGrid, windowKey } from '../sql.js';

/** Attack and scanning tools: flagged whenever the exact agent is new to the app. */
export const SCANNER_AGENTS = /sqlmap|nikto|nmap|masscan|zgrab|zmap|nuclei|gobuster|dirbuster|dirb\/|dirsearch|feroxbuster|ffuf|fuzz faster u fool|wfuzz|hydra|acunetix|nessus|openvas|burp|owasp[ _-]?zap|zaproxy|w3af|arachni|wpscan|joomscan|whatweb|skipfish|commix|metasploit|jaeles|httpx - open-source|netsparker|invicti|qualys|appscan|webinspect|havij|brutus|medusa|ncrack|fimap|xsstrike|dalfox|katana|interactsh|wapiti|vega\/|paros|zmeu|morfeus|jorgee|nmap scripting engine/i;

/**
 * Scripting clients, HTTP libraries and tools: matched as a product token anywhere in the agent ("name/",
 * "name " or the whole agent, after the start, a space, "(", ";" or ","), case-insensitive.
 */
export const TOOL_TOKENS: readonly string[] = [
  'curl', 'libcurl', 'wget', 'httpie', 'postmanruntime', 'insomnia', 'thunder client', 'bruno', 'paw', 'hoppscotch',
  'python-requests', 'python-urllib', 'python-httpx', 'python', 'urllib3', 'aiohttp', 'httpx', 'httplib2', 'scrapy', 'mechanize',
  'go-http-client', 'go-resty', 'fasthttp', 'java-http-client', 'java', 'okhttp', 'apache-httpclient', 'jersey', 'reactor-netty', 'vert.x-webclient',
  'libwww-perl', 'lwp::simple', 'lwp-request', 'perl', 'php', 'guzzlehttp', 'ruby', 'faraday', 'rest-client', 'typhoeus', 'http.rb',
  'axios', 'node-fetch', 'undici', 'node', 'got', 'superagent', 'deno', 'bun',
  'powershell', 'windowspowershell', 'winhttp', 'microsoft-cryptoapi', 'restsharp', 'dart', 'reqwest', 'hackney', 'cpp-httplib', 'aria2',
  'headlesschrome', 'phantomjs', 'puppeteer', 'selenium', 'playwright', 'electron',
];

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export const TOOL_AGENTS = new RegExp(`(?:^|[\\s(;,])(?:${TOOL_TOKENS.map(escapeRegex).join('|')})(?:[/\\s;),]|$)`, 'i');

export type AgentClass = 'scanner' | 'tool' | 'empty' | 'other';

export function classifyAgent(agent: string): AgentClass {
  if (agent.trim() === '') return 'empty';
  if (SCANNER_AGENTS.test(agent)) return 'scanner';
  if (TOOL_AGENTS.test(agent)) return 'tool';
  return 'other';
}

/** The family of an agent: its first product token without the version, lower case ('' for no agent). */
export function agentFamily(agent: string): string {
  const m = /^\s*([^/ (;]+)/.exec(agent);
  return (m?.[1] ?? agent.trim().slice(0, 40)).toLowerCase();
}

/** agentFamily() in SQL over the column `col`. */
const FAMILY_SQL = (col: string) => `if(trim(${col}) = '', '', if(extract(${col}, '^\\\\s*([^/ (;]+)') = '', lower(substring(trim(${col}), 1, 40)), lower(extract(${col}, '^\\\\s*([^/ (;]+)'))))`;

export const rareUserAgent: Detector = {
  id: 'rare_user_agent',
  summary: 'a tool-like, missing or rare user agent new to the cloud app that sends it',
  fixedWindowMinutes: 60,
  defaults: { enabled: true, window_minutes: 60, min_calls: 1, known_days: 2, rare_max_subaccounts: 1, score_scanner: 65, score_tool: 45, score_tool_tenant: 30, score_empty: 45, score_rare: 25 },
  paramDocs: {
    window_minutes: 'always 60: agents are counted per hour (facts.ts)',
    min_calls: 'fewest calls with the agent in an hour',
    known_days: 'an agent (or family) is the app\'s own once it sent it on at least this many days of the baseline, or on the same weekday a week or two before (a weekly job): one other earlier day (the same stolen token and curl last Tuesday) does not make a tool normal',
    rare_max_subaccounts: 'an agent family that is neither a scanner nor a tool is rare when at most this many subaccounts use it',
    score_scanner: 'score of a known attack or scanning tool',
    score_tool: 'score of a scripting client or HTTP library whose family is new to the app and to the subaccount',
    score_tool_tenant: 'score of a scripting client whose family is new to the app but used by another app of the subaccount',
    score_empty: 'score of calls without a user agent from an app that sends one (halved to score_tool_tenant when another app of the subaccount sends none)',
    score_rare: 'score of a rare family (low: new SDKs appear)',
  },
  async detect(ctx, p) {
    const grid = windowGrid(ctx, 60);
    // Used on known_days days of the baseline, or on the same weekday a week or two before (a weekly job).
    const knownOn = (days: string) => `(arrayCount(x -> x >= d.1 - {bdays:UInt32} AND x < d.1, ${days}) >= {known_days:UInt32}
          OR arrayExists(x -> x >= d.1 - {bdays:UInt32} AND x < d.1 AND (d.1 - x) % 7 = 0, ${days}))`;
    const table = await agentAppDayTable(ctx);
    // Per app, agent and judged day, with the days the agent and its family were used by the app, and the
    // days the family was used by any app of the subaccount.
    const rows = await ctx.store.query<Record<string, unknown>>(`
      SELECT sub, app, ua, fam, d.1 AS day, d.2 AS mask, d.3 AS denied, fam_subs, app_first, sub_first,
        arrayCount(x -> x >= d.1 - {bdays:UInt32} AND x < d.1, ua_days) AS ua_seen,
        ${knownOn('ua_days')} AS ua_known,
        ${knownOn('fam_days')} AS fam_known,
        ${knownOn('sub_fam_days')} AS fam_known_sub
      FROM (
        SELECT sub, app, ua, fam, days, ua_days,
          groupUniqArrayArray(ua_days) OVER (PARTITION BY sub, app, fam) AS fam_days,
          groupUniqArrayArray(ua_days) OVER (PARTITION BY sub, fam) AS sub_fam_days,
          uniqExact(sub) OVER (PARTITION BY fam) AS fam_subs,
          min(arrayMin(ua_days)) OVER (PARTITION BY sub, app) AS app_first,
          min(arrayMin(ua_days)) OVER (PARTITION BY sub) AS sub_first
        FROM (
          SELECT sub, app, entity AS ua, ${FAMILY_SQL('entity')} AS fam,
            groupArrayIf((day, mask, denied), day >= {from_day:Int64} AND day <= {to_day:Int64}) AS days,
            groupArray(day) AS ua_days
          FROM ${table}
          GROUP BY sub, app, entity
        )
      )
      ARRAY JOIN days AS d
      WHERE NOT ua_known`, { ...grid.params, known_days: Math.max(1, p.known_days as number), from_day: Math.floor(ctx.fromMs / DAY_MS), to_day: Math.floor((ctx.toMs - 1) / DAY_MS) });
    interface Candidate { win: number; h: number; sub: string; app: string; ua: string; fam: string; kind: AgentClass; base: number; why: string; famKnownSub: boolean; famSubs: number; denied: number; history: number; seenDays: number }
    const cands: Candidate[] = [];
    for (const r of rows) {
      const ua = String(r.ua);
      const app = String(r.app);
      const day = Number(r.day);
      const kind = classifyAgent(ua);
      // A scanner is judged once the subaccount has history; anything else once the app has.
      const history = day - Math.max(Number(kind === 'scanner' ? r.sub_first : r.app_first), grid.dataDay);
      if (history < ctx.warmupDays) continue;
      const famKnown = r.fam_known === true || r.fam_known === 1;
      const famKnownSub = r.fam_known_sub === true || r.fam_known_sub === 1;
      const famSubs = Number(r.fam_subs);
      const fam = String(r.fam);
      const appName = app === '' ? 'calls without a cloud app' : `cloud app "${app}"`;
      let base: number;
      let why: string;
      if (kind === 'scanner') {
        base = p.score_scanner as number;
        why = 'it is a known attack or scanning tool';
      } else if (kind === 'empty' && !famKnown) {
        base = famKnownSub ? p.score_tool_tenant as number : p.score_empty as number;
        why = `the calls carried no user agent, which ${appName} always sends${famKnownSub ? ' (another app of the subaccount sends none, so scored lower)' : ''}`;
      } else if (kind === 'tool' && !famKnown) {
        base = famKnownSub ? p.score_tool_tenant as number : p.score_tool as number;
        why = `it is a scripting client or HTTP library and its family "${fam}" is new to ${appName}` +
          (famKnownSub ? ' (another app of the subaccount uses that family, so scored lower)' : ' and to the subaccount');
      } else if (kind === 'other' && !famKnownSub && famSubs <= (p.rare_max_subaccounts as number)) {
        base = p.score_rare as number;
        why = `its family "${fam}" is new to the subaccount and used by ${famSubs} subaccount(s) in the store`;
      } else {
        continue;
      }
      const mask = Number(r.mask);
      for (let h = 0; h < 24; h++) {
        const win = day * 24 + h;
        if ((mask & (1 << h)) === 0 || win < grid.fromWin || win >= grid.toWin) continue;
        cands.push({ win, h, sub: String(r.sub), app, ua, fam, kind, base, why, famKnownSub, famSubs, denied: Number(r.denied), history, seenDays: Number(r.ua_seen) });
      }
    }
    // The calls of each candidate app and hour, with its samples.
    const appUa = (app: string, ua: string) => `${app}\u0000${ua}`;
    const samples = await fetchSamples(ctx, 3600, { subaccount: 'subaccount', entity: "concat(cloud_app, '\\0', user_agent)", where: "subaccount != ''" },
      cands.map((c) => ({ subaccount: c.sub, entity: appUa(c.app, c.ua), win: c.win })));
    // One hit per subaccount, agent and hour: the apps that sent it there, the most suspicious reason first.
    const groups = new Map<string, { c: Candidate; calls: number; ids: string[]; apps: string[]; denied: number }>();
    for (const c of cands) {
      const sample = samples.get(windowKey({ subaccount: c.sub, entity: appUa(c.app, c.ua), win: c.win }));
      const calls = sample?.count ?? 0;
      if (calls === 0) continue;
      const key = windowKey({ subaccount: c.sub, entity: c.ua, win: c.win });
      const g = groups.get(key);
      if (!g) {
        groups.set(key, { c, calls, ids: [...(sample?.ids ?? [])], apps: [c.app], denied: c.denied });
        continue;
      }
      g.calls += calls;
      g.denied += c.denied;
      g.apps.push(c.app);
      for (const id of sample?.ids ?? []) if (g.ids.length < ctx.maxSamples) g.ids.push(id);
      if (c.base > g.c.base) g.c = c;
    }
    const hits: Hit[] = [];
    for (const { c, calls, ids, apps, denied } of groups.values()) {
      if (calls < Math.max(1, p.min_calls as number)) continue;
      const hh = String(c.h).padStart(2, '0');
      const named = apps.filter((a) => a !== '').sort();
      const label = c.ua === '' ? 'no user agent' : `user agent ${JSON.stringify(c.ua)}`;
      hits.push({
        subaccount: c.sub,
        entity_type: 'user_agent',
        entity: c.ua,
        windowStartMs: c.win * HOUR_MS,
        windowEndMs: (c.win + 1) * HOUR_MS,
        // More calls with a new tool add a little: a one-off curl is less than a scripted run.
        score: scoreOf(c.base, Math.min(2, Math.max(1, Math.log10(Math.max(1, calls))))),
        title: c.kind === 'empty'
          ? `Calls without a user agent${named.length ? ` with the token of ${named.join(', ')}` : ''} in subaccount ${c.sub}`
          : `${c.kind === 'scanner' ? 'Attack tool' : c.kind === 'tool' ? 'Scripting client' : 'Rare user agent'} ${JSON.stringify(c.ua.slice(0, 80))}${named.length ? ` on ${named.join(', ')}` : ''} in subaccount ${c.sub}`,
        explanation: `Observed: ${fmt(calls)} calls with ${label} in subaccount "${c.sub}" between ${hh}:00 and ${hh}:59 UTC` +
          ` (${fmt(denied)} denied that day${named.length ? `; cloud app(s) ${named.join(', ')}` : ''}). ` +
          `Baseline: ${c.app === '' ? 'calls without a cloud app' : `cloud app "${c.app}"`} ${c.seenDays === 0 ? 'did not use this agent in' : `used this agent on ${fmt(c.seenDays)} of`} the ${ctx.baselineDays} days before (${c.history} days of history; an agent is the app's own from ${fmt(p.known_days as number)} days, or from the same weekday a week or two before). ` +
          `Threshold: flagged because ${c.why}.`,
        evidence: {
          observed: calls, agent_class: c.kind, family: c.fam, family_known: false, family_known_in_subaccount: c.famKnownSub, family_subaccounts: c.famSubs,
          denied_calls_that_day: denied, cloud_apps: named, history_days: c.history, agent_days_in_baseline: c.seenDays,
        },
        sampleEventIds: ids,
      });
    }
    return hits;
  },
};
