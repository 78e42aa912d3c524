// An NDJSON batch of audit events (POST /v1/audit), checked line by line against audit-event-v1: every
// field present with its type, range and enum values; unknown (extension) fields are kept untouched.
// The first bad line rejects the whole batch (the shipper isolates bad lines itself), so the answer
// names that line (1-based, counting every line of the body) and why.
import { AUDIT_FIELDS, AUDIT_SCHEMA, DENY_REASONS, ERROR_TYPES, type AuditEvent } from '../common/audit/event.js';
import { SUBACCOUNT_PATTERN } from '../common/config/schema-parts.js';
import type { AuditRecord } from './ingest-store.js';

/** Returns why the value is wrong, or undefined when it is right. */
type Check = (value: unknown) => string | undefined;

const got = (value: unknown) => `(got ${value === undefined ? 'nothing' : JSON.stringify(value)})`;

const string: Check = (v) => (typeof v === 'string' ? undefined : `expected a string ${got(v)}`);
const nonEmpty: Check = (v) => (typeof v === 'string' && v !== '' ? undefined : `expected a non-empty string ${got(v)}`);

function integer(min: number, max = Number.MAX_SAFE_INTEGER): Check {
  const expected = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  return (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? undefined : `expected ${expected} ${got(v)}`);
}

function oneOf(values: readonly string[]): Check {
  const set = new Set(values);
  const expected = values.map((x) => JSON.stringify(x)).join(', ');
  return (v) => (typeof v === 'string' && set.has(v) ? undefined : `expected one of ${expected} ${got(v)}`);
}

function matching(pattern: RegExp, expected: string): Check {
  return (v) => (typeof v === 'string' && pattern.test(v) ? undefined : `expected ${expected} ${got(v)}`);
}

// Hand-written scanners for the hex and time fields: they run 34 times per event on the ingest hot path,
// where the equivalent regular expressions (and a Date round trip) cost several times more.

const HEX_DIGIT = new Uint8Array(128);
for (const c of '0123456789abcdef') HEX_DIGIT[c.charCodeAt(0)] = 1;

function isLowerHex(s: string, from: number, to: number): boolean {
  let ok = 1;
  // No early exit: one branch-free loop is faster on the valid strings that are nearly all of them.
  for (let i = from; i < to; i++) ok &= HEX_DIGIT[s.charCodeAt(i) & 127] as number;
  return ok === 1;
}

function hex(length: number, emptyAllowed: boolean, expected: string): Check {
  return (v) => (typeof v === 'string' && ((emptyAllowed && v === '') || (v.length === length && isLowerHex(v, 0, length))) ? undefined : `expected ${expected} ${got(v)}`);
}

/** xxxxxxxx-xxxx-7xxx-[89ab]xxx-xxxxxxxxxxxx in lower-case hex. */
const uuidv7: Check = (v) => {
  if (
    typeof v === 'string' && v.length === 36 &&
    v[8] === '-' && v[13] === '-' && v[18] === '-' && v[23] === '-' && v[14] === '7' && '89ab'.includes(v[19] as string) &&
    isLowerHex(v, 0, 8) && isLowerHex(v, 9, 13) && isLowerHex(v, 15, 18) && isLowerHex(v, 20, 23) && isLowerHex(v, 24, 36)
  ) return undefined;
  return `expected a lower-case UUIDv7 ${got(v)}`;
};

function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Years the store keeps exactly: its per-minute rollups and retention are 32-bit DateTime (to 2106-02-07),
 * and a ts past that was counted as stored and then dropped by the engine; the whole store's 64-bit time
 * ends in 2299, and a year 0001 made a replay judge two thousand years of windows.
 */
export const TS_YEARS = { min: 1970, max: 2099 } as const;

/** YYYY-MM-DDTHH:MM:SS.mmmZ, a date that exists, in TS_YEARS. */
const timestamp: Check = (v) => {
  if (typeof v === 'string' && v.length === 24 && v[4] === '-' && v[7] === '-' && v[10] === 'T' && v[13] === ':' && v[16] === ':' && v[19] === '.' && v[23] === 'Z') {
    const year = digits(v, 0, 4);
    const month = digits(v, 5, 7);
    const day = digits(v, 8, 10);
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    const maxDay = month === 2 && !leap ? 28 : (DAYS[month - 1] ?? 0);
    if (year < TS_YEARS.min || year > TS_YEARS.max) return `expected a time from ${TS_YEARS.min}-01-01 to ${TS_YEARS.max}-12-31 (UTC) ${got(v)}`;
    if (year >= 0 && day >= 1 && day <= maxDay && digits(v, 11, 13) <= 23 && digits(v, 14, 16) <= 59 && digits(v, 17, 19) <= 59 &&
      digits(v, 11, 13) >= 0 && digits(v, 14, 16) >= 0 && digits(v, 17, 19) >= 0 && digits(v, 20, 23) >= 0) return undefined;
  }
  return `expected an RFC 3339 UTC time with milliseconds, e.g. 2026-11-27T21:40:54.123Z ${got(v)}`;
};

const uint = integer(0);
const port = integer(0, 65_535);

/** One check per v1 field, in spec order. A test keeps it in step with AUDIT_FIELDS. */
export const FIELD_CHECKS: Readonly<Record<keyof AuditEvent, Check>> = {
  schema: (v) => (v === AUDIT_SCHEMA ? undefined : `expected ${JSON.stringify(AUDIT_SCHEMA)} ${got(v)}`),
  event_id: uuidv7,
  ts: timestamp,
  duration_us: uint,
  emitter: oneOf(['relay', 'connector']),
  emitter_id: nonEmpty,
  seq: integer(1),
  prev_hash: hex(64, true, '"" or 64 lower-case hex digits'),
  hash: hex(64, false, '64 lower-case hex digits'),
  subaccount: matching(new RegExp(`^(|${SUBACCOUNT_PATTERN.slice(1, -1)})$`), '"" or a subaccount id (lower-case letters, digits and -, 1-64 chars)'),
  location_id: string,
  cloud_app: string,
  principal: string,
  client_ip: string,
  protocol: oneOf(['http', 'https', 'tcp', 'tcps']),
  method: string,
  virtual_host: string,
  virtual_port: port,
  internal_host: string,
  internal_port: port,
  path: string,
  query: string,
  user_agent: string,
  decision: oneOf(['allow', 'deny']),
  rule_id: string,
  deny_reason: oneOf(['', ...DENY_REASONS]),
  status: integer(0, 999),
  error_type: oneOf(['', ...ERROR_TYPES]),
  bytes_in: uint,
  bytes_out: uint,
  backend_connect_us: uint,
  backend_ttfb_us: uint,
  trace_id: hex(32, true, '"" or a W3C trace id (32 lower-case hex digits)'),
  span_id: hex(16, true, '"" or a span id (16 lower-case hex digits)'),
};

// Precomputed once: the per-event loop walks two flat arrays instead of an object's entries.
const NAMES: readonly string[] = [...AUDIT_FIELDS];
const CHECKS: readonly Check[] = AUDIT_FIELDS.map((f) => FIELD_CHECKS[f]);

export type AuditBatch =
  | { readonly ok: true; readonly events: AuditRecord[] }
  | { readonly ok: false; readonly line: number; readonly reason: string };

/** Why one parsed line is not a v1 audit event, or undefined when it is one. */
export function auditEventProblem(event: unknown): string | undefined {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return `expected a JSON object ${got(event)}`;
  const e = event as Record<string, unknown>;
  for (let i = 0; i < CHECKS.length; i++) {
    const field = NAMES[i] as string;
    const value = e[field];
    if (value === undefined) return `missing field "${field}" (every audit-event-v1 field is required)`;
    const problem = (CHECKS[i] as Check)(value);
    if (problem !== undefined) return `field "${field}": ${problem}`;
  }
  return undefined;
}

/** Text safe to print: control characters (and U+FFFD) as \\u escapes, as JSON would write them. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it escapes
  return text.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Why a line read from a file is refused before parsing, or undefined. Bytes that are not UTF-8 were
 * decoded as U+FFFD on the way in: such a line is refused rather than stored altered (no emitter writes
 * U+FFFD: header values are read as Latin-1 and targets are ASCII). HTTP bodies are checked as bytes.
 */
export function fileLineProblem(text: string): string | undefined {
  return text.includes('\ufffd') ? 'not valid UTF-8 (bytes that do not decode, or U+FFFD)' : undefined;
}

/** One NDJSON line as a JSON value, or why it is not JSON (the parser's message, printable). */
export function parseJsonLine(text: string): { readonly value: unknown; readonly reason?: undefined } | { readonly reason: string } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return { reason: `not JSON: ${printable((err as Error).message)}` };
  }
}

/** Parses a whole NDJSON body. Blank lines are skipped (and counted); a final newline is optional. */
export function parseAuditBatch(body: string): AuditBatch {
  const events: AuditRecord[] = [];
  let line = 0;
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf('\n', start);
    if (end === -1) end = body.length;
    line++;
    const text = body.slice(start, end);
    start = end + 1;
    if (text.trim() === '') continue;
    const parsed = parseJsonLine(text);
    if (parsed.reason !== undefined) return { ok: false, line, reason: parsed.reason };
    const event = parsed.value;
    const problem = auditEventProblem(event);
    if (problem !== undefined) return { ok: false, line, reason: problem };
    events.push(event as AuditRecord);
  }
  return { ok: true, events };
}
