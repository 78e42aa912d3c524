// Activity at hours when the entity is never active: a taken-over account or token used while its owner
// sleeps. The calls themselves look normal; only the hour gives them away.
//   blatant  (principal): an office worker's account busy at 01:00-04:30 local on a weeknight, 150 calls in an hour;
//   moderate (cloud_app): an office-hours-only app's token used at night without any end user, 45 calls in 40 min;
//   subtle   (principal): another office worker's account on a weekend evening, 14 calls in 45 min.
import { allowedCall, type SimCall } from '../calls.js';
import type { App, Subaccount } from '../profiles.js';
import { pick } from '../random.js';
import { appsOf, callerFor, fromCalls, makeLabel, MINUTE, officeWorkers, times } from './kit.js';
import type { Scenario } from './types.js';

/** An app nobody uses at night: office apps, and web apps that have nobody on call. */
function dayOnlyApp(sub: Subaccount): App | undefined {
  return appsOf(sub, 'office')[0] ?? appsOf(sub, 'web').find((a) => a.principals.length > 0 && a.principals.every((p) => !p.onCall));
}

function webWithWorkers(sub: Subaccount, n: number): App | undefined {
  return appsOf(sub, 'web').find((a) => officeWorkers(a).length >= n);
}

export const offHours: Scenario = {
  id: 'off_hours',
  detector: 'off_hours',
  summary: 'an account or app token used at hours when it is never active (account takeover, stolen token)',
  plan({ world, scheduler, rng, id }, intensity) {
    const minutes = intensity === 'blatant' ? 60 : intensity === 'moderate' ? 40 : 45;
    const n = intensity === 'blatant' ? 150 : intensity === 'moderate' ? 45 : 14;
    const appFor = (sub: Subaccount) => (intensity === 'moderate' ? dayOnlyApp(sub) : webWithWorkers(sub, 2));
    const when = intensity === 'subtle' ? 'weekend-evening' : 'night';
    const slot = scheduler.place(rng, minutes * MINUTE, when, (s) => appFor(s) !== undefined);
    if (!slot) return undefined;
    const { sub, start } = slot;
    const app = appFor(sub) as App;
    const end = start + minutes * MINUTE;
    // The most active people have the clearest habits; the subtle case takes the second one.
    const principal = intensity === 'moderate' ? '' : (officeWorkers(app)[intensity === 'blatant' ? 0 : 1]?.id ?? '');
    const calls: SimCall[] = [];
    for (const t of times(rng, start, end, n)) {
      const resource = app.resourcePick.draw(rng);
      const gets = resource.endpoints.items.filter((e) => e.method === 'GET');
      const endpoint = gets.length > 0 && rng() < 0.85 ? pick(rng, gets) : resource.endpoints.draw(rng);
      calls.push(allowedCall(rng, t, callerFor(world, sub, app, t, rng, { principal }), resource, endpoint, id));
    }
    scheduler.claim([sub.name], start, end);
    const local = sub.clock.at(start);
    const at = `${local.date} ${String(Math.floor(local.hour)).padStart(2, '0')}:${String(Math.round((local.hour % 1) * 60)).padStart(2, '0')} local (${sub.region.timeZone})`;
    const entity = intensity === 'moderate' ? { type: 'cloud_app', value: app.name } : { type: 'principal', value: principal };
    const who = intensity === 'moderate' ? `the token of ${app.name} (used only in office hours), without an end user,` : `${principal} (office hours only) in ${app.name}`;
    return fromCalls(id, calls, (s, e) => makeLabel({
      scenario: 'off_hours', subaccount: sub.name, entityType: entity.type, entity: entity.value, start: s, end: e, intensity,
      description: `${who} made ${n} calls from ${at} for ${minutes} min`,
    }));
  },
};
