// One tenant's backends answer a share of its calls with server errors for hours (the tenant's on-premise
// API gateway, in front of all its systems, is overloaded), while every other tenant's do not: the tenant
// as a whole stands out (label entity ''), no single backend fails enough for an outage of its own.
//   blatant:  12% of all allowed calls answered 503 for 3 h;
//   moderate: 8% answered 502 for 4 h;
//   subtle:   7% answered 500 for 4 h.
// (peer_deviation judges 3-hour windows on a fixed grid: an episode is split between two of them.)
import { answered5xx } from './backend-5xx.js';
import { makeLabel, MINUTE } from './kit.js';
import type { Scenario } from './types.js';

const SHAPE = {
  blatant: { minutes: 180, share: 0.12, status: 503 },
  moderate: { minutes: 240, share: 0.08, status: 502 },
  subtle: { minutes: 240, share: 0.07, status: 500 },
} as const;

export const peer5xx: Scenario = {
  id: 'peer_5xx',
  detector: 'peer_deviation',
  summary: "one tenant's backends answer a share of all its calls with 5xx for hours (an overloaded on-premise gateway), unlike every other tenant's",
  plan({ world, scheduler, rng, id }, intensity) {
    if (world.subs.length < 3) return undefined; // no peers to deviate from
    const shape = SHAPE[intensity];
    const slot = scheduler.place(rng, shape.minutes * MINUTE, 'office', (s) => s.apps.filter((a) => a.kind !== 'monitor' && a.kind !== 'batch').length >= 2);
    if (!slot) return undefined;
    const { sub, start } = slot;
    const end = start + shape.minutes * MINUTE;
    scheduler.claim([sub.name], start, end);
    return {
      id,
      start,
      end,
      label: makeLabel({
        scenario: 'peer_5xx', detector: 'peer_deviation', subaccount: sub.name, entityType: '', entity: '', start, end, intensity,
        description: `${sub.name}: its on-premise API gateway is overloaded and answers ${Math.round(shape.share * 100)}% of all calls ${shape.status} for ${shape.minutes / 60} h`,
      }),
      alter(call) {
        const r = call.record;
        if (call.t < start || call.t >= end || r.subaccount !== sub.name || call.emitter !== 'connector' || r.decision !== 'allow' || r.error_type !== '' || r.protocol === 'tcp') return call;
        return rng() < shape.share ? answered5xx(call, shape.status, rng, id) : call;
      },
    };
  },
};
