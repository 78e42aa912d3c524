// What the scenarios share: labels, callers that look like the app they impersonate, event times, and
// turning a planned list of calls into an injection.
import type { Label } from '../../types.js';
import { ATTACKER_NETS } from '../background.js';
import { concretePath, type Caller, type SimCall } from '../calls.js';
import type { EndpointSpec } from '../catalog.js';
import type { Intensity } from '../options.js';
import type { App, Backend, Principal, Resource, Subaccount } from '../profiles.js';
import { int, pick, type Rng } from '../random.js';
import { appRate, dayInfo, onShift } from '../rhythm.js';
import type { World } from '../world.js';
import type { Injection } from './types.js';

export const MINUTE = 60_000;

export function makeLabel(fields: {
  scenario: string; detector?: string; subaccount: string; entityType: string; entity: string;
  start: number; end: number; intensity: Intensity; description: string;
}): Label {
  return {
    scenario: fields.scenario,
    detector: fields.detector ?? fields.scenario,
    subaccount: fields.subaccount,
    entity_type: fields.entityType,
    entity: fields.entity,
    window_start: new Date(fields.start).toISOString(),
    window_end: new Date(fields.end).toISOString(),
    intensity: fields.intensity,
    description: fields.description,
  };
}

/** n times in [start, end), sorted. */
export function times(rng: Rng, start: number, end: number, n: number): number[] {
  return Array.from({ length: n }, () => start + Math.floor(rng() * (end - start))).sort((a, b) => a - b);
}

/**
 * An injection that adds a fixed, planned list of calls. Its label window is the span of those calls
 * (first to last), which is what a detector can at best report.
 */
export function fromCalls(id: string, calls: SimCall[], label: (start: number, end: number) => Label): Injection {
  const sorted = calls.slice().sort((a, b) => a.t - b.t);
  const start = sorted[0]?.t ?? 0;
  const end = (sorted[sorted.length - 1]?.t ?? 0) + 1_000;
  let next = 0;
  return {
    id,
    label: label(start, end),
    start,
    end,
    minute(t0, out) {
      while (next < sorted.length && (sorted[next] as SimCall).t < t0) next++;
      while (next < sorted.length && (sorted[next] as SimCall).t < t0 + MINUTE) out.push(sorted[next++] as SimCall);
    },
  };
}

/** An address of a rented server or an anonymising exit, in a network no normal traffic uses. */
export function attackerIp(rng: Rng): string {
  return `${pick(rng, ATTACKER_NETS)}.${int(rng, 2, 250)}`;
}

/** The app's user agent as of t (after a release it carries the new version). */
export function userAgentAt(world: World, sub: Subaccount, app: App, t: number, rng: Rng): string {
  const ua = app.userAgents.draw(rng);
  const release = world.releases.get(`${sub.name}/${app.name}`);
  return release !== undefined && t >= release.at ? (release.userAgents.get(ua) ?? ua) : ua;
}

/** A caller that looks exactly like the app's own traffic, unless told otherwise. */
export function callerFor(world: World, sub: Subaccount, app: App, t: number, rng: Rng, over: Partial<Omit<Caller, 'sub' | 'app'>> = {}): Caller {
  return {
    sub,
    app: app.name,
    principal: over.principal ?? '',
    ip: over.ip ?? pick(rng, app.ips),
    userAgent: over.userAgent ?? userAgentAt(world, sub, app, t, rng),
  };
}

/** Expected normal calls per minute of the app at t (no day-to-day jitter). */
export function expectedRate(sub: Subaccount, app: App, t: number): number {
  const local = sub.clock.at(t);
  return appRate(app, local, dayInfo(sub, local));
}

export function appsOf(sub: Subaccount, ...kinds: App['kind'][]): App[] {
  return sub.apps.filter((a) => kinds.includes(a.kind) && a.resources.length > 0);
}

/** Apps without an end user that leave through the platform's shared addresses. */
export function hostedIntegrations(sub: Subaccount): App[] {
  return appsOf(sub, 'integration').filter((a) => !a.template.external);
}

/** People of an app who work office hours only (no on-call, no Saturdays), most active first. */
export function officeWorkers(app: App): Principal[] {
  return app.principals.filter((p) => !p.onCall && !p.saturdays).sort((a, b) => b.weight - a.weight);
}

/** The app's people at work at t (no one on call), most active first. */
export function onShiftAt(sub: Subaccount, app: App, t: number): Principal[] {
  const local = sub.clock.at(t);
  const day = dayInfo(sub, local);
  return officeWorkers(app).filter((p) => onShift(p, local, day));
}

/** Someone of the app at work at t (the most active office worker if, oddly, nobody is). */
export function personAt(rng: Rng, sub: Subaccount, app: App, t: number): string {
  const people = onShiftAt(sub, app, t).slice(0, 10);
  return people.length > 0 ? pick(rng, people).id : (officeWorkers(app)[0]?.id ?? '');
}

/** A mapping that does not exist: the connector refuses with no_mapping. */
export function unmappedBackend(host: string, port: number): Backend {
  return {
    domain: { id: 'none', virtualHost: host, virtualPort: port, internalPort: 0, protocol: 'http', ids: 1, resources: [] },
    key: `${host}:${port}`, virtualHost: host, virtualPort: port, internalHost: '', internalPort: 0,
    protocol: 'http', locationId: '', errorRate: 0, latency: 1,
  };
}

/** Hosts an intruder guesses at: typical internal services that are not mapped. */
export const GUESSED_HOSTS: readonly (readonly [string, number])[] = [
  ['sap-gw.virtual', 443], ['jenkins.virtual', 8080], ['ldap.virtual', 389], ['files.virtual', 445],
  ['vault.virtual', 8200], ['gitlab.virtual', 443], ['k8s-api.virtual', 6443],
];

export function listEndpoint(resource: Resource): EndpointSpec | undefined {
  return resource.endpoints.items.find((e) => e.method === 'GET' && e.query !== undefined);
}

export function itemEndpoint(resource: Resource): EndpointSpec | undefined {
  return resource.endpoints.items.find((e) => e.method === 'GET' && e.path.endsWith('{id}'));
}

/** An item path of a resource with an id from a small set (a prober keeps to a few objects). */
export function fewIdsPath(rng: Rng, resource: Resource): string {
  const item = itemEndpoint(resource) ?? resource.endpoints.items[0];
  return concretePath(rng, item?.path ?? resource.spec.prefix, 1, 100_000 + int(rng, 1, 4));
}

/** Mean response bytes of one call of the app to that backend, and the share of its calls that go there. */
export function bytesProfile(app: App, backend: Backend): { meanBytes: number; share: number } {
  const items = app.resourcePick.items;
  const weights = items.map((_, i) => 1 / (i + 1)); // resourcePick uses Zipf(1.0) over the same order
  const total = weights.reduce((a, b) => a + b, 0);
  let share = 0;
  let bytes = 0;
  items.forEach((r, i) => {
    if (r.backend.key !== backend.key) return;
    const w = (weights[i] as number) / total;
    const eps = r.endpoints.items;
    const ew = eps.reduce((a, e) => a + e.weight, 0);
    const mean = eps.reduce((a, e) => a + (e.weight / ew) * e.bytesOut, 0) * Math.exp(0.45 * 0.45 / 2);
    share += w;
    bytes += w * mean;
  });
  return { meanBytes: share > 0 ? bytes / share : 0, share };
}
