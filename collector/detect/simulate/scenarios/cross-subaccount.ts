// One identity turning up in several tenants within a short time, which no tenant sees on its own.
//   blatant  (client_ip):  a rented server works through tokens leaked from five tenants (or all, if fewer);
//   moderate (principal):  an outside consultant's account appears in three tenants' apps within two hours;
//   subtle   (user_agent): a developer tests three tenants' production tokens with Postman within three hours.
// The label has subaccount '' (several); every call is an ordinary, authenticated call of that tenant.
import { allowedCall, deniedCall, type SimCall } from '../calls.js';
import { FIRST_NAMES, LAST_NAMES } from '../catalog.js';
import type { App, Subaccount } from '../profiles.js';
import { pick } from '../random.js';
import { appsOf, attackerIp, callerFor, fromCalls, GUESSED_HOSTS, makeLabel, MINUTE, times, unmappedBackend } from './kit.js';
import type { Scenario } from './types.js';

const SHAPE = {
  blatant: { tenants: 5, minutes: 30, perTenant: 45 },
  moderate: { tenants: 3, minutes: 120, perTenant: 25 },
  subtle: { tenants: 3, minutes: 180, perTenant: 8 },
} as const;

const POSTMAN = 'PostmanRuntime/7.39.0';

export const crossSubaccount: Scenario = {
  id: 'cross_subaccount',
  detector: 'cross_subaccount',
  summary: 'one client address, principal or user agent active in several tenants within hours (leaked tokens, a shared account)',
  plan({ world, scheduler, rng, id }, intensity) {
    const shape = SHAPE[intensity];
    const eligible = scheduler.subaccounts(rng, (s) => appsOf(s, 'web').length > 0);
    if (eligible.length < 3) return undefined;
    const tenants = eligible.slice(0, Math.min(shape.tenants, eligible.length));
    const duration = shape.minutes * MINUTE;
    const start = scheduler.placeAcross(rng, tenants, duration);
    if (start === undefined) return undefined;
    const end = start + duration;
    const consultant = `${pick(rng, FIRST_NAMES)}.${pick(rng, LAST_NAMES)}@northwind-consulting.example`;
    const ip = attackerIp(rng);
    const calls: SimCall[] = [];
    // Tenant after tenant, each in its own slice of the window.
    tenants.forEach((sub: Subaccount, i) => {
      const app = appsOf(sub, 'web')[0] as App;
      const from = start + (i * duration) / tenants.length;
      const to = start + ((i + 1) * duration) / tenants.length;
      for (const t of times(rng, from, to, shape.perTenant)) {
        const over = intensity === 'blatant' ? { ip } : intensity === 'moderate' ? { principal: consultant } : { userAgent: POSTMAN };
        const caller = callerFor(world, sub, app, t, rng, over);
        if (intensity === 'blatant' && rng() < 0.3) {
          const [host, port] = pick(rng, GUESSED_HOSTS);
          calls.push(deniedCall(rng, t, caller, unmappedBackend(host, port), 'GET', '/', 'no_mapping', id));
          continue;
        }
        const resource = app.resourcePick.draw(rng);
        const endpoint = resource.endpoints.items.find((e) => e.method === 'GET') ?? resource.endpoints.draw(rng);
        calls.push(allowedCall(rng, t, caller, resource, endpoint, id));
      }
    });
    scheduler.claim(tenants.map((s) => s.name), start, end);
    const names = tenants.map((s) => s.name).join(', ');
    const entity = intensity === 'blatant' ? { type: 'client_ip', value: ip } : intensity === 'moderate' ? { type: 'principal', value: consultant } : { type: 'user_agent', value: POSTMAN };
    const story = intensity === 'blatant' ? `${ip} (a rented server) used leaked app tokens of ${tenants.length} tenants (${names})`
      : intensity === 'moderate' ? `${consultant}, never seen before, worked in ${tenants.length} tenants' apps (${names})`
        : `${POSTMAN} called ${tenants.length} tenants (${names}) with their apps' tokens`;
    return fromCalls(id, calls, (s, e) => makeLabel({
      scenario: 'cross_subaccount', subaccount: '', entityType: entity.type, entity: entity.value, start: s, end: e, intensity,
      description: `${story}: ${shape.perTenant} calls each within ${shape.minutes} min`,
    }));
  },
};
