// Every detector, in the order they run and are documented (docs/detectors.md). A new detector is a new
// file in detectors/ and a new entry here.
import type { DetectorParams } from './config.js';
import type { Detector } from './detector.js';
import { authFailureBurst } from './detectors/auth_failure_burst.js';
import { backendFailure } from './detectors/backend_failure.js';
import { crossSubaccount } from './detectors/cross_subaccount.js';
import { denyBurst } from './detectors/deny_burst.js';
import { exfiltration } from './detectors/exfiltration.js';
import { firstSeenResource } from './detectors/first_seen_resource.js';
import { offHours } from './detectors/off_hours.js';
import { pathEnumeration } from './detectors/path_enumeration.js';
import { peerDeviation } from './detectors/peer_deviation.js';
import { rareUserAgent } from './detectors/rare_user_agent.js';
import { volumeSpike } from './detectors/volume_spike.js';

export const DETECTORS: readonly Detector[] = [
  firstSeenResource,
  volumeSpike,
  denyBurst,
  pathEnumeration,
  offHours,
  exfiltration,
  crossSubaccount,
  authFailureBurst,
  backendFailure,
  rareUserAgent,
  peerDeviation,
];

export function detectorDefaults(): Record<string, DetectorParams> {
  return Object.fromEntries(DETECTORS.map((d) => [d.id, d.defaults]));
}

export function detectorById(id: string): Detector | undefined {
  return DETECTORS.find((d) => d.id === id);
}
