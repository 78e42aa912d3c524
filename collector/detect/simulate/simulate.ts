// `simulate()`: the whole simulated estate, minute by minute. Normal traffic of every subaccount, the
// relay's background noise and the injected scenarios are merged in time order and written through the
// emitters. Memory stays bounded by one minute of calls, so millions of events are fine.
import type { AuditEvent } from '../../../common/audit/event.js';
import { BackgroundTraffic } from './background.js';
import type { SimCall } from './calls.js';
import { EmitterSet } from './emitters.js';
import { finishLabel, InjectionStats, type SimLabel } from './labels.js';
import { NormalTraffic } from './normal.js';
import { resolveOptions, type ResolvedOptions, type SimulateOptions } from './options.js';
import { fork } from './random.js';
import { Scheduler } from './schedule.js';
import { SCENARIO_IDS, scenarioById } from './scenarios/index.js';
import type { Injection } from './scenarios/types.js';
import { buildWorld, type Novelty, type World } from './world.js';

const MINUTE = 60_000;

export interface SimulationOutput {
  /** Every event, in write order, with its NDJSON line (trailing newline included) and its origin. */
  onEvent(event: AuditEvent, line: string, source: string): void;
  /** Called about every simulated hour. */
  onProgress?(progress: { minutesDone: number; minutesTotal: number; events: number }): void;
}

export interface SimulationResult {
  readonly options: ResolvedOptions;
  readonly events: number;
  /** Sorted by window_start. */
  readonly labels: SimLabel[];
  readonly novelties: readonly Novelty[];
  /** Injections that found no subaccount or time to go (e.g. cross_subaccount with fewer than 3 subaccounts). */
  readonly skipped: string[];
  readonly emitters: { emitterId: string; events: number }[];
  readonly subaccounts: { name: string; timeZone: string; apps: string[] }[];
}

export function planInjections(world: World): { injections: Injection[]; skipped: string[] } {
  const scheduler = new Scheduler(world);
  const injections: Injection[] = [];
  const skipped: string[] = [];
  for (const id of SCENARIO_IDS) {
    if (!world.options.scenarios.includes(id)) continue;
    const scenario = scenarioById(id);
    if (!scenario) continue;
    for (let r = 1; r <= world.options.repeat; r++) {
      for (const intensity of world.options.intensities) {
        const injectionId = `${id}-${intensity}-${r}`;
        const planned = scenario.plan({ world, scheduler, rng: fork(world.options.seed, `inject/${injectionId}`), id: injectionId }, intensity);
        if (planned) injections.push(planned);
        else skipped.push(injectionId);
      }
    }
  }
  return { injections: injections.sort((a, b) => a.start - b.start), skipped };
}

export function simulate(options: SimulateOptions, output: SimulationOutput): SimulationResult {
  const resolved = resolveOptions(options, SCENARIO_IDS);
  const world = buildWorld(resolved);
  const { injections, skipped } = planInjections(world);
  const stats = new Map(injections.map((i) => [i.id, new InjectionStats()]));
  const normals = world.subs.map((s) => new NormalTraffic(world, s));
  const background = new BackgroundTraffic(world);
  let events = 0;
  const emitters = new EmitterSet((event, line, call) => {
    events++;
    if (call.source !== '') stats.get(call.source)?.add(call);
    output.onEvent(event, line, call.source);
  });

  const minutesTotal = Math.round((world.endMs - world.startMs) / MINUTE);
  const calls: SimCall[] = [];
  let active: Injection[] = [];
  let nextInjection = 0;
  for (let m = 0; m < minutesTotal; m++) {
    const t0 = world.startMs + m * MINUTE;
    calls.length = 0;
    for (const n of normals) n.minute(t0, calls);
    background.minute(t0, calls);
    while (nextInjection < injections.length && (injections[nextInjection] as Injection).start < t0 + MINUTE) active.push(injections[nextInjection++] as Injection);
    active = active.filter((i) => i.end > t0);
    for (const injection of active) {
      if (!injection.alter) continue;
      for (let i = 0; i < calls.length; i++) {
        const c = calls[i] as SimCall;
        if (c.source === '') calls[i] = injection.alter(c);
      }
    }
    for (const injection of active) injection.minute?.(t0, calls);
    calls.sort((a, b) => a.t - b.t);
    for (const c of calls) emitters.emit(c);
    if (m % 60 === 59 || m === minutesTotal - 1) output.onProgress?.({ minutesDone: m + 1, minutesTotal, events });
  }

  const labels = injections.map((i) => finishLabel(i, stats.get(i.id) as InjectionStats))
    .sort((a, b) => (a.window_start < b.window_start ? -1 : a.window_start > b.window_start ? 1 : 0));
  return {
    options: resolved,
    events,
    labels,
    novelties: world.novelties,
    skipped,
    emitters: emitters.summary(),
    subaccounts: world.subs.map((s) => ({ name: s.name, timeZone: s.region.timeZone, apps: s.apps.map((a) => a.name) })),
  };
}
