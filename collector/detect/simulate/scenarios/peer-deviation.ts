// One tenant's traffic turns unlike every other tenant's while their traffic stays as it was; no single app,
// person or address stands out, the tenant as a whole does (label entity '').
//   blatant:  a trust store rotation went wrong: two of its apps are refused app_not_trusted on every call, 3 h;
//   moderate: a policy rollout refuses every write (POST/PATCH) with method_not_allowed, 4 h;
//   subtle:   a connector upgrade refuses ~7% of calls, spread over all apps, as path_not_allowed, 6 h.
import { deniedCall, type SimCall } from '../calls.js';
import type { Subaccount } from '../profiles.js';
import { makeLabel, MINUTE } from './kit.js';
import type { Scenario } from './types.js';

const SHAPE = {
  blatant: { minutes: 180, when: 'office', story: 'a trust store rotation went wrong: two apps refused app_not_trusted on every call' },
  moderate: { minutes: 240, when: 'office', story: 'a policy rollout refuses every write (POST/PATCH) with method_not_allowed' },
  subtle: { minutes: 360, when: 'office', story: 'a connector upgrade refuses about 7% of all calls as path_not_allowed' },
} as const;

function refuse(call: SimCall, reason: 'app_not_trusted' | 'method_not_allowed' | 'path_not_allowed', sub: Subaccount, rng: () => number, id: string): SimCall {
  const r = call.record;
  const backend = sub.backends.find((b) => b.virtualHost === r.virtual_host && b.virtualPort === r.virtual_port);
  if (!backend) return call;
  const caller = { sub, app: r.cloud_app, principal: r.principal, ip: r.client_ip, userAgent: r.user_agent };
  return deniedCall(rng, call.t, caller, backend, r.method, r.path, reason, id);
}

export const peerDeviation: Scenario = {
  id: 'peer_deviation',
  detector: 'peer_deviation',
  summary: "one tenant's refusal rate departs from its peers' for hours (broken trust, a bad policy rollout), spread over all its apps",
  plan({ world, scheduler, rng, id }, intensity) {
    if (world.subs.length < 3) return undefined; // no peers to deviate from
    const shape = SHAPE[intensity];
    const slot = scheduler.place(rng, shape.minutes * MINUTE, shape.when, (s) => s.apps.filter((a) => a.kind !== 'monitor' && a.kind !== 'batch').length >= 2);
    if (!slot) return undefined;
    const { sub, start } = slot;
    const end = start + shape.minutes * MINUTE;
    const untrusted = new Set(sub.apps.filter((a) => a.kind === 'web' || a.kind === 'integration').slice(0, 2).map((a) => a.name));
    scheduler.claim([sub.name], start, end);
    return {
      id,
      start,
      end,
      label: makeLabel({
        scenario: 'peer_deviation', subaccount: sub.name, entityType: '', entity: '', start, end, intensity,
        description: `${sub.name}: ${shape.story} for ${shape.minutes / 60} h${intensity === 'blatant' ? ` (${[...untrusted].join(', ')})` : ''}`,
      }),
      alter(call) {
        const r = call.record;
        if (call.t < start || call.t >= end || r.subaccount !== sub.name || call.emitter !== 'connector' || r.decision !== 'allow' || r.protocol === 'tcp') return call;
        if (intensity === 'blatant') return untrusted.has(r.cloud_app) ? refuse(call, 'app_not_trusted', sub, rng, id) : call;
        if (intensity === 'moderate') return r.method === 'POST' || r.method === 'PATCH' ? refuse(call, 'method_not_allowed', sub, rng, id) : call;
        return r.path !== '/health' && rng() < 0.07 ? refuse(call, 'path_not_allowed', sub, rng, id) : call;
      },
    };
  },
};
