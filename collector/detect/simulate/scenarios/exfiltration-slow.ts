// Data theft kept slow on purpose: pages pulled all day at a few MB an hour, never a burst in any hour,
// far more than the app usually downloads over the day. Calls carry no end user and come from the app's
// usual addresses.
//   blatant:  12 h at 4 MB an hour (about 50 MB), or 5x the app's usual bytes if that is more;
//   moderate: 10 h at 3 MB an hour, or 4x the app's usual bytes if that is more;
//   subtle:   8 h at 3 MB an hour, or 3.5x its usual bytes if that is more.
import { allowedCall, type SimCall } from '../calls.js';
import type { EndpointSpec } from '../catalog.js';
import type { App, Resource, Subaccount } from '../profiles.js';
import { logNormal } from '../random.js';
import { appsOf, bytesProfile, callerFor, expectedRate, fromCalls, listEndpoint, makeLabel, MINUTE, times } from './kit.js';
import type { Scenario } from './types.js';

const MB = 1_000_000;
const SHAPE = {
  blatant: { minutes: 720, mbPerHour: 4, factor: 5, when: 'any' },
  moderate: { minutes: 600, mbPerHour: 3, factor: 4, when: 'any' },
  subtle: { minutes: 480, mbPerHour: 3, factor: 3.5, when: 'any' },
} as const;

function listable(app: App): Resource | undefined {
  return app.resources.find((r) => listEndpoint(r) !== undefined);
}

export const exfiltrationSlow: Scenario = {
  id: 'exfiltration_slow',
  detector: 'exfiltration',
  summary: "a slow drip through an app's token: a few MB an hour for many hours, far above the app's bytes over the day",
  plan({ world, scheduler, rng, id }, intensity) {
    const shape = SHAPE[intensity];
    const appFor = (sub: Subaccount): App | undefined => appsOf(sub, 'integration', 'web').find((a) => listable(a) !== undefined);
    const slot = scheduler.place(rng, shape.minutes * MINUTE, shape.when, (s) => appFor(s) !== undefined);
    if (!slot) return undefined;
    const { sub, start } = slot;
    const app = appFor(sub) as App;
    const resource = listable(app) as Resource;
    const endpoint = listEndpoint(resource) as EndpointSpec;
    const end = start + shape.minutes * MINUTE;
    const profile = bytesProfile(app, resource.backend);
    let usual = 0;
    for (let t = start; t < end; t += MINUTE) usual += expectedRate(sub, app, t) * profile.share * profile.meanBytes;
    const total = Math.max(shape.factor * usual, shape.mbPerHour * MB * (shape.minutes / 60));
    // Pages of about 150 kB: many calls, each unremarkable.
    const n = Math.max(20, Math.round(total / (150_000)));
    const perCall = total / n;
    const calls: SimCall[] = [];
    for (const [i, t] of times(rng, start, end, n).entries()) {
      calls.push(allowedCall(rng, t, callerFor(world, sub, app, t, rng), resource, endpoint, id, {
        query: `$top=500&$skip=${i * 500}`,
        bytesFactor: logNormal(rng, perCall, 0.2) / endpoint.bytesOut,
      }));
    }
    scheduler.claim([sub.name], start, end);
    const pulled = calls.reduce((a, c) => a + c.record.bytes_out, 0);
    return fromCalls(id, calls, (s, e) => makeLabel({
      scenario: 'exfiltration_slow', detector: 'exfiltration', subaccount: sub.name, entityType: 'cloud_app', entity: app.name, start: s, end: e, intensity,
      description: `${app.name} pulled ${(pulled / MB).toFixed(0)} MB from ${resource.backend.key}${resource.spec.prefix} in ${n} calls spread over ${shape.minutes / 60} h, against about ${(usual / MB).toFixed(1)} MB usual for that span`,
    }));
  },
};
