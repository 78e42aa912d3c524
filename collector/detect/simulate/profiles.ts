// Subaccount profiles: which on-premise systems a tenant exposes, which cloud apps call them, who uses
// those apps and when, from which addresses, with which clients. Built once from the seed.
import { BusinessCalendar, LocalClock } from './calendar.js';
import {
  APPS, DOMAINS, DORMANT_TCP, FIRST_NAMES, HEALTH, LAST_NAMES, REGIONS, SUBACCOUNT_NAMES,
  type AppKind, type AppTemplate, type DomainSpec, type EndpointSpec, type RegionSpec, type ResourceSpec,
} from './catalog.js';
import { fork, int, pick, shuffled, Weighted, zipfWeights, type Rng } from './random.js';

export interface Backend {
  readonly domain: DomainSpec;
  /** `virtual_host:virtual_port`: how findings and labels name a backend. */
  readonly key: string;
  readonly virtualHost: string;
  readonly virtualPort: number;
  readonly internalHost: string;
  readonly internalPort: number;
  readonly protocol: 'http' | 'https' | 'tcp';
  readonly locationId: string;
  /** Share of calls that fail at the backend in normal operation. */
  readonly errorRate: number;
  /** Multiplies the endpoints' latencies: some systems are slower. */
  readonly latency: number;
}

export interface Resource {
  readonly backend: Backend;
  readonly spec: ResourceSpec;
  readonly ruleId: string;
  readonly endpoints: Weighted<EndpointSpec>;
}

export interface Principal {
  readonly id: string;
  /** Local shift, hours (fractional). */
  readonly start: number;
  readonly end: number;
  /** Also works Saturday mornings. */
  readonly saturdays: boolean;
  /** Ops on call: may act at any hour, at a low rate. */
  readonly onCall: boolean;
  readonly weight: number;
}

export interface App {
  readonly name: string;
  readonly kind: AppKind;
  readonly template: AppTemplate;
  /** Calls per minute at the peak (this subaccount's size and the rate scale applied). */
  readonly peak: number;
  readonly resources: readonly Resource[];
  readonly resourcePick: Weighted<Resource>;
  /** Empty for apps that call without an end user. */
  readonly principals: readonly Principal[];
  readonly ips: readonly string[];
  readonly userAgents: Weighted<string>;
  /** Paths it keeps calling that the rules never allowed (a stale client feature): its normal denials. */
  readonly stalePaths: readonly { path: string; method: string; resource: Resource }[];
  /** batch: local start hour and length (minutes); weekdays only for some jobs. */
  readonly batch?: { readonly start: number; readonly minutes: number; readonly weekdaysOnly: boolean };
  /** monitor: minutes between probes of each backend. */
  readonly everyMinutes?: number;
}

export interface Subaccount {
  readonly name: string;
  readonly index: number;
  /** Relative traffic volume, 1 for the largest. */
  readonly size: number;
  readonly region: RegionSpec;
  readonly clock: LocalClock;
  readonly calendar: BusinessCalendar;
  readonly backends: readonly Backend[];
  /** A mapping configured on the connector that nothing calls (a legacy TCP service). */
  readonly dormant: Backend;
  readonly apps: readonly App[];
  readonly employees: readonly Principal[];
  /** The platform's NAT addresses this subaccount's hosted apps leave from. */
  readonly nat: readonly string[];
}

export interface ProfileOptions {
  readonly seed: number;
  readonly subaccounts: number;
  readonly rateScale: number;
}

export function subaccountName(index: number): string {
  const base = SUBACCOUNT_NAMES[index % SUBACCOUNT_NAMES.length] as string;
  const round = Math.floor(index / SUBACCOUNT_NAMES.length);
  return round === 0 ? base : `${base}-${round + 1}`;
}

function makeBackend(sub: { name: string; index: number }, domain: DomainSpec, n: number, locationId: string, rng: Rng): Backend {
  return {
    domain,
    key: `${domain.virtualHost}:${domain.virtualPort}`,
    virtualHost: domain.virtualHost,
    virtualPort: domain.virtualPort,
    internalHost: `10.${20 + (sub.index % 200)}.${n}.${int(rng, 10, 250)}`,
    internalPort: domain.internalPort,
    protocol: domain.protocol,
    locationId,
    errorRate: 0.0008 + rng() * 0.0035,
    latency: 0.7 + rng() * 0.9,
  };
}

function resourceOf(sub: string, backend: Backend, spec: ResourceSpec): Resource {
  return {
    backend,
    spec,
    ruleId: `${sub}-${backend.domain.id}-${spec.id}`,
    endpoints: new Weighted(spec.endpoints, spec.endpoints.map((e) => e.weight)),
  };
}

function makePrincipals(rng: Rng, subName: string, count: number): Principal[] {
  const seen = new Set<string>();
  const out: Principal[] = [];
  const weights = zipfWeights(count, 0.9);
  while (out.length < count) {
    let id = `${pick(rng, FIRST_NAMES)}.${pick(rng, LAST_NAMES)}@${subName}.example`;
    if (seen.has(id)) id = id.replace('@', `${int(rng, 2, 9)}@`);
    if (seen.has(id)) continue;
    seen.add(id);
    const start = 7 + Math.floor(rng() * 7) / 2; // 7:00 .. 10:00
    out.push({
      id,
      start,
      end: start + 8 + Math.floor(rng() * 4) / 2,
      saturdays: rng() < 0.06,
      onCall: false,
      weight: weights[out.length] as number,
    });
  }
  return out;
}

/** A subset of the employees for one app, keeping their Zipf activity weights. */
function usersOf(rng: Rng, employees: readonly Principal[], share: number, min: number): Principal[] {
  const chosen = employees.filter(() => rng() < share);
  return chosen.length >= min ? chosen : employees.slice(0, Math.min(min, employees.length));
}

function someOf(rng: Rng, pool: readonly string[], n: number): string[] {
  return shuffled(rng, pool).slice(0, Math.max(1, Math.min(n, pool.length)));
}

function chooseApps(rng: Rng, domains: ReadonlySet<string>): AppTemplate[] {
  const eligible = (kind: AppKind) => shuffled(rng, APPS.filter((a) => a.kind === kind && domains.has((a.uses[0] ?? '').split('.')[0] ?? '')));
  const web = eligible('web');
  const office = eligible('office');
  const integration = eligible('integration');
  const batch = eligible('batch');
  return [
    ...web.slice(0, web.length > 2 && rng() < 0.5 ? 3 : 2),
    ...office.slice(0, 1),
    ...integration.slice(0, integration.length > 1 && rng() < 0.5 ? 2 : 1),
    ...batch.slice(0, 1),
    APPS.find((a) => a.kind === 'monitor') as AppTemplate,
  ];
}

function buildSubaccount(options: ProfileOptions, index: number, regionOrder: readonly RegionSpec[]): Subaccount {
  const rng = fork(options.seed, `profile/${index}`);
  const name = subaccountName(index);
  const region = regionOrder[index % regionOrder.length] as RegionSpec;
  const size = 1 / Math.pow(index + 1, 0.8);
  // Every tenant runs an ERP; two or three more systems vary.
  const others = shuffled(rng, DOMAINS.filter((d) => d.id !== 'erp')).slice(0, int(rng, 2, 3));
  const domainSpecs = [DOMAINS[0] as DomainSpec, ...others];
  const secondSite = index % 3 === 1;
  const backends = domainSpecs.map((d, n) => makeBackend({ name, index }, d, n + 1, secondSite && n === domainSpecs.length - 1 ? 'plant-2' : '', rng));
  const dormant = makeBackend({ name, index }, pick(rng, DORMANT_TCP), 9, '', rng);
  const domainIds = new Set(domainSpecs.map((d) => d.id));
  const resources = new Map<string, Resource>();
  for (const b of backends) for (const spec of [...b.domain.resources, HEALTH]) resources.set(`${b.domain.id}.${spec.id}`, resourceOf(name, b, spec));

  const employees = makePrincipals(rng, name, Math.round(12 + 90 * size));
  const nat = someOf(rng, region.nat, 3);
  const partnerNet = `${pick(rng, ['194.25.134', '80.150.6', '62.153.71', '212.227.18'])}`;
  const apps: App[] = [];
  for (const template of chooseApps(rng, domainIds)) {
    const appResources = template.kind === 'monitor'
      ? backends.filter((b) => b.protocol !== 'tcp').map((b) => resources.get(`${b.domain.id}.health`) as Resource)
      : template.uses.filter((u) => domainIds.has(u.split('.')[0] ?? '')).map((u) => resources.get(u) as Resource);
    const peopleApp = template.kind === 'web' || template.kind === 'office';
    const principals = template.kind === 'web'
      ? usersOf(rng, employees, 0.6, 8)
      : template.kind === 'office' ? usersOf(rng, employees.slice(Math.floor(employees.length / 3)), 0.15, 3) : [];
    // Ops on call reach the web apps at night and at weekends, now and then.
    const onCall: Principal[] = template.kind === 'web' && apps.every((a) => a.kind !== 'web')
      ? [{ id: `oncall.${name}@${name}.example`, start: 0, end: 24, saturdays: true, onCall: true, weight: 0.3 }]
      : [];
    const stale = peopleApp || template.kind === 'integration'
      ? appResources.slice(0, 2).map((r) => ({ path: `${r.spec.prefix.replace(/^\/(\w+)\//, '/$1/v1/')}/{id}`, method: 'GET', resource: r }))
      : [];
    apps.push({
      name: template.name,
      kind: template.kind,
      template,
      peak: template.peak * size * options.rateScale * (0.8 + rng() * 0.4),
      resources: appResources,
      resourcePick: new Weighted(appResources, zipfWeights(appResources.length, 1.0)),
      principals: [...principals, ...onCall],
      ips: template.external ? [`${partnerNet}.${int(rng, 2, 120)}`, `${partnerNet}.${int(rng, 121, 250)}`] : someOf(rng, nat, template.kind === 'monitor' ? 1 : 2),
      userAgents: new Weighted(template.userAgents.map(([ua]) => ua), template.userAgents.map(([, w]) => w)),
      stalePaths: stale,
      ...(template.kind === 'batch'
        ? { batch: { start: template.name === 'payroll-run' ? 22.5 + rng() : 1 + rng() * 2, minutes: int(rng, 25, 45), weekdaysOnly: template.name === 'payroll-run' } }
        : {}),
      ...(template.kind === 'monitor' ? { everyMinutes: Math.max(1, Math.round(pick(rng, [1, 2, 2, 5]) / Math.min(1, options.rateScale))) } : {}),
    });
  }
  return {
    name, index, size, region,
    clock: new LocalClock(region.timeZone),
    calendar: new BusinessCalendar(region.country),
    backends, dormant, apps, employees, nat,
  };
}

export function buildProfiles(options: ProfileOptions): Subaccount[] {
  const regionOrder = shuffled(fork(options.seed, 'regions'), REGIONS);
  return Array.from({ length: options.subaccounts }, (_, i) => buildSubaccount(options, i, regionOrder));
}

/** Resources that have a rule on the subaccount's connector but that `app` never calls. */
export function unusedResources(sub: Subaccount, app: App): Resource[] {
  const used = new Set(app.resources.map((r) => r.ruleId));
  const out: Resource[] = [];
  for (const b of sub.backends) {
    for (const spec of b.domain.resources) {
      const ruleId = `${sub.name}-${b.domain.id}-${spec.id}`;
      if (!used.has(ruleId)) out.push(resourceOf(sub.name, b, spec));
    }
  }
  return out;
}

/** Every resource of the subaccount, as the connector's rules define them. */
export function allResources(sub: Subaccount): Resource[] {
  return sub.backends.flatMap((b) => b.domain.resources.map((spec) => resourceOf(sub.name, b, spec)));
}
