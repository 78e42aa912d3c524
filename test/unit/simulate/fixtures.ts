// A simulation kept in memory for the simulator's tests: small (a few tens of thousands of events).
import type { AuditEvent } from '../../../common/audit/event.js';
import type { SimulateOptions } from '../../../collector/detect/simulate/options.js';
import { simulate, type SimulationResult } from '../../../collector/detect/simulate/simulate.js';

export interface Collected {
  readonly result: SimulationResult;
  readonly events: AuditEvent[];
  /** Injection id per event ('' for normal traffic), same index as events. */
  readonly sources: string[];
}

/** Enough days after the warm-up for every scenario to find a slot, at low rates to stay quick. */
export const SMALL: SimulateOptions = { days: 12, subaccounts: 4, seed: 42, rateScale: 0.05, warmupDays: 5 };

export function collect(options: SimulateOptions): Collected {
  const events: AuditEvent[] = [];
  const sources: string[] = [];
  const result = simulate(options, {
    onEvent(event, _line, source) {
      events.push(event);
      sources.push(source);
    },
  });
  return { result, events, sources };
}

/** The event without what the emitter draws itself (event id) and what follows from it (hashes). */
export function content(e: AuditEvent): Omit<AuditEvent, 'event_id' | 'hash' | 'prev_hash'> {
  const { event_id: _id, hash: _hash, prev_hash: _prev, ...rest } = e;
  return rest;
}
