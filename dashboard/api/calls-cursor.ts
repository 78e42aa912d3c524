// Keyset cursors of the calls explorer: the (ts, event_id) of the last row of a page, opaque to clients.
// A cursor is signed with a key of this process and bound to the filters of the query that issued it, so a
// forged or altered cursor, or one replayed against other filters, is a 400 rather than a page from an
// arbitrary position. Like sessions (kept in memory), cursors end when the dashboard restarts; the page
// then starts again from the newest call.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { TunnelwatchError } from '../../common/errors.js';
import type { Range } from './query-kit.js';

/** A position in the (ts, event_id) order; ts as the engine's DateTime64(3) text. */
export interface CursorPosition {
  readonly ts: string;
  readonly eventId: string;
}

export interface CursorCodec {
  encode(position: CursorPosition, filterKey: string): string;
  /** Throws TW_ERR_DASH_BAD_REQUEST unless the cursor was issued by this process for these filters. */
  decode(cursor: string, filterKey: string, range: Range): CursorPosition;
}

const VERSION = 1;
const MAC_BYTES = 18;
const CH_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/;
const PART = /^[A-Za-z0-9_-]+$/;
export const MAX_CURSOR_LENGTH = 800;

function bad(why: string): TunnelwatchError {
  return new TunnelwatchError('TW_ERR_DASH_BAD_REQUEST', `cursor ${why}: use the "next" value of the previous page with the same filters, or leave it out to start from the newest call`);
}

export function createCursorCodec(key: Buffer = randomBytes(32)): CursorCodec {
  const mac = (payload: string, filterKey: string): Buffer =>
    createHmac('sha256', key).update(payload).update('\n').update(filterKey).digest().subarray(0, MAC_BYTES);

  return {
    encode(position, filterKey) {
      const payload = Buffer.from(JSON.stringify([VERSION, position.ts, position.eventId])).toString('base64url');
      return `${payload}.${mac(payload, filterKey).toString('base64url')}`;
    },
    decode(cursor, filterKey, range) {
      const [payload, signature, ...rest] = cursor.split('.');
      if (!payload || !signature || rest.length > 0 || !PART.test(payload) || !PART.test(signature)) throw bad('is malformed');
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== MAC_BYTES || given.toString('base64url') !== signature || !timingSafeEqual(given, mac(payload, filterKey))) {
        throw bad('was not issued for these filters (or the dashboard restarted since)');
      }
      let value: unknown;
      try {
        value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      } catch {
        throw bad('is malformed');
      }
      if (!Array.isArray(value) || value.length !== 3 || value[0] !== VERSION) throw bad('has an unknown version');
      const [, ts, eventId] = value as unknown[];
      if (typeof ts !== 'string' || !CH_TIME.test(ts) || typeof eventId !== 'string' || eventId === '') throw bad('is malformed');
      const at = Date.parse(`${ts.replace(' ', 'T')}Z`);
      if (!(at >= range.from.getTime() && at < range.to.getTime())) throw bad('lies outside from/to');
      return { ts, eventId };
    },
  };
}
