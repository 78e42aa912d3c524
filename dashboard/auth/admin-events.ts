// Admin audit events (schema tunnelwatch.admin/1): what they hold, how their hash chain is computed and
// checked. The chain is the one of audit-event-v1 (seq +1 from 1, prev_hash = previous hash, hash =
// SHA-256 of the RFC 8785 canonical JSON of every other field), kept per dashboard emitter_id.
import { computeEventHash } from '../../common/audit/hash-chain.js';

export const ADMIN_SCHEMA = 'tunnelwatch.admin/1';

/** One admin event as hashed and as the API returns it (ts in RFC 3339 UTC with milliseconds). */
export interface AdminEvent {
  readonly schema: string;
  readonly event_id: string;
  readonly ts: string;
  readonly emitter: string;
  readonly emitter_id: string;
  readonly seq: number;
  readonly prev_hash: string;
  readonly hash: string;
  readonly action: string;
  readonly outcome: string;
  readonly actor: string;
  readonly actor_role: string;
  readonly via: string;
  readonly target: string;
  readonly client_ip: string;
  readonly user_agent: string;
  readonly reason: string;
  readonly before: string;
  readonly after: string;
}

export const ADMIN_EVENT_COLUMNS = [
  'schema', 'event_id', 'ts', 'emitter', 'emitter_id', 'seq', 'prev_hash', 'hash', 'action', 'outcome', 'actor',
  'actor_role', 'via', 'target', 'client_ip', 'user_agent', 'reason', 'before', 'after',
] as const;

/** ClickHouse's DateTime64(3) text ('2026-11-27 21:40:54.123') or RFC 3339, as RFC 3339 with milliseconds. */
export function isoMillis(value: unknown): string {
  const s = String(value);
  const d = new Date(s.includes('T') ? s : `${s.replace(' ', 'T')}Z`);
  return Number.isNaN(d.getTime()) ? s : d.toISOString();
}

/** A row as the store returns it (64-bit integers as strings, DateTime64 as text) back in the hashed shape. */
export function eventFromRow(row: Record<string, unknown>): AdminEvent {
  const text = (k: string): string => (row[k] === undefined || row[k] === null ? '' : String(row[k]));
  return {
    schema: text('schema'),
    event_id: text('event_id'),
    ts: isoMillis(row.ts),
    emitter: text('emitter'),
    emitter_id: text('emitter_id'),
    seq: Number(row.seq),
    prev_hash: text('prev_hash'),
    hash: text('hash'),
    action: text('action'),
    outcome: text('outcome'),
    actor: text('actor'),
    actor_role: text('actor_role'),
    via: text('via'),
    target: text('target'),
    client_ip: text('client_ip'),
    user_agent: text('user_agent'),
    reason: text('reason'),
    before: text('before'),
    after: text('after'),
  };
}

export function adminEventHash(event: Omit<AdminEvent, 'hash'> & { hash?: string }): string {
  return computeEventHash(event as unknown as Record<string, unknown>);
}

export interface AdminChainCheck {
  readonly ok: boolean;
  readonly events: number;
  readonly lastSeq: number;
  readonly lastHash: string;
  /** The first break, in plain words. */
  readonly problem?: { readonly seq: number; readonly reason: string };
}

/** Checks one emitter's events, given in seq order: from seq 1, no gap, each linked and unaltered. */
export function verifyAdminChain(events: readonly AdminEvent[]): AdminChainCheck {
  let prev = { seq: 0, hash: '' };
  for (const event of events) {
    const fail = (reason: string): AdminChainCheck => ({ ok: false, events: events.length, lastSeq: prev.seq, lastHash: prev.hash, problem: { seq: event.seq, reason } });
    if (event.seq !== prev.seq + 1) return fail(event.seq <= prev.seq ? `seq ${event.seq} repeats or goes back after ${prev.seq}` : `events ${prev.seq + 1}..${event.seq - 1} are missing`);
    if (event.prev_hash !== prev.hash) return fail(`prev_hash does not match the hash of event ${prev.seq}`);
    if (adminEventHash(event) !== event.hash) return fail('the event was altered: its hash does not match its fields');
    prev = { seq: event.seq, hash: event.hash };
  }
  return { ok: true, events: events.length, lastSeq: prev.seq, lastHash: prev.hash };
}
