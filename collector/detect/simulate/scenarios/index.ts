// The scenario registry: one entry per detector of issue 5, in the order they are planned.
import { authFailureBurst } from './auth-failure-burst.js';
import { backendFailure } from './backend-failure.js';
import { crossSubaccount } from './cross-subaccount.js';
import { denyBurst } from './deny-burst.js';
import { exfiltration } from './exfiltration.js';
import { firstSeenResource } from './first-seen-resource.js';
import { offHours } from './off-hours.js';
import { pathEnumeration } from './path-enumeration.js';
import { peerDeviation } from './peer-deviation.js';
import { rareUserAgent } from './rare-user-agent.js';
import { volumeSpike } from './volume-spike.js';
import type { Scenario } from './types.js';

// Long and multi-tenant injections first: they are the hardest to fit between the others.
export const SCENARIOS: readonly Scenario[] = [
  peerDeviation,
  crossSubaccount,
  offHours,
  backendFailure,
  exfiltration,
  volumeSpike,
  firstSeenResource,
  denyBurst,
  pathEnumeration,
  rareUserAgent,
  authFailureBurst,
];

export const SCENARIO_IDS: readonly string[] = SCENARIOS.map((s) => s.id);

export function scenarioById(id: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.id === id);
}
