// Token guessing at the relay: one address sends proxy requests with tokens the relay does not know, each
// refused 407 before any tenant is known (subaccount ''). The scanners of the background knock once or
// three times; this one keeps going. Its user agents are common HTTP libraries, as real tools send.
//   blatant: 1,800 attempts in 10 min; moderate: 220 in 25 min; subtle: 45 in 20 min.
import { relayRefusal, type SimCall } from '../calls.js';
import { pick } from '../random.js';
import { attackerIp, fromCalls, makeLabel, MINUTE, times } from './kit.js';
import type { Scenario } from './types.js';

const SHAPE = {
  blatant: { n: 1800, minutes: 10, userAgent: 'Go-http-client/1.1' },
  moderate: { n: 220, minutes: 25, userAgent: 'okhttp/4.12.0' },
  subtle: { n: 45, minutes: 20, userAgent: 'Apache-HttpClient/4.5.14 (Java/11.0.22)' },
} as const;

export const authFailureBurst: Scenario = {
  id: 'auth_failure_burst',
  detector: 'auth_failure_burst',
  summary: 'token guessing at the relay: a burst of unauthenticated (407) attempts from one address',
  plan({ world, scheduler, rng, id }, intensity) {
    const shape = SHAPE[intensity];
    const start = scheduler.anyTime(rng, shape.minutes * MINUTE);
    const ip = attackerIp(rng);
    // The guesser aims at a host it learnt of, e.g. from a leaked destination configuration.
    const sub = pick(rng, world.subs);
    const backend = sub.backends[0];
    const target = { host: backend?.virtualHost ?? 'erp.virtual', port: backend?.virtualPort ?? 8000, path: '/api/orders', method: 'GET' };
    const calls: SimCall[] = times(rng, start, start + shape.minutes * MINUTE, shape.n)
      .map((t) => relayRefusal(rng, t, ip, shape.userAgent, target, 'unauthenticated', id));
    return fromCalls(id, calls, (s, e) => makeLabel({
      scenario: 'auth_failure_burst', subaccount: '', entityType: 'client_ip', entity: ip, start: s, end: e, intensity,
      description: `${ip} (a rented server) sent ${shape.n} proxy requests with unknown tokens to ${target.host}:${target.port} in ${shape.minutes} min (${shape.userAgent})`,
    }));
  },
};
