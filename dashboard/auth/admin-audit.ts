// The admin audit trail: sign-ins, failed sign-ins, sign-outs and token changes as hash-chained events in
// admin_events. Writes are serialised, so seq order is chain order, and record() resolves only once the
// row is committed: a caller that must not proceed unaudited (a sign-in) waits for it and fails closed.
// The chain continues from the highest seq of this emitter in the store, so restarts do not fork it.
import { hostname } from 'node:os';
import { TunnelwatchError } from '../../common/errors.js';
import { uuidv7 } from '../../common/ids.js';
import type { Logger } from '../../common/log.js';
import type { Store } from '../../collector/store/store.js';
import { chTime } from '../api/query-kit.js';
import type { AdminAudit, AdminEventInput } from '../context.js';
import { ADMIN_SCHEMA, adminEventHash, type AdminEvent } from './admin-events.js';

export interface AdminAuditOptions {
  /** Default `dashboard@<hostname>`: one chain per dashboard host. */
  readonly emitterId?: string;
  /** The process kind that writes the chain (the `emitter` field): 'dashboard' (default) or 'collector'. */
  readonly emitter?: string;
  readonly now?: () => number;
}

export interface AdminAuditTrail extends AdminAudit {
  readonly emitterId: string;
  /** seq and hash of the last event written (0 and '' before the first). */
  head(): { seq: number; hash: string } | undefined;
}

// Bounds on free text from requests (user agents, names tried): an admin event is a record, not a sink.
const LIMITS: Partial<Record<keyof AdminEventInput, number>> = { user_agent: 512, target: 256, actor: 256, reason: 1000, before: 65_536, after: 65_536 };

function clip(field: keyof AdminEventInput, value: string | undefined): string {
  const s = value ?? '';
  const max = LIMITS[field] ?? 256;
  return s.length > max ? s.slice(0, max) : s;
}

function storeError(err: unknown, what: string): TunnelwatchError {
  if (err instanceof TunnelwatchError && err.code === 'TW_ERR_DASH_STORE_UNAVAILABLE') return err;
  const message = (err as Error).message?.split('\n')[0]?.slice(0, 300) ?? String(err);
  return new TunnelwatchError('TW_ERR_DASH_STORE_UNAVAILABLE', `${what}: ${message}`, { cause: err });
}

export async function createAdminAudit(store: Store, log: Logger, options: AdminAuditOptions = {}): Promise<AdminAuditTrail> {
  const emitterId = options.emitterId ?? `dashboard@${hostname()}`;
  const now = options.now ?? Date.now;

  async function readHead(): Promise<{ seq: number; hash: string }> {
    try {
      const rows = await store.query<{ seq: string; hash: string }>(
        'SELECT seq, hash FROM admin_events FINAL WHERE emitter_id = {e:String} ORDER BY seq DESC LIMIT 1',
        { e: emitterId },
      );
      const top = rows[0];
      return top ? { seq: Number(top.seq), hash: top.hash } : { seq: 0, hash: '' };
    } catch (err) {
      throw storeError(err, 'cannot read the admin event chain');
    }
  }

  // undefined = not known (after a failed write the row may or may not have been committed): re-read it.
  let head: { seq: number; hash: string } | undefined = await readHead();
  log.info({ emitter_id: emitterId, seq: head.seq }, 'admin audit chain resumed');

  async function write(input: AdminEventInput): Promise<void> {
    head ??= await readHead();
    const unhashed: Omit<AdminEvent, 'hash'> = {
      schema: ADMIN_SCHEMA,
      event_id: uuidv7(),
      ts: new Date(now()).toISOString(),
      emitter: options.emitter ?? 'dashboard',
      emitter_id: emitterId,
      seq: head.seq + 1,
      prev_hash: head.hash,
      action: clip('action', input.action),
      outcome: input.outcome,
      actor: clip('actor', input.actor),
      actor_role: clip('actor_role', input.actor_role),
      via: clip('via', input.via),
      target: clip('target', input.target),
      client_ip: clip('client_ip', input.client_ip),
      user_agent: clip('user_agent', input.user_agent),
      reason: clip('reason', input.reason),
      before: clip('before', input.before),
      after: clip('after', input.after),
    };
    const event: AdminEvent = { ...unhashed, hash: adminEventHash(unhashed) };
    try {
      await store.client.insert({ table: 'admin_events', values: [{ ...event, ts: chTime(new Date(event.ts)) }], format: 'JSONEachRow' });
    } catch (err) {
      head = undefined;
      log.error({ err, action: event.action, outcome: event.outcome }, 'admin event not stored');
      throw storeError(err, 'the admin event could not be stored');
    }
    head = { seq: event.seq, hash: event.hash };
    log.info({ action: event.action, outcome: event.outcome, actor: event.actor, target: event.target, reason: event.reason, seq: event.seq }, 'admin event');
  }

  let tail: Promise<unknown> = Promise.resolve();
  return {
    emitterId,
    head: () => head && { ...head },
    record(input) {
      const run = tail.then(() => write(input));
      tail = run.catch(() => undefined);
      return run;
    },
  };
}
