// The simulated world before any anomaly: subaccounts, and the benign changes that happen to them
// (a release adding paths, busy month-ends, holidays, weekly connector maintenance). Detectors must not
// alarm on these, or only mildly; the evaluation attributes false positives to them.
import { localDates } from './calendar.js';
import type { EndpointSpec } from './catalog.js';
import type { ResolvedOptions } from './options.js';
import { buildProfiles, type App, type Resource, type Subaccount } from './profiles.js';
import { fork, int, pick, shuffled } from './random.js';

const DAY = 86_400_000;

export interface Release {
  readonly at: number;
  /** New endpoints under a resource prefix the app already uses, and their share of its calls. */
  readonly endpoints: readonly { readonly resource: Resource; readonly endpoint: EndpointSpec }[];
  readonly share: number;
  /** The app's user agent after the release (version bumped), if it carries a version. */
  readonly userAgents: ReadonlyMap<string, string>;
}

export type NoveltyKind = 'release' | 'month_end' | 'holiday' | 'dst' | 'maintenance';

/** Novelties that are part of the rhythm rather than an event: injections may fall on them. */
export const RECURRING_NOVELTIES: readonly NoveltyKind[] = ['dst', 'maintenance'];

/**
 * A benign change, for the reader of a simulation and for attributing false positives. release,
 * month_end and holiday are events no anomaly is injected on; dst (the week after a daylight-saving
 * change, when everything local moves by an hour in UTC) and maintenance (the connector's weekly
 * restart: a few minutes of no_connector) are listed for attribution only.
 */
export interface Novelty {
  readonly kind: NoveltyKind;
  readonly subaccount: string;
  /** The app concerned, '' for the whole subaccount. */
  readonly cloud_app: string;
  readonly window_start: string;
  readonly window_end: string;
  readonly description: string;
}

export interface World {
  readonly options: ResolvedOptions;
  readonly startMs: number;
  readonly endMs: number;
  /** Anomalies are injected only after this. */
  readonly warmupEndMs: number;
  readonly subs: readonly Subaccount[];
  /** By `subaccount/app`. */
  readonly releases: ReadonlyMap<string, Release>;
  readonly novelties: readonly Novelty[];
  /** Weekly connector maintenance: Sunday at this local hour, for this many minutes (calls get no_connector). */
  readonly maintenance: ReadonlyMap<string, { readonly hour: number; readonly minutes: number }>;
}

function bumpVersion(userAgent: string): string | undefined {
  const m = /^([^/ ]+)\/(\d+)\.(\d+)(?:\.(\d+))?/.exec(userAgent);
  if (!m) return undefined;
  const bumped = `${m[1]}/${m[2]}.${Number(m[3]) + 1}${m[4] !== undefined ? '.0' : ''}`;
  return bumped + userAgent.slice(m[0].length);
}

function planRelease(world: { options: ResolvedOptions; startMs: number; endMs: number; warmupEndMs: number }, sub: Subaccount, app: App, rng: () => number): { release: Release; novelty: Novelty } | undefined {
  const dates = localDates(sub.clock, world.warmupEndMs, world.endMs - DAY).filter((d) => sub.calendar.isBusinessDay(d) && !sub.calendar.isMonthEnd(d));
  if (dates.length === 0) return undefined;
  const date = pick(rng, dates);
  const at = sub.clock.utcOf(date, 6); // deployed before the office opens
  const resource = app.resources[0];
  if (!resource) return undefined;
  const prefix = resource.spec.prefix;
  const endpoints: EndpointSpec[] = [
    { path: `${prefix}/{id}/history`, method: 'GET', weight: 2, bytesOut: 1_600, ttfbMs: 30 },
    { path: `${prefix}/{id}/attachments`, method: 'GET', weight: 1, bytesOut: 45_000, ttfbMs: 60 },
  ];
  const userAgents = new Map<string, string>();
  for (const ua of app.userAgents.items) {
    const next = bumpVersion(ua);
    if (next) userAgents.set(ua, next);
  }
  const release: Release = { at, endpoints: endpoints.map((endpoint) => ({ resource, endpoint })), share: 0.12, userAgents };
  const bump = [...userAgents].map(([a, b]) => `user agent ${a} -> ${b}`).join('; ');
  return {
    release,
    novelty: {
      kind: 'release', subaccount: sub.name, cloud_app: app.name,
      window_start: new Date(at).toISOString(), window_end: new Date(at + DAY).toISOString(),
      description: `release of ${app.name}: new paths ${endpoints.map((e) => e.path).join(', ')} under ${prefix} (already used), about 12% of its calls${bump ? `; ${bump}` : ''}`,
    },
  };
}

function fmtOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const m = Math.abs(minutes);
  return `${sign}${Math.floor(m / 60)}${m % 60 ? `:${String(m % 60).padStart(2, '0')}` : ''}`;
}

export function buildWorld(options: ResolvedOptions): World {
  const startMs = options.start.getTime();
  const endMs = startMs + options.days * DAY;
  const warmupEndMs = startMs + options.warmupDays * DAY;
  const subs = buildProfiles(options);
  const rng = fork(options.seed, 'novelties');
  const novelties: Novelty[] = [];
  const releases = new Map<string, Release>();
  const maintenance = new Map<string, { hour: number; minutes: number }>();
  const span = { options, startMs, endMs, warmupEndMs };

  for (const sub of subs) maintenance.set(sub.name, { hour: 2 + rng() * 2, minutes: int(rng, 4, 10) });

  // Novelties are listed over the whole range (false positives in the warm-up are attributed too); the
  // scheduler only meets those after the warm-up. Holidays: the public ones on weekdays; if none falls
  // after the warm-up, one company day off somewhere.
  const dayStr = (d: string, sub: Subaccount) => ({ from: sub.clock.utcOf(d, 0), to: sub.clock.utcOf(d, 24) });
  const holidayFor = (sub: Subaccount, d: string, name: string) => {
    const w = dayStr(d, sub);
    novelties.push({ kind: 'holiday', subaccount: sub.name, cloud_app: '', window_start: new Date(w.from).toISOString(), window_end: new Date(w.to).toISOString(), description: `${name} (${sub.region.country}): a quiet business day` });
  };
  for (const sub of subs) {
    for (const d of localDates(sub.clock, startMs, endMs)) {
      const weekday = new Date(`${d}T00:00:00Z`).getUTCDay();
      const name = sub.calendar.holiday(d);
      if (name && weekday !== 0 && weekday !== 6) holidayFor(sub, d, name);
    }
  }
  if (!novelties.some((n) => n.kind === 'holiday' && Date.parse(n.window_end) > warmupEndMs) && options.days > options.warmupDays + 1) {
    const sub = pick(rng, subs);
    const dates = localDates(sub.clock, warmupEndMs + DAY, endMs - DAY).filter((d) => sub.calendar.isBusinessDay(d) && !sub.calendar.isMonthEnd(d));
    if (dates.length > 0) {
      const d = pick(rng, dates);
      sub.calendar.addDayOff(d, 'company day off (bridge day)');
      holidayFor(sub, d, 'company day off (bridge day)');
    }
  }

  for (const sub of subs) {
    for (const d of localDates(sub.clock, startMs, endMs)) {
      if (!sub.calendar.isMonthEnd(d)) continue;
      const w = dayStr(d, sub);
      const apps = sub.apps.filter((a) => a.kind === 'office').map((a) => a.name);
      novelties.push({
        kind: 'month_end', subaccount: sub.name, cloud_app: '', window_start: new Date(w.from).toISOString(), window_end: new Date(w.to).toISOString(),
        description: `month-end closing: ${apps.length > 0 ? `${apps.join(', ')} at 2.6x, ` : ''}integrations at 1.3x, web apps at 1.15x`,
      });
    }
  }

  // One release per four subaccounts, in a web app.
  const releaseSubs = shuffled(rng, subs).slice(0, Math.max(1, Math.round(subs.length / 4)));
  for (const sub of releaseSubs) {
    const app = sub.apps.find((a) => a.kind === 'web');
    if (!app) continue;
    const planned = planRelease(span, sub, app, rng);
    if (!planned) continue;
    releases.set(`${sub.name}/${app.name}`, planned.release);
    novelties.push(planned.novelty);
  }
  for (const sub of subs) {
    // A local-time schedule (office hours, a cron job) moves by an hour in UTC for a week of hour-of-week baselines.
    for (let t = startMs; t < endMs; t += 3_600_000) {
      const before = sub.clock.offsetMinutes(t);
      const after = sub.clock.offsetMinutes(t + 3_600_000);
      if (before === after) continue;
      novelties.push({
        kind: 'dst', subaccount: sub.name, cloud_app: '', window_start: new Date(t + 3_600_000).toISOString(), window_end: new Date(t + 3_600_000 + 7 * DAY).toISOString(),
        description: `daylight saving time change in ${sub.region.timeZone} (UTC${fmtOffset(before)} -> UTC${fmtOffset(after)}): local schedules move by an hour in UTC`,
      });
    }
    const m = maintenance.get(sub.name);
    if (!m) continue;
    for (const d of localDates(sub.clock, startMs, endMs)) {
      if (new Date(`${d}T00:00:00Z`).getUTCDay() !== 0) continue;
      const from = sub.clock.utcOf(d, m.hour);
      novelties.push({
        kind: 'maintenance', subaccount: sub.name, cloud_app: '', window_start: new Date(from).toISOString(), window_end: new Date(from + m.minutes * 60_000).toISOString(),
        description: `weekly connector maintenance: ${m.minutes} min of no_connector (503) at the relay`,
      });
    }
  }
  novelties.sort((a, b) => (a.window_start < b.window_start ? -1 : a.window_start > b.window_start ? 1 : 0));
  return { options, startMs, endMs, warmupEndMs, subs, releases, novelties, maintenance };
}
