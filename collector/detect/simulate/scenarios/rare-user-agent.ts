// A client that is not the app: attack tools and hand-held HTTP clients using an app's token.
//   blatant:  sqlmap from a rented server, 80 injection attempts on one list endpoint in 40 min;
//   moderate: curl from the tenant's office network, 30 ordinary calls in 20 min (an admin "just testing");
//   subtle:   a desktop HTTP client (HTTPie, Insomnia, Wget...) from the platform's addresses, 8 calls in 30 min.
import { allowedCall, type SimCall } from '../calls.js';
import type { EndpointSpec } from '../catalog.js';
import type { App, Resource, Subaccount } from '../profiles.js';
import { int, pick } from '../random.js';
import { appsOf, attackerIp, callerFor, fromCalls, listEndpoint, makeLabel, MINUTE, times } from './kit.js';
import type { Scenario } from './types.js';

const SQLMAP = 'sqlmap/1.8.4#stable (https://sqlmap.org)';
const CURL = 'curl/8.5.0';
const DESKTOP = ['HTTPie/3.2.2', 'insomnia/2023.5.8', 'Wget/1.21.4', 'node-fetch/1.0 (+https://github.com/bitinn/node-fetch)'];
const PAYLOADS = ["' OR '1'='1", "') AND 1=1--", '1 AND SLEEP(5)', "' UNION SELECT NULL,NULL--", "1' AND EXTRACTVALUE(1,CONCAT(0x5c,USER()))--", '1;DROP TABLE x'];

export const rareUserAgent: Scenario = {
  id: 'rare_user_agent',
  detector: 'rare_user_agent',
  summary: "a tool-like or never-seen client (sqlmap, curl, a desktop HTTP client) using an app's token",
  plan({ world, scheduler, rng, id }, intensity) {
    const minutes = intensity === 'blatant' ? 40 : intensity === 'moderate' ? 20 : 30;
    const n = intensity === 'blatant' ? 80 : intensity === 'moderate' ? 30 : 8;
    const appFor = (sub: Subaccount): App | undefined =>
      intensity === 'blatant' ? appsOf(sub, 'web').find((a) => a.resources.some((r) => listEndpoint(r))) : (appsOf(sub, 'integration', 'web')[0]);
    const slot = scheduler.place(rng, minutes * MINUTE, intensity === 'subtle' ? 'daytime' : 'office', (s) => appFor(s) !== undefined);
    if (!slot) return undefined;
    const { sub, start } = slot;
    const app = appFor(sub) as App;
    const end = start + minutes * MINUTE;
    const userAgent = intensity === 'blatant' ? SQLMAP : intensity === 'moderate' ? CURL : pick(rng, DESKTOP);
    const ip = intensity === 'blatant' ? attackerIp(rng) : intensity === 'moderate' ? `217.86.${int(rng, 128, 191)}.${int(rng, 2, 250)}` : undefined;
    const target = app.resources.find((r) => listEndpoint(r)) as Resource | undefined;
    const calls: SimCall[] = [];
    for (const t of times(rng, start, end, n)) {
      const caller = callerFor(world, sub, app, t, rng, { userAgent, ...(ip ? { ip } : {}) });
      if (intensity === 'blatant' && target) {
        const endpoint = listEndpoint(target) as EndpointSpec;
        const payload = encodeURIComponent(pick(rng, PAYLOADS));
        // The backend rejects most of the malformed filters; some slip through as ordinary lists.
        calls.push(allowedCall(rng, t, caller, target, endpoint, id, { query: `$filter=name eq '${payload}'`, status: rng() < 0.7 ? 400 : 200 }));
      } else {
        const resource = app.resourcePick.draw(rng);
        const endpoint = resource.endpoints.items.find((e) => e.method === 'GET') ?? resource.endpoints.draw(rng);
        calls.push(allowedCall(rng, t, caller, resource, endpoint, id));
      }
    }
    scheduler.claim([sub.name], start, end);
    const from = intensity === 'blatant' ? `${ip} (a rented server)` : intensity === 'moderate' ? `${ip} (the tenant's office network)` : "the platform's addresses";
    return fromCalls(id, calls, (s, e) => makeLabel({
      scenario: 'rare_user_agent', subaccount: sub.name, entityType: 'user_agent', entity: userAgent, start: s, end: e, intensity,
      description: `${userAgent} made ${n} calls with the token of ${app.name} from ${from} in ${minutes} min${intensity === 'blatant' ? ' (SQL injection attempts in $filter)' : ''}`,
    }));
  },
};
