// Normal traffic of one subaccount, minute by minute: each app at its own rhythm, people on their own
// shifts, Zipf-popular resources, endpoints and business objects, a few stale calls the rules refuse, rare
// 404s and backend errors, the vendor's support now and then, and the weekly connector maintenance.
import { allowedCall, concretePath, deniedCall, failed, noConnector, serverError, unitHash, type SimCall } from './calls.js';
import { LocalClock, type LocalTime } from './calendar.js';
import { VENDOR_SUPPORT_PRINCIPAL } from './catalog.js';
import type { ErrorType } from '../../../common/audit/event.js';
import type { App, Backend, Principal, Subaccount } from './profiles.js';
import { fork, int, pick, poisson, Weighted, type Rng } from './random.js';
import { appRate, dayInfo, onShift, type DayInfo } from './rhythm.js';
import type { World } from './world.js';

const MINUTE = 60_000;

/**
 * The share of calls a backend answers 500 itself (error_type ''), fixed per subaccount and backend: most
 * never do, some now and then, one in ten (a flaky legacy service) 1.5 % of calls every day. From a hash,
 * not the random streams, so the rest of the traffic stays as it was.
 */
export function serverErrorRate(sub: Subaccount, backend: Backend): number {
  const u = unitHash(`${sub.name}/${backend.key}/5xx`);
  return u < 0.55 ? 0 : u < 0.9 ? 0.002 : 0.015;
}
const VENDOR_CLOCK = new LocalClock('Europe/Berlin');
const ERRORS = new Weighted<ErrorType>(['backend_timeout', 'reset', 'connect_refused', 'connect_timeout'], [4, 3, 2, 1]);

interface SupportSession {
  readonly from: number;
  readonly to: number;
  readonly perMinute: number;
}

export class NormalTraffic {
  private readonly rng: Rng;
  private readonly shiftCache = new Map<string, Weighted<Principal> | null>();
  private readonly jitter = new Map<string, number>();
  private support: { date: string; session: SupportSession | undefined } = { date: '', session: undefined };

  constructor(private readonly world: World, readonly sub: Subaccount) {
    this.rng = fork(world.options.seed, `normal/${sub.index}`);
  }

  /** Appends the calls that start in [t0, t0 + 1 min). */
  minute(t0: number, out: SimCall[]): void {
    const sub = this.sub;
    const local = sub.clock.at(t0 + 30_000);
    const day = dayInfo(sub, local);
    const first = out.length;
    for (const app of sub.apps) {
      if (app.kind === 'monitor') {
        this.probes(app, t0, out);
        continue;
      }
      const lambda = appRate(app, local, day) * this.dayJitter(app, day.date);
      const n = poisson(this.rng, lambda);
      for (let i = 0; i < n; i++) {
        const call = this.call(app, t0 + Math.floor(this.rng() * MINUTE), local, day);
        if (call) out.push(call);
      }
    }
    this.supportCalls(t0, out);
    if (this.inMaintenance(local)) {
      for (let i = first; i < out.length; i++) {
        const c = out[i] as SimCall;
        if (c.emitter === 'connector') out[i] = noConnector(c);
      }
    }
  }

  /** Day-to-day variation: no two Tuesdays are alike. */
  private dayJitter(app: App, date: string): number {
    const key = `${app.name}|${date}`;
    let j = this.jitter.get(key);
    if (j === undefined) {
      j = 0.85 + this.rng() * 0.3;
      if (this.jitter.size > 500) this.jitter.clear();
      this.jitter.set(key, j);
    }
    return j;
  }

  private inMaintenance(local: LocalTime): boolean {
    const m = this.world.maintenance.get(this.sub.name);
    return m !== undefined && local.weekday === 0 && local.hour >= m.hour && local.hour < m.hour + m.minutes / 60;
  }

  private probes(app: App, t0: number, out: SimCall[]): void {
    const every = app.everyMinutes ?? 1;
    const minuteIndex = Math.floor(t0 / MINUTE);
    if (minuteIndex % every !== this.sub.index % every) return;
    app.resources.forEach((resource, i) => {
      const endpoint = resource.endpoints.items[0];
      if (!endpoint) return;
      const t = t0 + ((7_000 * (i + 1)) % MINUTE) + Math.floor(this.rng() * 300);
      const caller = { sub: this.sub, app: app.name, principal: '', ip: app.ips[0] ?? '', userAgent: app.userAgents.items[0] ?? '' };
      let call = allowedCall(this.rng, t, caller, resource, endpoint);
      if (this.rng() < resource.backend.errorRate) call = failed(call, ERRORS.draw(this.rng), this.rng);
      out.push(call);
    });
  }

  /** People at work now, weighted by how active each is; null when nobody is. */
  private atWork(app: App, local: LocalTime, day: DayInfo): Weighted<Principal> | null {
    const key = `${app.name}|${day.businessDay ? 'b' : `o${day.weekday}`}|${Math.floor(local.hour * 2)}`;
    let w = this.shiftCache.get(key);
    if (w === undefined) {
      // Ops on call work the day like everyone else; at night they are the only ones (see call()).
      const here = app.principals.filter((p) => !p.onCall && onShift(p, local, day));
      if (here.length > 0) here.push(...app.principals.filter((p) => p.onCall));
      w = here.length > 0 ? new Weighted(here, here.map((p) => p.weight)) : null;
      this.shiftCache.set(key, w);
    }
    return w;
  }

  private call(app: App, t: number, local: LocalTime, day: DayInfo): SimCall | undefined {
    const rng = this.rng;
    let principal = '';
    if (app.kind === 'web' || app.kind === 'office') {
      const working = this.atWork(app, local, day);
      if (working) principal = working.draw(rng).id;
      else {
        // Nobody on shift: only ops on call act, and not often.
        const onCall = app.principals.find((p) => p.onCall);
        if (!onCall || rng() > 0.3) return undefined;
        principal = onCall.id;
      }
    }
    const release = this.world.releases.get(`${this.sub.name}/${app.name}`);
    const released = release !== undefined && t >= release.at;
    const caller = { sub: this.sub, app: app.name, principal, ip: pick(rng, app.ips), userAgent: this.userAgent(app, t) };

    if (app.stalePaths.length > 0 && rng() < app.template.denyRate) {
      const stale = pick(rng, app.stalePaths);
      return deniedCall(rng, t, caller, stale.resource.backend, stale.method, concretePath(rng, stale.path, 50), 'path_not_allowed');
    }
    let resource = app.resourcePick.draw(rng);
    let endpoint = resource.endpoints.draw(rng);
    if (released && rng() < release.share) {
      const added = pick(rng, release.endpoints);
      resource = added.resource;
      endpoint = added.endpoint;
    }
    const ids = resource.backend.domain.ids;
    if (endpoint.method === 'GET' && endpoint.path.includes('{id}') && rng() < 0.004) {
      // A stale link or a deleted object: 404 for an id anywhere in the space.
      const path = concretePath(rng, endpoint.path, ids, 100_000 + int(rng, 1, ids * 2));
      return allowedCall(rng, t, caller, resource, endpoint, '', { path, status: 404 });
    }
    const call = allowedCall(rng, t, caller, resource, endpoint);
    if (rng() < resource.backend.errorRate) return failed(call, ERRORS.draw(rng), rng);
    // Some backends answer a small share of calls with a server error of their own, every day.
    const u = unitHash(call.record.trace_id);
    return u < serverErrorRate(this.sub, resource.backend) ? serverError(call, 500, u) : call;
  }

  /** The app's client as of t: a release may have bumped its version. */
  private userAgent(app: App, t: number): string {
    const ua = app.userAgents.draw(this.rng);
    const release = this.world.releases.get(`${this.sub.name}/${app.name}`);
    return release !== undefined && t >= release.at ? (release.userAgents.get(ua) ?? ua) : ua;
  }

  /**
   * The platform vendor's support looks into a ticket in the tenant's main app, on some of the vendor's
   * business days, in the vendor's office hours (Berlin): the same principal in every tenant.
   */
  private supportCalls(t0: number, out: SimCall[]): void {
    const vendor = VENDOR_CLOCK.at(t0);
    if (this.support.date !== vendor.date) {
      let session: SupportSession | undefined;
      if (vendor.weekday >= 1 && vendor.weekday <= 5 && this.rng() < 0.3) {
        const from = VENDOR_CLOCK.utcOf(vendor.date, 8.5 + this.rng() * 8);
        session = { from, to: from + int(this.rng, 20, 40) * MINUTE, perMinute: 0.4 + this.rng() * 0.5 };
      }
      this.support = { date: vendor.date, session };
    }
    const s = this.support.session;
    const app = this.sub.apps.find((a) => a.kind === 'web');
    if (!s || !app || t0 < s.from || t0 >= s.to) return;
    const n = poisson(this.rng, s.perMinute);
    for (let i = 0; i < n; i++) {
      const resource = app.resourcePick.draw(this.rng);
      const endpoint = resource.endpoints.items.find((e) => e.method === 'GET') ?? resource.endpoints.draw(this.rng);
      const t = t0 + Math.floor(this.rng() * MINUTE);
      const caller = { sub: this.sub, app: app.name, principal: VENDOR_SUPPORT_PRINCIPAL, ip: pick(this.rng, app.ips), userAgent: this.userAgent(app, t) };
      out.push(allowedCall(this.rng, t, caller, resource, endpoint));
    }
  }
}
