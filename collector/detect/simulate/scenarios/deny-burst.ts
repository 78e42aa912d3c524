// Policy probing: someone tries what the rules allow and keeps being refused. Few distinct paths (that is
// path_enumeration's business): the same handful of objects, other methods, guessed hosts.
//   blatant  (client_ip): an integration's leaked token used from a rented server, 450 refusals in 12 min;
//   moderate (principal): an employee in a web app trying admin functions, 70 refusals in 15 min;
//   subtle   (cloud_app): a compromised integration testing its reach from its usual addresses, 28 in 10 min.
import { allowedCall, deniedCall, type SimCall } from '../calls.js';
import type { App, Resource, Subaccount } from '../profiles.js';
import { int, pick } from '../random.js';
import {
  appsOf, attackerIp, callerFor, fewIdsPath, fromCalls, GUESSED_HOSTS, hostedIntegrations, makeLabel, MINUTE, personAt,
  times, unmappedBackend,
} from './kit.js';
import type { Scenario } from './types.js';

const FORBIDDEN_PATHS = ['/sap/bc/soap/rfc', '/console', '/manage/env', '/api/users', '/api/roles', '/api/internal/jobs', '/export/all'];

export const denyBurst: Scenario = {
  id: 'deny_burst',
  detector: 'deny_burst',
  summary: 'policy probing: a burst of refused calls (other methods, unmapped hosts, forbidden paths) on a few objects',
  plan({ world, scheduler, rng, id }, intensity) {
    const minutes = intensity === 'blatant' ? 12 : intensity === 'moderate' ? 15 : 10;
    const n = intensity === 'blatant' ? 450 : intensity === 'moderate' ? 70 : 28;
    const appFor = (sub: Subaccount): App | undefined =>
      intensity === 'blatant' ? appsOf(sub, 'integration')[0]
        : intensity === 'moderate' ? appsOf(sub, 'web').find((a) => a.principals.some((p) => !p.onCall))
          : hostedIntegrations(sub)[0];
    const slot = scheduler.place(rng, minutes * MINUTE, 'office', (s) => appFor(s) !== undefined);
    if (!slot) return undefined;
    const { sub, start } = slot;
    const app = appFor(sub) as App;
    const end = start + minutes * MINUTE;
    const ip = intensity === 'blatant' ? attackerIp(rng) : undefined;
    const principal = intensity === 'moderate' ? personAt(rng, sub, app, start) : '';
    // The prober keeps to a few objects and a few guesses: the burst is in the count, not the variety.
    const resources = app.resources.slice(0, 3);
    const targets = resources.map((r: Resource) => ({ r, path: fewIdsPath(rng, r) }));
    const hosts = GUESSED_HOSTS.slice(0, intensity === 'moderate' ? 0 : 3);
    const calls: SimCall[] = [];
    for (const t of times(rng, start, end, n)) {
      const caller = callerFor(world, sub, app, t, rng, { principal, ...(ip ? { ip } : {}) });
      const u = rng();
      const target = pick(rng, targets);
      if (intensity === 'blatant' && u < 0.04) {
        calls.push(allowedCall(rng, t, caller, target.r, target.r.endpoints.items[0] ?? (target.r.endpoints.draw(rng)), id));
      } else if (u < 0.5) {
        calls.push(deniedCall(rng, t, caller, target.r.backend, pick(rng, ['DELETE', 'PUT']), target.path, 'method_not_allowed', id));
      } else if (u < 0.75 && hosts.length > 0) {
        const [host, port] = pick(rng, hosts);
        calls.push(deniedCall(rng, t, caller, unmappedBackend(host, port), 'GET', '/', 'no_mapping', id));
      } else {
        const path = FORBIDDEN_PATHS[int(rng, 0, intensity === 'moderate' ? 3 : FORBIDDEN_PATHS.length - 1)] as string;
        calls.push(deniedCall(rng, t, caller, target.r.backend, 'GET', path, 'path_not_allowed', id));
      }
    }
    scheduler.claim([sub.name], start, end);
    const entity = intensity === 'blatant' ? { type: 'client_ip', value: ip as string } : intensity === 'moderate' ? { type: 'principal', value: principal } : { type: 'cloud_app', value: app.name };
    const who = intensity === 'blatant' ? `${ip} (a rented server) with the token of ${app.name}` : intensity === 'moderate' ? `${principal} in ${app.name}` : `${app.name} from its usual addresses`;
    return fromCalls(id, calls, (s, e) => makeLabel({
      scenario: 'deny_burst', subaccount: sub.name, entityType: entity.type, entity: entity.value, start: s, end: e, intensity,
      description: `${who}: ${calls.filter((c) => c.record.decision === 'deny').length} refused calls in ${minutes} min (DELETE/PUT on a few objects, forbidden paths${hosts.length > 0 ? ', unmapped hosts' : ''})`,
    }));
  },
};
