// One tenant's own identity turning up in another tenant: a person who has only ever worked in tenant A
// calls tenant B's web app (a token shared across tenants, an identity provider trusted by both). One new
// tenant, one day: no count over tenants in a day shows it.
//   blatant:  60 calls in 45 min, a fifth of them refused (trying what B's rules allow);
//   moderate: 30 calls in 40 min;
//   subtle:   10 calls in 30 min.
import { allowedCall, deniedCall, type SimCall } from '../calls.js';
import type { App, Subaccount } from '../profiles.js';
import { int, pick } from '../random.js';
import { appsOf, callerFor, fromCalls, makeLabel, MINUTE, officeWorkers, times } from './kit.js';
import type { Scenario } from './types.js';

const SHAPE = {
  blatant: { minutes: 45, n: 60, denied: 0.2 },
  moderate: { minutes: 40, n: 30, denied: 0 },
  subtle: { minutes: 30, n: 10, denied: 0 },
} as const;

const FORBIDDEN = ['/api/admin/users', '/api/admin/config', '/export/all'];

export const crossSubaccountHop: Scenario = {
  id: 'cross_subaccount_hop',
  detector: 'cross_subaccount',
  summary: "a tenant's own principal, never seen elsewhere, calls another tenant's web app: one new tenant in a day",
  plan({ world, scheduler, rng, id }, intensity) {
    const shape = SHAPE[intensity];
    const web = (s: Subaccount): App | undefined => appsOf(s, 'web').find((a) => officeWorkers(a).length > 0);
    const duration = shape.minutes * MINUTE;
    // Home first (fewest injections), at the person's office hours; the other tenant free at that time.
    for (const home of scheduler.subaccounts(rng, (s) => web(s) !== undefined)) {
      const others = scheduler.subaccounts(rng, (s) => s !== home && appsOf(s, 'web').length > 0);
      for (const start of scheduler.slots(rng, home, duration, 'office')) {
        const other = others.find((s) => scheduler.isFree(s.name, start, start + duration));
        if (!other) continue;
        const homeApp = web(home) as App;
        // The most regular worker of the home tenant's web app: at work every business day.
        const principal = (officeWorkers(homeApp)[0] as { id: string }).id;
        const app = appsOf(other, 'web')[0] as App;
        const ip = `217.86.${int(rng, 128, 191)}.${int(rng, 2, 250)}`;
        const calls: SimCall[] = [];
        for (const t of times(rng, start, start + duration, shape.n)) {
          const caller = callerFor(world, other, app, t, rng, { principal, ip });
          const resource = app.resourcePick.draw(rng);
          if (rng() < shape.denied) {
            calls.push(deniedCall(rng, t, caller, resource.backend, 'GET', pick(rng, FORBIDDEN), 'path_not_allowed', id));
            continue;
          }
          const endpoint = resource.endpoints.items.find((e) => e.method === 'GET') ?? resource.endpoints.draw(rng);
          calls.push(allowedCall(rng, t, caller, resource, endpoint, id));
        }
        scheduler.claim([home.name, other.name], start, start + duration);
        return fromCalls(id, calls, (s, e) => makeLabel({
          scenario: 'cross_subaccount_hop', detector: 'cross_subaccount', subaccount: '', entityType: 'principal', entity: principal, start: s, end: e, intensity,
          description: `${principal}, who only ever worked in ${home.name}, made ${shape.n} calls with ${other.name}'s ${app.name} in ${shape.minutes} min${shape.denied > 0 ? ' (a fifth refused)' : ''}`,
        }));
      }
    }
    return undefined;
  },
};
