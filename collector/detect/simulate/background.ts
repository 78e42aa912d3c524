// Traffic at the relay that belongs to no tenant: internet-wide scanners testing for an open proxy (no
// token: 407, or 400 for a request that is not a proxy request), and apps whose token just expired
// retrying once or twice before they pick up the new one. Both are normal noise at any internet-facing relay.
import { relayRefusal, type SimCall } from './calls.js';
import { SCANNER_USER_AGENTS } from './catalog.js';
import type { App, Subaccount } from './profiles.js';
import { fork, int, pick, poisson, type Rng } from './random.js';
import { dayInfo } from './rhythm.js';
import type { World } from './world.js';

const MINUTE = 60_000;

/** /24 networks the scenarios use for attackers: never drawn for background scanners. */
export const ATTACKER_NETS: readonly string[] = ['193.32.162', '45.146.165', '185.220.101', '91.92.251', '141.98.11', '80.94.95', '194.26.29', '5.188.206'];

const SCANNER_FIRST_OCTETS = [23, 31, 37, 43, 49, 61, 71, 89, 101, 103, 106, 109, 118, 122, 139, 159, 162, 167, 176, 179, 188, 198, 202, 211, 218, 222];

const PROXY_TESTS = [
  { host: 'www.google.com', port: 443, path: '', method: '', tcp: true },
  { host: 'api.ipify.org', port: 80, path: '/', method: 'GET' },
  { host: 'azenv.net', port: 80, path: '/', method: 'GET' },
  { host: 'httpbin.org', port: 80, path: '/ip', method: 'GET' },
  { host: 'www.baidu.com', port: 443, path: '', method: '', tcp: true },
  { host: 'ident.me', port: 80, path: '/', method: 'GET' },
] as const;

export function randomInternetIp(rng: Rng): string {
  return `${pick(rng, SCANNER_FIRST_OCTETS)}.${int(rng, 0, 255)}.${int(rng, 0, 255)}.${int(rng, 1, 254)}`;
}

export class BackgroundTraffic {
  private readonly rng: Rng;
  /** Per subaccount: the minute of today's expired-token retries, if any. */
  private readonly expiry = new Map<string, { date: string; at: number; app: App | undefined }>();

  constructor(private readonly world: World) {
    this.rng = fork(world.options.seed, 'background');
  }

  minute(t0: number, out: SimCall[]): void {
    const rng = this.rng;
    // About three scanners an hour, each knocking one to three times within seconds.
    const scanners = poisson(rng, 0.05);
    for (let s = 0; s < scanners; s++) {
      const ip = randomInternetIp(rng);
      const ua = pick(rng, SCANNER_USER_AGENTS);
      const t = t0 + Math.floor(rng() * 55_000);
      const knocks = int(rng, 1, 3);
      for (let k = 0; k < knocks; k++) {
        if (rng() < 0.2) out.push(relayRefusal(rng, t + k * 700, ip, ua, { host: '', port: 0, path: '/', method: 'GET' }, 'malformed_request'));
        else out.push(relayRefusal(rng, t + k * 700, ip, ua, pick(rng, PROXY_TESTS), 'unauthenticated'));
      }
    }
    for (const sub of this.world.subs) this.expiredToken(sub, t0, out);
  }

  /** Now and then one app of a tenant presents its old token a few times, right after a rotation. */
  private expiredToken(sub: Subaccount, t0: number, out: SimCall[]): void {
    const rng = this.rng;
    const local = sub.clock.at(t0);
    let plan = this.expiry.get(sub.name);
    if (plan?.date !== local.date) {
      const day = dayInfo(sub, local);
      plan = { date: local.date, at: -1, app: undefined };
      if (day.businessDay && rng() < 0.25) {
        const app = pick(rng, sub.apps.filter((a) => a.kind !== 'monitor' && a.resources.length > 0));
        // It happens when the app runs: a batch job at its start, the others in office hours.
        const hour = app.batch ? app.batch.start + 0.05 : 8 + rng() * 9;
        plan = { date: local.date, at: Math.floor(sub.clock.utcOf(local.date, hour) / MINUTE) * MINUTE, app };
      }
      this.expiry.set(sub.name, plan);
    }
    const app = plan.app;
    if (plan.at !== t0 || !app) return;
    const resource = app.resources[0];
    if (!resource) return;
    const retries = int(rng, 1, 3);
    for (let k = 0; k < retries; k++) {
      out.push(relayRefusal(rng, t0 + k * 2_000 + Math.floor(rng() * 1_000), pick(rng, app.ips), app.userAgents.items[0] ?? '', {
        host: resource.backend.virtualHost, port: resource.backend.virtualPort, path: resource.spec.prefix, method: 'GET',
      }, 'unauthenticated'));
    }
  }
}
