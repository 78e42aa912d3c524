// A runaway client: blatant, a bug re-polls one list endpoint in a tight loop (12x the app's usual rate
// for 30 min); moderate, a sync replays its backlog (5x for an hour, its usual mix); subtle, a batch of
// users is migrated and the app works 3.5x harder for 90 minutes. Calls look like the app's own.
import { allowedCall, type SimCall } from '../calls.js';
import type { App, Resource, Subaccount } from '../profiles.js';
import { pick, poisson } from '../random.js';
import { appsOf, callerFor, expectedRate, fromCalls, listEndpoint, makeLabel, MINUTE, onShiftAt } from './kit.js';
import type { Scenario } from './types.js';

const SHAPE = {
  blatant: { minutes: 30, extra: 11, floor: 6 },
  moderate: { minutes: 60, extra: 4, floor: 2 },
  subtle: { minutes: 90, extra: 2.5, floor: 0.8 },
} as const;

export const volumeSpike: Scenario = {
  id: 'volume_spike',
  detector: 'volume_spike',
  summary: 'a runaway or replaying client multiplies one app\'s call volume (retry storm, backlog replay)',
  plan({ world, scheduler, rng, id }, intensity) {
    const shape = SHAPE[intensity];
    const busiest = (sub: Subaccount): App | undefined => appsOf(sub, 'web', 'integration').sort((a, b) => b.peak - a.peak)[0];
    const slot = scheduler.place(rng, shape.minutes * MINUTE, 'office', (s) => busiest(s) !== undefined);
    if (!slot) return undefined;
    const { sub, start } = slot;
    const app = busiest(sub) as App;
    const end = start + shape.minutes * MINUTE;
    const loopResource = app.resources[0] as Resource;
    const loopEndpoint = listEndpoint(loopResource) ?? loopResource.endpoints.items[0];
    const calls: SimCall[] = [];
    let expected = 0;
    for (let t0 = start; t0 < end; t0 += MINUTE) {
      const normal = expectedRate(sub, app, t0);
      expected += normal;
      const n = poisson(rng, Math.max(shape.floor, shape.extra * normal));
      // A front-end bug polls for everyone logged in; a backlog replay runs as the app itself.
      const workers = app.principals.length > 0 && intensity !== 'moderate' ? onShiftAt(sub, app, t0) : [];
      for (let i = 0; i < n; i++) {
        const t = t0 + Math.floor(rng() * MINUTE);
        const principal = workers.length > 0 ? pick(rng, workers).id : '';
        const caller = callerFor(world, sub, app, t, rng, { principal });
        if (intensity === 'blatant' && loopEndpoint) {
          calls.push(allowedCall(rng, t, caller, loopResource, loopEndpoint, id, { query: '$top=50&$skip=0' }));
        } else {
          const resource = app.resourcePick.draw(rng);
          calls.push(allowedCall(rng, t, caller, resource, resource.endpoints.draw(rng), id));
        }
      }
    }
    scheduler.claim([sub.name], start, end);
    const how = intensity === 'blatant' ? `re-polled ${loopResource.spec.prefix} in a loop` : intensity === 'moderate' ? 'replayed a backlog with its usual mix of calls' : 'worked through a user migration with its usual mix of calls';
    return fromCalls(id, calls, (s, e) => makeLabel({
      scenario: 'volume_spike', subaccount: sub.name, entityType: 'cloud_app', entity: app.name, start: s, end: e, intensity,
      description: `${app.name} ${how}: ${calls.length} extra calls in ${shape.minutes} min on top of about ${Math.round(expected)} expected (${((calls.length + expected) / Math.max(1, expected)).toFixed(1)}x)`,
    }));
  },
};
