// The webhook signature (docs/siem.md, "Webhook"): HMAC-SHA256 with the shared secret over
// "<timestamp>.<body>", where timestamp is the x-tunnelwatch-timestamp header (Unix seconds) and body the
// raw request bytes, sent as x-tunnelwatch-signature: v1=<lower-case hex>. Signing the timestamp lets a
// receiver refuse replays of an old request; the "v1=" prefix leaves room for another scheme later.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-tunnelwatch-signature';
export const TIMESTAMP_HEADER = 'x-tunnelwatch-timestamp';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

export function sign(secret: string | Buffer, timestamp: number, body: string | Buffer): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/**
 * What a receiver does (and the tests do): recompute and compare in constant time, and refuse a
 * timestamp further than `toleranceS` from now.
 */
export function verify(secret: string | Buffer, headers: Record<string, string | string[] | undefined>, body: Buffer, toleranceS = 300, nowMs = Date.now()): boolean {
  const timestamp = Number(headers[TIMESTAMP_HEADER]);
  const given = headers[SIGNATURE_HEADER];
  if (!Number.isInteger(timestamp) || typeof given !== 'string') return false;
  if (Math.abs(nowMs / 1000 - timestamp) > toleranceS) return false;
  const expected = Buffer.from(sign(secret, timestamp, body));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
