// What an injected scenario is: a story (an attack or an incident) that plans one injection at a given
// intensity, writes its label, and adds calls to (or rewrites calls of) the traffic inside its window.
import type { Label } from '../../types.js';
import type { SimCall } from '../calls.js';
import type { Intensity } from '../options.js';
import type { Rng } from '../random.js';
import type { Scheduler } from '../schedule.js';
import type { World } from '../world.js';

export interface Injection {
  /** Unique in a simulation, e.g. `deny_burst-subtle-1`. */
  readonly id: string;
  readonly label: Label;
  /** Other spellings of the label's entity (a backend as internal host:port). */
  readonly entityAliases?: readonly string[];
  readonly start: number;
  readonly end: number;
  /** Calls it adds that start in [t0, t0 + 1 min). */
  minute?(t0: number, out: SimCall[]): void;
  /** Rewrites a normal call inside [start, end) (a failing backend, a broken policy); same call if untouched. */
  alter?(call: SimCall): SimCall;
}

export interface PlanContext {
  readonly world: World;
  readonly scheduler: Scheduler;
  /** The injection's own stream: planning and generating it never disturbs other traffic. */
  readonly rng: Rng;
  readonly id: string;
}

export interface Scenario {
  /** The scenario id used on the command line; equal to the detector expected to flag it. */
  readonly id: string;
  readonly detector: string;
  /** One line: the attack or incident it plays. */
  readonly summary: string;
  /** Plans one injection, or undefined when no subaccount or time fits (e.g. too few subaccounts). */
  plan(ctx: PlanContext, intensity: Intensity): Injection | undefined;
}
