// The per-emitter hash chain: seq +1 per event, prev_hash = previous hash, hash = SHA-256 of the
// event's RFC 8785 canonical JSON without `hash`.
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

export interface ChainState {
  /** seq of the last event written, 0 when none. */
  readonly seq: number;
  /** hash of the last event written, '' when none. */
  readonly hash: string;
}

export const EMPTY_CHAIN: ChainState = { seq: 0, hash: '' };

/** The hash an event should carry: computed over every field but `hash`, unknown fields included. */
export function computeEventHash(event: Record<string, unknown>): string {
  const { hash: _ignored, ...rest } = event;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}
