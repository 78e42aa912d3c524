// An app's token in a client that is not the app, where the client is an ordinary HTTP library rather than
// an attack tool or a hand-held client: the agents real scripts send.
//   blatant:  aiohttp's default agent ("Python/3.12 aiohttp/3.9.5", a library no app of the tenant uses)
//             with a web app's token from a rented server, 40 calls in 30 min;
//   moderate: no User-Agent header at all, with an integration's token from a new address, 25 calls in 20 min;
//   subtle:   the exact agent of another app of the tenant (its batch job's python-requests, an
//             integration's Go-http-client) with a web app's token from the tenant's office network, 12
//             calls in 30 min: a developer's copy of that job's script.
import { allowedCall, type SimCall } from '../calls.js';
import type { App, Subaccount } from '../profiles.js';
import { int } from '../random.js';
import { appsOf, attackerIp, callerFor, fromCalls, makeLabel, MINUTE, times } from './kit.js';
import type { Scenario } from './types.js';

const AIOHTTP = 'Python/3.12 aiohttp/3.9.5';
/** When no other app of the tenant has a library agent of another family: a script's usual choice. */
const FALLBACK = 'python-requests/2.31.0';

const family = (agent: string) => (/^\s*([^/ (;]+)/.exec(agent)?.[1] ?? agent).toLowerCase();

/** An agent of another app of the tenant whose family the target app does not use. */
function borrowedAgent(sub: Subaccount, app: App): string {
  const own = new Set(app.userAgents.items.map(family));
  for (const other of sub.apps) {
    if (other === app || other.kind === 'monitor') continue;
    const agent = other.userAgents.items.find((a) => !own.has(family(a)));
    if (agent) return agent;
  }
  return FALLBACK;
}

const SHAPE = {
  blatant: { minutes: 30, n: 40 },
  moderate: { minutes: 20, n: 25 },
  subtle: { minutes: 30, n: 12 },
} as const;

export const rareUserAgentLibrary: Scenario = {
  id: 'rare_user_agent_library',
  detector: 'rare_user_agent',
  summary: "an app's token in a common HTTP library or with no user agent: aiohttp from a rented server, no agent at all, another app's library agent on a web app",
  plan({ world, scheduler, rng, id }, intensity) {
    const shape = SHAPE[intensity];
    const appFor = (sub: Subaccount): App | undefined => (intensity === 'moderate' ? appsOf(sub, 'integration', 'web')[0] : appsOf(sub, 'web')[0]);
    const slot = scheduler.place(rng, shape.minutes * MINUTE, 'office', (s) => appFor(s) !== undefined);
    if (!slot) return undefined;
    const { sub, start } = slot;
    const app = appFor(sub) as App;
    const end = start + shape.minutes * MINUTE;
    const userAgent = intensity === 'blatant' ? AIOHTTP : intensity === 'moderate' ? '' : borrowedAgent(sub, app);
    const ip = intensity === 'blatant' ? attackerIp(rng) : intensity === 'moderate' ? `${int(rng, 64, 95)}.${int(rng, 0, 255)}.${int(rng, 0, 255)}.${int(rng, 2, 250)}` : `217.86.${int(rng, 128, 191)}.${int(rng, 2, 250)}`;
    const calls: SimCall[] = [];
    for (const t of times(rng, start, end, shape.n)) {
      const resource = app.resourcePick.draw(rng);
      const endpoint = resource.endpoints.items.find((e) => e.method === 'GET') ?? resource.endpoints.draw(rng);
      calls.push(allowedCall(rng, t, callerFor(world, sub, app, t, rng, { userAgent, ip }), resource, endpoint, id));
    }
    scheduler.claim([sub.name], start, end);
    const what = intensity === 'blatant' ? `${AIOHTTP} (aiohttp's default agent) from ${ip} (a rented server)`
      : intensity === 'moderate' ? `calls without a User-Agent header from ${ip}`
        : `${JSON.stringify(userAgent)} (another app's client) from ${ip} (the tenant's office network)`;
    return fromCalls(id, calls, (s, e) => makeLabel({
      scenario: 'rare_user_agent_library', detector: 'rare_user_agent', subaccount: sub.name, entityType: 'user_agent', entity: userAgent, start: s, end: e, intensity,
      description: `${what}: ${shape.n} calls with the token of ${app.name} in ${shape.minutes} min`,
    }));
  },
};
