// An on-premise system that answers, but with server errors: the connection and the tunnel are fine, the
// backend (or the reverse proxy in front of it) returns 5xx itself, so error_type stays '' (the spec's
// "the backend answered"). Operational, for admins, like backend_failure's transport failures.
//   blatant:  the application server lost its database: 503 to 90% of calls for 30 min;
//   moderate: a bad deployment: 500 on 40% of calls for 45 min;
//   subtle:   the reverse proxy in front of it loses an upstream now and then: 502 on 15% for an hour.
import { serverError, type SimCall } from '../calls.js';
import { backendRate, busiestBackend } from './backend-failure.js';
import { makeLabel, MINUTE } from './kit.js';
import type { Scenario } from './types.js';

// `least`: answers expected at the very least, so that a quiet backend still shows the outage.
const SHAPE: Record<string, { minutes: number; share: number; least: number; status: number; story: string }> = {
  blatant: { minutes: 30, share: 0.9, least: 0, status: 503, story: 'the application server lost its database and answers 503 Service Unavailable' },
  moderate: { minutes: 45, share: 0.4, least: 25, status: 500, story: 'a bad deployment answers 500 Internal Server Error' },
  subtle: { minutes: 60, share: 0.15, least: 15, status: 502, story: 'the reverse proxy in front of it answers 502 Bad Gateway when an upstream drops' },
};

/** The same call, answered by the backend with a server error (no transport error). */
export function answered5xx(call: SimCall, status: number, rng: () => number, id: string): SimCall {
  return serverError(call, status, rng(), id);
}

export const backend5xx: Scenario = {
  id: 'backend_5xx',
  detector: 'backend_failure',
  summary: 'an on-premise backend answers, but with 5xx server errors (error_type empty): a lost database, a bad deployment, a proxy losing its upstream',
  plan({ scheduler, rng, id }, intensity) {
    const shape = SHAPE[intensity] as (typeof SHAPE)[string];
    const slot = scheduler.place(rng, shape.minutes * MINUTE, 'office');
    if (!slot) return undefined;
    const { sub, start } = slot;
    const backend = busiestBackend(sub, start);
    if (!backend) return undefined;
    const end = start + shape.minutes * MINUTE;
    let expected = 0;
    for (let t = start; t < end; t += MINUTE) expected += backendRate(sub, backend, t);
    const share = Math.min(1, Math.max(shape.share, shape.least / Math.max(1, expected)));
    scheduler.claim([sub.name], start, end);
    return {
      id,
      start,
      end,
      entityAliases: [`${backend.internalHost}:${backend.internalPort}`, backend.virtualHost],
      label: makeLabel({
        scenario: 'backend_5xx', detector: 'backend_failure', subaccount: sub.name, entityType: 'backend', entity: backend.key, start, end, intensity,
        description: `${backend.key} (${backend.internalHost}:${backend.internalPort}): ${shape.story} (${shape.status}, ${Math.round(share * 100)}% of calls, error_type empty) for ${shape.minutes} min`,
      }),
      alter(call) {
        const r = call.record;
        if (call.t < start || call.t >= end || r.subaccount !== sub.name || r.virtual_host !== backend.virtualHost || r.virtual_port !== backend.virtualPort) return call;
        if (r.decision !== 'allow' || r.error_type !== '' || r.protocol === 'tcp' || rng() >= share) return call;
        return answered5xx(call, shape.status, rng, id);
      },
    };
  },
};
