// An on-premise system failing (operational, for admins): normal calls to one backend fail.
//   blatant:  the service is down, every call refused at connect (502) for 25 min;
//   moderate: database lock contention, 45% of calls time out (504) for 40 min;
//   subtle:   a flaky load balancer resets 12% of connections (502) for an hour.
import type { ErrorType } from '../../../../common/audit/event.js';
import { failed } from '../calls.js';
import type { Backend, Subaccount } from '../profiles.js';
import { bytesProfile, expectedRate, makeLabel, MINUTE } from './kit.js';
import type { Scenario } from './types.js';

// `least`: failed calls expected at the very least, so that a quiet backend still shows a failure an
// admin would want to hear of (the share of failing calls rises instead).
const SHAPE: Record<string, { minutes: number; share: number; least: number; error: ErrorType; story: string }> = {
  blatant: { minutes: 25, share: 1, least: 0, error: 'connect_refused', story: 'the service is down: every call refused at connect' },
  moderate: { minutes: 40, share: 0.45, least: 25, error: 'backend_timeout', story: 'lock contention: calls time out' },
  subtle: { minutes: 60, share: 0.12, least: 15, error: 'reset', story: 'a flaky load balancer resets connections' },
};

/** Expected calls per minute to a backend at t (apps' rates times their share going there). */
export function backendRate(sub: Subaccount, b: Backend, t: number): number {
  return sub.apps.reduce((a, app) => a + expectedRate(sub, app, t) * bytesProfile(app, b).share, 0);
}

/** The HTTP backend with the most calls at t. */
export function busiestBackend(sub: Subaccount, t: number): Backend | undefined {
  const http = sub.backends.filter((b) => b.protocol !== 'tcp');
  return http.sort((a, b) => backendRate(sub, b, t) - backendRate(sub, a, t))[0];
}

export const backendFailure: Scenario = {
  id: 'backend_failure',
  detector: 'backend_failure',
  summary: 'an on-premise backend fails: connection refused, timeouts or resets on a share of its calls',
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
        scenario: 'backend_failure', subaccount: sub.name, entityType: 'backend', entity: backend.key, start, end, intensity,
        description: `${backend.key} (${backend.internalHost}:${backend.internalPort}): ${shape.story} (${shape.error}, ${Math.round(share * 100)}% of calls) for ${shape.minutes} min`,
      }),
      alter(call) {
        const r = call.record;
        if (call.t < start || call.t >= end || r.subaccount !== sub.name || r.virtual_host !== backend.virtualHost || r.virtual_port !== backend.virtualPort) return call;
        if (r.decision !== 'allow' || r.error_type !== '' || rng() >= share) return call;
        return { ...failed(call, shape.error, rng), source: id };
      },
    };
  },
};
