// Data theft through an app's token: large list pages pulled from one backend, far above what the app
// usually downloads from it. Calls carry no end user and come from the app's usual addresses.
//   blatant:  30 full dumps ($top=100000, ~12 MB each) in 40 min;
//   moderate: 60 big pages in an hour, 8x the app's usual bytes from that backend (at least 60 MB);
//   subtle:   a slow drip over two hours, 4x its usual bytes (at least 25 MB).
import { allowedCall, type SimCall } from '../calls.js';
import type { EndpointSpec } from '../catalog.js';
import type { App, Resource, Subaccount } from '../profiles.js';
import { logNormal } from '../random.js';
import { appsOf, bytesProfile, callerFor, expectedRate, fromCalls, listEndpoint, makeLabel, MINUTE, times } from './kit.js';
import type { Scenario } from './types.js';

const MB = 1_000_000;
const SHAPE = {
  blatant: { minutes: 40, calls: 30, factor: 0, floorMb: 0 },
  moderate: { minutes: 60, calls: 60, factor: 8, floorMb: 60 },
  subtle: { minutes: 120, calls: 40, factor: 4, floorMb: 25 },
} as const;

function listable(app: App): Resource | undefined {
  return app.resources.find((r) => listEndpoint(r) !== undefined);
}

export const exfiltration: Scenario = {
  id: 'exfiltration',
  detector: 'exfiltration',
  summary: "bulk download through an app's token: bytes out from one backend far above that app's baseline",
  plan({ world, scheduler, rng, id }, intensity) {
    const shape = SHAPE[intensity];
    const appFor = (sub: Subaccount): App | undefined => appsOf(sub, 'web', 'integration').find((a) => listable(a) !== undefined);
    const slot = scheduler.place(rng, shape.minutes * MINUTE, 'office', (s) => appFor(s) !== undefined);
    if (!slot) return undefined;
    const { sub, start } = slot;
    const app = appFor(sub) as App;
    const resource = listable(app) as Resource;
    const endpoint = listEndpoint(resource) as EndpointSpec;
    const end = start + shape.minutes * MINUTE;
    // What the app usually pulls from that backend over the same span, from its expected call rate.
    const profile = bytesProfile(app, resource.backend);
    let usual = 0;
    for (let t = start; t < end; t += MINUTE) usual += expectedRate(sub, app, t) * profile.share * profile.meanBytes;
    const perCall = intensity === 'blatant' ? 12 * MB : Math.max(shape.factor * usual, shape.floorMb * MB) / shape.calls;
    const top = intensity === 'blatant' ? 100_000 : Math.max(500, Math.round((50 * perCall) / endpoint.bytesOut / 500) * 500);
    const calls: SimCall[] = [];
    for (const [i, t] of times(rng, start, end, shape.calls).entries()) {
      const bytes = logNormal(rng, perCall, 0.25);
      calls.push(allowedCall(rng, t, callerFor(world, sub, app, t, rng), resource, endpoint, id, {
        query: `$top=${top}&$skip=${i * top}`,
        bytesFactor: bytes / endpoint.bytesOut,
      }));
    }
    scheduler.claim([sub.name], start, end);
    const total = calls.reduce((a, c) => a + c.record.bytes_out, 0);
    return fromCalls(id, calls, (s, e) => makeLabel({
      scenario: 'exfiltration', subaccount: sub.name, entityType: 'cloud_app', entity: app.name, start: s, end: e, intensity,
      description: `${app.name} pulled ${(total / MB).toFixed(0)} MB from ${resource.backend.key}${resource.spec.prefix} in ${shape.calls} calls over ${shape.minutes} min ($top=${top}), against about ${(usual / MB).toFixed(1)} MB usual for that span`,
    }));
  },
};
