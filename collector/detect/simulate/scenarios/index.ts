// The scenario registry: one entry per detector of issue 5, and further shapes for some of them (a scenario's
// `detector` names the detector expected to flag it), in the order they are planned.
import { authFailureBurst } from './auth-failure-burst.js';
import { authFailureSpread } from './auth-failure-spread.js';
import { backend5xx } from './backend-5xx.js';
import { backendFailure } from './backend-failure.js';
import { crossSubaccount } from './cross-subaccount.js';
import { crossSubaccountHop } from './cross-subaccount-hop.js';
import { denyBurst } from './deny-burst.js';
import { denyBurstSlow } from './deny-burst-slow.js';
import { exfiltration } from './exfiltration.js';
import { exfiltrationSlow } from './exfiltration-slow.js';
import { firstSeenResource } from './first-seen-resource.js';
import { offHours } from './off-hours.js';
import { pathEnumeration } from './path-enumeration.js';
import { pathEnumeration4xx } from './path-enumeration-4xx.js';
import { peer5xx } from './peer-5xx.js';
import { peerDeviation } from './peer-deviation.js';
import { rareUserAgent } from './rare-user-agent.js';
import { rareUserAgentLibrary } from './rare-user-agent-library.js';
import { volumeSpike } from './volume-spike.js';
import type { Scenario } from './types.js';

// Long and multi-tenant injections first: they are the hardest to fit between the others. The shapes added
// later come after the first eleven, so that those keep their places in a given seed.
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
  peer5xx,
  exfiltrationSlow,
  denyBurstSlow,
  crossSubaccountHop,
  backend5xx,
  pathEnumeration4xx,
  rareUserAgentLibrary,
  authFailureSpread,
];

export const SCENARIO_IDS: readonly string[] = SCENARIOS.map((s) => s.id);

export function scenarioById(id: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.id === id);
}
