// Enumeration: many distinct paths, refused (outside every rule) or answered 404 (inside a rule).
//   blatant  (client_ip): a content-discovery wordlist run with a web app's leaked token from a rented
//            server, ~650 distinct paths in 15 min;
//   moderate (principal): an employee walking object ids through a web app (IDOR): 180 ids in 20 min,
//            most of them 404;
//   subtle   (cloud_app): a compromised integration guessing API versions and siblings of its resources,
//            60 distinct paths in 20 min from its usual addresses.
import { allowedCall, deniedCall, type SimCall } from '../calls.js';
import type { EndpointSpec } from '../catalog.js';
import type { App, Backend, Resource, Subaccount } from '../profiles.js';
import { int, shuffled, type Rng } from '../random.js';
import { appsOf, attackerIp, callerFor, fromCalls, hostedIntegrations, itemEndpoint, makeLabel, MINUTE, personAt, times } from './kit.js';
import type { Scenario } from './types.js';

const DIRS = ['', '/api', '/api/v1', '/api/v2', '/admin', '/internal', '/sap/bc', '/manage', '/actuator', '/debug', '/backup', '/old', '/test', '/dev', '/static', '/app'];
const WORDS = [
  'admin', 'login', 'config', 'env', '.env', '.git/HEAD', 'users', 'user', 'accounts', 'export', 'backup.zip', 'db.sql',
  'swagger.json', 'openapi.json', 'api-docs', 'graphql', 'status', 'metrics', 'health/details', 'heapdump', 'logs',
  'console', 'phpinfo.php', 'server-status', 'wp-login.php', 'jolokia', 'trace', 'dump', 'settings', 'secrets', 'keys',
  'tokens', 'debug', 'shell', 'upload', 'download', 'files', 'reports', 'internal', 'web.config',
];
const VERSIONS = ['/api/v2', '/api/v3', '/odata/v2', '/odata/v4', '/api/internal', '/api/beta', '/api/private', '/rest', '/v1', '/v2'];
const SUFFIXES = ['', '/$metadata', '/_search', '/count', '/export', '/bulk', '/schema', '/all'];

function under(backend: Backend, path: string, resources: readonly Resource[]): Resource | undefined {
  return resources.find((r) => r.backend.key === backend.key && (path === r.spec.prefix || path.startsWith(`${r.spec.prefix}/`)));
}

/** A probe: inside a rule the backend answers 404, outside every rule the connector refuses. */
function probe(rng: Rng, t: number, caller: Parameters<typeof allowedCall>[2], backend: Backend, path: string, all: readonly Resource[], id: string): SimCall {
  const r = under(backend, path, all);
  if (!r) return deniedCall(rng, t, caller, backend, 'GET', path, 'path_not_allowed', id);
  const endpoint = r.endpoints.items[0] ?? r.endpoints.draw(rng);
  return allowedCall(rng, t, caller, r, { ...endpoint, method: 'GET' }, id, { path, query: '', status: 404 });
}

function subResources(sub: Subaccount): Resource[] {
  return sub.apps.flatMap((a) => a.resources);
}

export const pathEnumeration: Scenario = {
  id: 'path_enumeration',
  detector: 'path_enumeration',
  summary: 'many distinct paths refused or answered 404: a wordlist scan, an id walk (IDOR), API version guessing',
  plan({ world, scheduler, rng, id }, intensity) {
    const minutes = intensity === 'blatant' ? 15 : 20;
    const appFor = (sub: Subaccount): App | undefined =>
      intensity === 'subtle' ? hostedIntegrations(sub)[0] : appsOf(sub, 'web').find((a) => a.principals.some((p) => !p.onCall) && a.resources.some((r) => itemEndpoint(r)));
    const slot = scheduler.place(rng, minutes * MINUTE, 'office', (s) => appFor(s) !== undefined);
    if (!slot) return undefined;
    const { sub, start } = slot;
    const app = appFor(sub) as App;
    const end = start + minutes * MINUTE;
    const all = subResources(sub);
    const calls: SimCall[] = [];
    let entity: { type: string; value: string };
    let what: string;
    if (intensity === 'blatant') {
      const ip = attackerIp(rng);
      const backend = (app.resources[0] as Resource).backend;
      const prefixes = all.filter((r) => r.backend.key === backend.key).map((r) => r.spec.prefix);
      const paths = shuffled(rng, [...DIRS.flatMap((d) => WORDS.map((w) => `${d}/${w}`)), ...prefixes.flatMap((p) => WORDS.slice(0, 12).map((w) => `${p}/${w}`))]).slice(0, 650);
      const ts = times(rng, start, end, paths.length);
      paths.forEach((path, i) => calls.push(probe(rng, ts[i] as number, callerFor(world, sub, app, ts[i] as number, rng, { ip }), backend, path, all, id)));
      entity = { type: 'client_ip', value: ip };
      what = `${ip} (a rented server) ran a content-discovery wordlist against ${backend.key} with the token of ${app.name}: ${paths.length} distinct paths`;
    } else if (intensity === 'moderate') {
      const resource = app.resources.find((r) => itemEndpoint(r)) as Resource;
      const endpoint = itemEndpoint(resource) as EndpointSpec;
      const principal = personAt(rng, sub, app, start);
      const first = 100_000 + resource.backend.domain.ids + int(rng, 100, 5000);
      const ts = times(rng, start, end, 180);
      ts.forEach((t, i) => {
        // Walking past the end of the id space: mostly nothing there, now and then an old object.
        const status = rng() < 0.85 ? 404 : 200;
        const path = endpoint.path.replace('{id}', String(first + i * int(rng, 1, 3)));
        calls.push(allowedCall(rng, t, callerFor(world, sub, app, t, rng, { principal }), resource, endpoint, id, { path, status }));
      });
      entity = { type: 'principal', value: principal };
      what = `${principal} walked ${resource.spec.prefix}/{id} through ${app.name}: 180 consecutive ids, ~85% not found`;
    } else {
      const ts = times(rng, start, end, 60);
      const candidates = shuffled(rng, app.resources.flatMap((r) => VERSIONS.flatMap((v) => SUFFIXES.map((s) => ({ r, path: `${v}${r.spec.prefix.replace(/^\/\w+/, '')}${s}` }))).concat(SUFFIXES.slice(1).map((s) => ({ r, path: `${r.spec.prefix}${s}` })))));
      const chosen = candidates.slice(0, 60);
      chosen.forEach(({ r, path }, i) => {
        const t = ts[i] as number;
        calls.push(probe(rng, t, callerFor(world, sub, app, t, rng), r.backend, path, all, id));
      });
      entity = { type: 'cloud_app', value: app.name };
      what = `${app.name} guessed API versions and siblings of its resources from its usual addresses: ${chosen.length} distinct paths`;
    }
    scheduler.claim([sub.name], start, end);
    const refused = calls.filter((c) => c.record.decision === 'deny').length;
    return fromCalls(id, calls, (s, e) => makeLabel({
      scenario: 'path_enumeration', subaccount: sub.name, entityType: entity.type, entity: entity.value, start: s, end: e, intensity,
      description: `${what} in ${minutes} min (${refused} refused, ${calls.length - refused} answered${intensity === 'moderate' ? '' : ' 404'})`,
    }));
  },
};
