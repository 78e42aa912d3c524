// What a simulation is asked for, with defaults and checks. Fixed defaults (not "now") so that the same
// command line always makes the same traffic.

export const INTENSITIES = ['blatant', 'moderate', 'subtle'] as const;
export type Intensity = (typeof INTENSITIES)[number];

export interface SimulateOptions {
  /** Days of traffic. */
  readonly days?: number;
  readonly subaccounts?: number;
  readonly seed?: number;
  /** Scenario ids to inject; default all. [] injects none. */
  readonly scenarios?: readonly string[];
  /** Intensities to inject of each scenario; default all three. */
  readonly intensities?: readonly Intensity[];
  /** First day (UTC midnight of this date), default 2026-10-01. */
  readonly start?: Date;
  /** Multiplies every normal call rate (1 = a mid-sized tenant at ~25 calls/min at its busiest hour). */
  readonly rateScale?: number;
  /** Days at the start kept free of injected anomalies (the detectors' baseline). Default 7. */
  readonly warmupDays?: number;
  /** Injections of each scenario at each intensity; default one per 60 subaccount-days after the warm-up (at least 1). */
  readonly repeat?: number;
}

export interface ResolvedOptions {
  readonly days: number;
  readonly subaccounts: number;
  readonly seed: number;
  readonly scenarios: readonly string[];
  readonly intensities: readonly Intensity[];
  readonly start: Date;
  readonly rateScale: number;
  readonly warmupDays: number;
  readonly repeat: number;
}

export class SimulateOptionError extends Error {}

export const DEFAULT_START = new Date('2026-10-01T00:00:00Z');

export function resolveOptions(options: SimulateOptions, knownScenarios: readonly string[]): ResolvedOptions {
  const days = options.days ?? 14;
  const subaccounts = options.subaccounts ?? 4;
  const seed = options.seed ?? 1;
  const rateScale = options.rateScale ?? 1;
  const warmupDays = options.warmupDays ?? 7;
  const start = options.start ?? DEFAULT_START;
  const scenarios = options.scenarios ?? knownScenarios;
  const intensities = options.intensities ?? INTENSITIES;
  if (!Number.isInteger(days) || days < 1 || days > 400) throw new SimulateOptionError(`days must be an integer from 1 to 400, got ${days}`);
  if (!Number.isInteger(subaccounts) || subaccounts < 1 || subaccounts > 200) throw new SimulateOptionError(`subaccounts must be an integer from 1 to 200, got ${subaccounts}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new SimulateOptionError(`seed must be an integer from 0 to 4294967295, got ${seed}`);
  if (!(rateScale > 0 && rateScale <= 100)) throw new SimulateOptionError(`rate scale must be above 0 and at most 100, got ${rateScale}`);
  if (!Number.isInteger(warmupDays) || warmupDays < 0 || warmupDays >= days) throw new SimulateOptionError(`warm-up days must be an integer from 0 to days - 1 (${days - 1}), got ${warmupDays}`);
  if (Number.isNaN(start.getTime())) throw new SimulateOptionError('start is not a valid date');
  const unknown = scenarios.filter((s) => !knownScenarios.includes(s));
  if (unknown.length > 0) throw new SimulateOptionError(`unknown scenario${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known: ${knownScenarios.join(', ')}`);
  const badIntensity = intensities.filter((i) => !(INTENSITIES as readonly string[]).includes(i));
  if (badIntensity.length > 0) throw new SimulateOptionError(`unknown intensity ${badIntensity.join(', ')}; known: ${INTENSITIES.join(', ')}`);
  const repeat = options.repeat ?? Math.max(1, Math.floor((subaccounts * (days - warmupDays)) / 60));
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 50) throw new SimulateOptionError(`repeat must be an integer from 1 to 50, got ${repeat}`);
  const midnight = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()));
  return { days, subaccounts, seed, scenarios: [...new Set(scenarios)], intensities: [...new Set(intensities)], start: midnight, rateScale, warmupDays, repeat };
}
