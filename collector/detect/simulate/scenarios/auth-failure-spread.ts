// Credential stuffing spread over many addresses (a botnet, a pool of proxies): each address tries a few
// tokens and moves on, so no address comes near a per-address threshold; the relay as a whole sees the
// burst. Refused 407 before any tenant is known (subaccount ''). Label entity: the relay ('relay', '*').
//   blatant:  150 addresses x 6 attempts in 20 min;
//   moderate: 80 addresses x 5 attempts in 40 min;
//   subtle:   60 addresses x 4 attempts in 60 min.
import { randomInternetIp } from '../background.js';
import { relayRefusal, type SimCall } from '../calls.js';
import { pick } from '../random.js';
import { fromCalls, makeLabel, MINUTE, times } from './kit.js';
import type { Scenario } from './types.js';

const SHAPE = {
  blatant: { ips: 150, each: 6, minutes: 20 },
  moderate: { ips: 80, each: 5, minutes: 40 },
  subtle: { ips: 60, each: 4, minutes: 60 },
} as const;

/** Common HTTP libraries, as real tools send (and as the tenants' own apps do). */
const AGENTS = ['python-requests/2.32.3', 'Go-http-client/1.1', 'okhttp/4.12.0', 'Apache-HttpClient/4.5.14 (Java/11.0.22)', 'axios/1.7.7'];

export const authFailureSpread: Scenario = {
  id: 'auth_failure_spread',
  detector: 'auth_failure_burst',
  summary: 'credential stuffing spread over many addresses, a few unauthenticated (407) attempts each: only the relay as a whole sees the burst',
  plan({ world, scheduler, rng, id }, intensity) {
    const shape = SHAPE[intensity];
    const start = scheduler.anyTime(rng, shape.minutes * MINUTE);
    const end = start + shape.minutes * MINUTE;
    const sub = pick(rng, world.subs);
    const backend = sub.backends.find((b) => b.protocol !== 'tcp') ?? sub.backends[0];
    const target = { host: backend?.virtualHost ?? 'erp.virtual', port: backend?.virtualPort ?? 8000, path: '/api/orders', method: 'GET' };
    const agent = pick(rng, AGENTS);
    const ips = new Set<string>();
    while (ips.size < shape.ips) ips.add(randomInternetIp(rng));
    const calls: SimCall[] = [];
    for (const ip of ips) {
      // Each address comes once, tries its few tokens within a minute or two, and is gone.
      const at = start + Math.floor(rng() * (end - start - 2 * MINUTE));
      for (const t of times(rng, at, at + 2 * MINUTE, shape.each)) calls.push(relayRefusal(rng, t, ip, agent, target, 'unauthenticated', id));
    }
    return fromCalls(id, calls, (s, e) => makeLabel({
      scenario: 'auth_failure_spread', detector: 'auth_failure_burst', subaccount: '', entityType: 'relay', entity: '*', start: s, end: e, intensity,
      description: `${shape.ips} addresses x ${shape.each} proxy requests with unknown tokens to ${target.host}:${target.port} in ${shape.minutes} min (${agent})`,
    }));
  },
};
