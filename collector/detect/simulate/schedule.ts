// Where injected anomalies go: after the warm-up, at a local time that suits the story (a stolen account
// used at night, a retry storm in office hours), never overlapping another injection or a benign novelty
// of the same subaccount, so that each finding can be attributed to one cause.
import type { LocalTime } from './calendar.js';
import type { Subaccount } from './profiles.js';
import { shuffled, type Rng } from './random.js';
import { RECURRING_NOVELTIES, type World } from './world.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Quiet time kept around each injection in the same subaccount. */
const MARGIN = 60 * MINUTE;
/** Injections end this long before the simulation does, so detectors see what follows. */
const TAIL = 2 * HOUR;

export type When =
  /** business day, 09:00-17:30 local */
  | 'office'
  /** 00:30-04:30 local, a night before a business day */
  | 'night'
  /** 20:30-23:45 local on a weekend day or holiday */
  | 'weekend-evening'
  /** 08:00-19:00 local, any day */
  | 'daytime'
  | 'any';

function fits(when: When, sub: Subaccount, a: LocalTime, b: LocalTime): boolean {
  if (when === 'any') return true;
  if (a.date !== b.date) return false;
  switch (when) {
    case 'office':
      return sub.calendar.isBusinessDay(a.date) && a.hour >= 9 && b.hour <= 17.5;
    case 'night':
      return a.hour >= 0.5 && b.hour <= 4.5 && a.weekday >= 1 && a.weekday <= 5;
    case 'weekend-evening':
      return !sub.calendar.isBusinessDay(a.date) && a.hour >= 20.5 && b.hour <= 23.75;
    case 'daytime':
      return a.hour >= 8 && b.hour <= 19;
  }
}

export class Scheduler {
  private readonly taken = new Map<string, [number, number][]>();
  private readonly counts = new Map<string, number>();

  constructor(private readonly world: World) {
    for (const n of world.novelties) {
      if (!RECURRING_NOVELTIES.includes(n.kind)) this.block(n.subaccount, Date.parse(n.window_start), Date.parse(n.window_end));
    }
  }

  private block(sub: string, start: number, end: number): void {
    const list = this.taken.get(sub) ?? [];
    list.push([start, end]);
    this.taken.set(sub, list);
  }

  isFree(sub: string, start: number, end: number): boolean {
    return (this.taken.get(sub) ?? []).every(([s, e]) => end + MARGIN <= s || start >= e + MARGIN);
  }

  claim(subs: readonly string[], start: number, end: number): void {
    for (const s of subs) {
      this.block(s, start, end);
      this.counts.set(s, (this.counts.get(s) ?? 0) + 1);
    }
  }

  /** Subaccounts that pass `ok`, those with fewer injections first (ties in random order). */
  subaccounts(rng: Rng, ok: (sub: Subaccount) => boolean = () => true): Subaccount[] {
    return shuffled(rng, this.world.subs.filter(ok)).sort((a, b) => (this.counts.get(a.name) ?? 0) - (this.counts.get(b.name) ?? 0));
  }

  /** Free start times (15-minute grid, random order) for a window of `durationMs` in `sub`. */
  *slots(rng: Rng, sub: Subaccount, durationMs: number, when: When): Generator<number> {
    const first = Math.ceil(this.world.warmupEndMs / (15 * MINUTE)) * 15 * MINUTE;
    const last = this.world.endMs - durationMs - TAIL;
    const grid: number[] = [];
    for (let t = first; t <= last; t += 15 * MINUTE) grid.push(t);
    for (const t of shuffled(rng, grid)) {
      if (!fits(when, sub, sub.clock.at(t), sub.clock.at(t + durationMs - MINUTE))) continue;
      if (this.isFree(sub.name, t, t + durationMs)) yield t;
    }
  }

  /** The first subaccount (fewest injections first) with a free slot, and that slot. */
  place(rng: Rng, durationMs: number, when: When, ok: (sub: Subaccount) => boolean = () => true): { sub: Subaccount; start: number } | undefined {
    for (const sub of this.subaccounts(rng, ok)) {
      for (const start of this.slots(rng, sub, durationMs, when)) return { sub, start };
    }
    return undefined;
  }

  /** A start time that suits every one of `subs` at once (cross-subaccount activity), any local time. */
  placeAcross(rng: Rng, subs: readonly Subaccount[], durationMs: number): number | undefined {
    const [head] = subs;
    if (!head) return undefined;
    for (const start of this.slots(rng, head, durationMs, 'any')) {
      if (subs.every((s) => this.isFree(s.name, start, start + durationMs))) return start;
    }
    return undefined;
  }

  /** Any start time after the warm-up (attempts at the relay concern no subaccount). */
  anyTime(rng: Rng, durationMs: number): number {
    const first = this.world.warmupEndMs;
    const last = this.world.endMs - durationMs - TAIL;
    return first + Math.floor((rng() * Math.max(0, last - first)) / MINUTE) * MINUTE;
  }
}
