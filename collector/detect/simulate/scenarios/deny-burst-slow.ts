// Policy probing kept slow on purpose: a refusal every minute or two for hours, never a burst in any
// quarter hour (deny_burst's short window), many in a working day.
//   blatant  (client_ip): an integration's leaked token from a rented server, 300 refusals over 6 h, any time;
//   moderate (principal): an employee's account in a web app trying admin functions, 180 refusals over 6 h of
//            a day (a stolen session, so any day);
//   subtle   (cloud_app): a compromised integration testing its reach from its usual addresses, 170 over 8 h,
//            any time.
import { deniedCall, type SimCall } from '../calls.js';
import type { App, Resource, Subaccount } from '../profiles.js';
import { pick } from '../random.js';
import { appsOf, attackerIp, callerFor, fewIdsPath, fromCalls, GUESSED_HOSTS, hostedIntegrations, makeLabel, MINUTE, officeWorkers, times, unmappedBackend } from './kit.js';
import type { Scenario } from './types.js';

const FORBIDDEN_PATHS = ['/sap/bc/soap/rfc', '/console', '/manage/env', '/api/users', '/api/roles', '/api/internal/jobs', '/export/all'];

const SHAPE = {
  blatant: { minutes: 360, n: 300, when: 'any' },
  moderate: { minutes: 360, n: 180, when: 'daytime' },
  subtle: { minutes: 480, n: 170, when: 'any' },
} as const;

export const denyBurstSlow: Scenario = {
  id: 'deny_burst_slow',
  detector: 'deny_burst',
  summary: 'slow policy probing: a refusal every minute or two for hours, never a burst in a quarter hour',
  plan({ world, scheduler, rng, id }, intensity) {
    const shape = SHAPE[intensity];
    const appFor = (sub: Subaccount): App | undefined =>
      intensity === 'blatant' ? appsOf(sub, 'integration')[0]
        : intensity === 'moderate' ? appsOf(sub, 'web').find((a) => officeWorkers(a).length > 0)
          : hostedIntegrations(sub)[0];
    const slot = scheduler.place(rng, shape.minutes * MINUTE, shape.when, (s) => appFor(s) !== undefined);
    if (!slot) return undefined;
    const { sub, start } = slot;
    const app = appFor(sub) as App;
    const end = start + shape.minutes * MINUTE;
    const ip = intensity === 'blatant' ? attackerIp(rng) : undefined;
    // The most regular office worker: someone at their desk all day.
    const principal = intensity === 'moderate' ? (officeWorkers(app)[0]?.id ?? '') : '';
    const targets = app.resources.slice(0, 3).map((r: Resource) => ({ r, path: fewIdsPath(rng, r) }));
    const calls: SimCall[] = [];
    for (const t of times(rng, start, end, shape.n)) {
      const caller = callerFor(world, sub, app, t, rng, { principal, ...(ip ? { ip } : {}) });
      const target = pick(rng, targets);
      const u = rng();
      if (u < 0.45) calls.push(deniedCall(rng, t, caller, target.r.backend, pick(rng, ['DELETE', 'PUT']), target.path, 'method_not_allowed', id));
      else if (u < 0.6 && intensity !== 'moderate') {
        const [host, port] = pick(rng, GUESSED_HOSTS);
        calls.push(deniedCall(rng, t, caller, unmappedBackend(host, port), 'GET', '/', 'no_mapping', id));
      } else calls.push(deniedCall(rng, t, caller, target.r.backend, 'GET', pick(rng, FORBIDDEN_PATHS), 'path_not_allowed', id));
    }
    scheduler.claim([sub.name], start, end);
    const entity = intensity === 'blatant' ? { type: 'client_ip', value: ip as string } : intensity === 'moderate' ? { type: 'principal', value: principal } : { type: 'cloud_app', value: app.name };
    const who = intensity === 'blatant' ? `${ip} (a rented server) with the token of ${app.name}` : intensity === 'moderate' ? `${principal} in ${app.name}` : `${app.name} from its usual addresses`;
    return fromCalls(id, calls, (s, e) => makeLabel({
      scenario: 'deny_burst_slow', detector: 'deny_burst', subaccount: sub.name, entityType: entity.type, entity: entity.value, start: s, end: e, intensity,
      description: `${who}: ${shape.n} refused calls spread over ${shape.minutes / 60} h (DELETE/PUT on a few objects, forbidden paths${intensity !== 'moderate' ? ', unmapped hosts' : ''})`,
    }));
  },
};
