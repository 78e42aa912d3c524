// Enumeration that the rules let through and the backend answers: what a real backend or the WAF in front
// of it says to a scan is 401, 403 or 404, and an id walk often goes through the query string.
//   blatant  (client_ip): a wordlist under the app's allowed prefixes with a leaked token, from a rented
//            server: 450 distinct paths in 12 min, the WAF answers 403 (and 401), rarely 404;
//   moderate (principal): an employee walks ids in the query string of one list endpoint
//            (?employee_id=...): 150 ids in 15 min, mostly 404, some 403;
//   subtle   (client_ip): a slow scan from a rented server, 240 distinct paths over 8 h (one every two
//            minutes: far below any 10-minute floor), answered 404, 403 and 401.
import { allowedCall, type SimCall } from '../calls.js';
import type { EndpointSpec } from '../catalog.js';
import type { App, Resource, Subaccount } from '../profiles.js';
import { int, pick, shuffled, type Rng } from '../random.js';
import { appsOf, attackerIp, callerFor, fromCalls, listEndpoint, makeLabel, MINUTE, personAt, times } from './kit.js';
import type { Scenario } from './types.js';

const WORDS = [
  'admin', 'login', 'config', 'env', '.env', '.git/config', 'users', 'accounts', 'export', 'backup', 'dump', 'swagger.json', 'openapi.yaml',
  'api-docs', 'graphql', 'metrics', 'health/details', 'heapdump', 'logs', 'console', 'settings', 'secrets', 'keys', 'tokens', 'debug',
  'upload', 'download', 'files', 'reports', 'internal', 'private', 'hidden', 'old', 'tmp', 'test', 'staging', 'v0', 'beta', 'legacy', 'all',
];
const SUBDIRS = ['', 'admin', 'internal', 'v0', 'v2', 'debug', 'bulk', 'export', 'mgmt', 'system'];
const QUERY_PARAMS = ['employee_id', 'customer_id', 'order_id', 'id', 'account', 'doc_id'];

const SHAPE = {
  blatant: { minutes: 12, n: 450 },
  moderate: { minutes: 15, n: 150 },
  subtle: { minutes: 480, n: 240 },
} as const;

function webAppOf(sub: Subaccount): App | undefined {
  return appsOf(sub, 'web').find((a) => a.principals.some((p) => !p.onCall) && a.resources.some((r) => listEndpoint(r)));
}

/** Distinct paths under the app's allowed prefixes (the rules let them through; the backend decides). */
function wordlist(rng: Rng, app: App, n: number): { r: Resource; path: string }[] {
  const all = app.resources.flatMap((r) => SUBDIRS.flatMap((d) => WORDS.map((w) => ({ r, path: `${r.spec.prefix}${d ? `/${d}` : ''}/${w}` }))));
  return shuffled(rng, all).slice(0, n);
}

export const pathEnumeration4xx: Scenario = {
  id: 'path_enumeration_4xx',
  detector: 'path_enumeration',
  summary: 'enumeration the backend answers 401, 403 or 404 to: a WAF-guarded wordlist, an id walk in the query string, a slow scan over a working day',
  plan({ world, scheduler, rng, id }, intensity) {
    const shape = SHAPE[intensity];
    const slot = scheduler.place(rng, shape.minutes * MINUTE, intensity === 'subtle' ? 'daytime' : 'office', (s) => webAppOf(s) !== undefined);
    if (!slot) return undefined;
    const { sub, start } = slot;
    const app = webAppOf(sub) as App;
    const end = start + shape.minutes * MINUTE;
    const calls: SimCall[] = [];
    let entity: { type: string; value: string };
    let what: string;
    if (intensity === 'moderate') {
      const resource = app.resources.find((r) => listEndpoint(r)) as Resource;
      const endpoint = listEndpoint(resource) as EndpointSpec;
      const principal = personAt(rng, sub, app, start);
      const param = pick(rng, QUERY_PARAMS);
      const first = 100_000 + resource.backend.domain.ids + int(rng, 100, 5000);
      times(rng, start, end, shape.n).forEach((t, i) => {
        const u = rng();
        const status = u < 0.8 ? 404 : u < 0.9 ? 403 : 200;
        calls.push(allowedCall(rng, t, callerFor(world, sub, app, t, rng, { principal }), resource, endpoint, id, { query: `${param}=${first + i}`, status, bytesFactor: status === 200 ? 0.05 : 1 }));
      });
      entity = { type: 'principal', value: principal };
      what = `${principal} walked ${resource.spec.prefix}?${param}=... through ${app.name}: ${shape.n} consecutive ids in the query string, ~80% not found, ~10% forbidden`;
    } else {
      const ip = attackerIp(rng);
      const targets = wordlist(rng, app, shape.n);
      times(rng, start, end, targets.length).forEach((t, i) => {
        const { r, path } = targets[i] as { r: Resource; path: string };
        const endpoint = r.endpoints.items[0] ?? r.endpoints.draw(rng);
        const u = rng();
        const status = intensity === 'blatant' ? (u < 0.7 ? 403 : u < 0.9 ? 401 : 404) : (u < 0.4 ? 404 : u < 0.8 ? 403 : 401);
        calls.push(allowedCall(rng, t, callerFor(world, sub, app, t, rng, { ip }), r, { ...endpoint, method: 'GET' }, id, { path, query: '', status }));
      });
      entity = { type: 'client_ip', value: ip };
      what = intensity === 'blatant'
        ? `${ip} (a rented server) ran a wordlist under ${app.name}'s allowed prefixes with its token: ${targets.length} distinct paths in ${shape.minutes} min, the WAF answering 403/401`
        : `${ip} (a rented server) scanned slowly with ${app.name}'s token: ${targets.length} distinct paths over ${shape.minutes / 60} h, answered 404/403/401`;
    }
    scheduler.claim([sub.name], start, end);
    return fromCalls(id, calls, (s, e) => makeLabel({
      scenario: 'path_enumeration_4xx', detector: 'path_enumeration', subaccount: sub.name, entityType: entity.type, entity: entity.value, start: s, end: e, intensity, description: what,
    }));
  },
};
