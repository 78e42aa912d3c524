// The evaluation's sizes and seeds. Detectors are tuned on TUNING_SEEDS only; the figures that count
// (docs/detection.md, CI) come from EVALUATION_SEEDS, which nobody tunes on. Changing a list is a change
// of the published figures: say so in the commit.
import type { SimulateOptions } from '../simulate/options.js';

/** Seeds to look at while tuning detectors (`npm run eval:detect -- --tuning`). */
export const TUNING_SEEDS: readonly number[] = [1, 2, 3];

/** Seeds the reported figures come from. Never tune on these. */
export const EVALUATION_SEEDS: readonly number[] = [101, 102, 103];

export type SizeName = 'small' | 'full';

export interface EvalSize {
  readonly name: SizeName;
  /** What is simulated for each seed (the seed itself is added per run). */
  readonly simulate: Omit<SimulateOptions, 'seed'>;
  /** Evaluation seeds used when --seeds is not given. */
  readonly seeds: readonly number[];
  readonly note: string;
}

export const SIZES: Readonly<Record<SizeName, EvalSize>> = {
  // CI: 2 cores, a few minutes. Starts so that a month-end falls after the warm-up. Six subaccounts: with
  // four, the office hours of the week after the warm-up had no room for every scenario.
  small: {
    name: 'small',
    simulate: { days: 14, subaccounts: 6, rateScale: 0.15, warmupDays: 7, start: new Date('2026-10-19T00:00:00Z') },
    seeds: EVALUATION_SEEDS.slice(0, 2),
    note: '14 days x 6 subaccounts at 0.15x rates',
  },
  // The documented figures: a month of 8 tenants, a month-end and several holidays after the warm-up.
  full: {
    name: 'full',
    simulate: { days: 30, subaccounts: 8, rateScale: 0.5, warmupDays: 7, start: new Date('2026-10-05T00:00:00Z') },
    seeds: EVALUATION_SEEDS,
    note: '30 days x 8 subaccounts at 0.5x rates',
  },
};

export const TARGETS = { recall: 0.95, precision: 0.9 } as const;
