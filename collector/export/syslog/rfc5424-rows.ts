// RFC 5424 messages written straight from stored audit rows: the RowBinary bytes of an export page
// (audit-source.ts) become the message's bytes without a JavaScript string per field. This is the syslog
// exporter's hot path. Decoding 36 fields into strings, escaping and joining them, then encoding the
// message back to UTF-8 was most of the exporter's CPU per event: decode ~5 µs, message 7-8 µs, framing
// 2.5 µs, and the garbage of all those strings (docs/benchmarks.md, "Export").
//
// The layout is taken from the string formatter itself. header() and sdElement() are called once per
// severity with placeholder values, and the constant pieces between the values are kept. Escaping is
// byte by byte: '"', '\' and ']' are single bytes that never occur inside a multi-byte UTF-8 character.
// So the output is, byte for byte, what createFormatter() gives for the decoded event (test:
// rfc5424-rows.test.ts). When it could differ, the writer declines and the caller uses the string
// formatter: bytes that are not valid UTF-8 (the decoder would put U+FFFD in their place), or a time that
// is not RFC 3339 with milliseconds.
import { isUtf8 } from 'node:buffer';
import { PAGE_COLUMNS, pageColumn } from '../audit-source.js';
import { RowColumns, u16At, u64At, writeNumber } from '../row-binary.js';
import type { AuditRowBytes, ExportedAuditEvent } from '../types.js';
import { AUDIT_EXPORT_FIELDS } from './fields.js';
import type { FrameBuilder } from './framing.js';
import { header, sdElement, type HeaderParts } from './rfc5424.js';
import { auditUrgency } from './severity.js';

/** Writes one audit row as an octet-counted frame; false (nothing written) when the string path must do it. */
export type RowWriter = (row: AuditRowBytes, frames: FrameBuilder) => boolean;

const STRING = 0;
const U16 = 1;
const KINDS = Uint8Array.from(PAGE_COLUMNS.map((c) => (c.kind === 'string' ? STRING : c.kind === 'u16' ? U16 : 2)));
const N = KINDS.length;

const TS = pageColumn('ts_iso');
const DECISION = pageColumn('decision');
const DENY_REASON = pageColumn('deny_reason');
const ERROR_TYPE = pageColumn('error_type');
/** Stored empty when the event had no extension fields; the event (and so the message) says '{}'. */
const EXTRA = pageColumn('extra');

// The page's columns are the structured data's parameters, one for one and in order.
PAGE_COLUMNS.forEach((c, i) => {
  if (c.name.replace(/_iso$/, '') !== AUDIT_EXPORT_FIELDS[i]) throw new Error(`export page column ${i} is ${c.name}, the message's parameter ${String(AUDIT_EXPORT_FIELDS[i])}`);
});
if (AUDIT_EXPORT_FIELDS.length !== N) throw new Error('export page columns and message parameters differ in number');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const BRACKET = 0x5d;

/** 'YYYY-MM-DDTHH:MM:SS.mmmZ' at src[at..at+24): the only time the string formatter passes through as is. */
function isIsoMillis(src: Buffer, at: number): boolean {
  for (let i = 0; i < 24; i++) {
    const c = src[at + i] as number;
    const want = i === 4 || i === 7 ? 0x2d : i === 10 ? 0x54 : i === 13 || i === 16 ? 0x3a : i === 19 ? 0x2e : i === 23 ? 0x5a : -1;
    if (want === -1 ? c < 0x30 || c > 0x39 : c !== want) return false;
  }
  return true;
}

export function createRowWriter(parts: HeaderParts, sdId: string, msgId: string): RowWriter {
  // The message with placeholders (control characters no header field or parameter name can hold)
  // where the time and the values go; cut at them, the rest is constant. All constant pieces live in
  // one byte array (the header up to the time and from it to the first value, per severity; then what
  // follows each value), copied by index in the loop below rather than by a call per piece.
  const VALUE = '\u0001';
  const TIME = '\u0002';
  const placeholders = { names: AUDIT_EXPORT_FIELDS, values: AUDIT_EXPORT_FIELDS.map(() => VALUE) };
  const pieces: string[] = [];
  for (let severity = 0; severity <= 7; severity++) {
    const cut = sdElement(sdId, placeholders, header(parts, severity, TIME, msgId)).split(VALUE);
    const head = (cut[0] as string).split(TIME);
    if (cut.length !== N + 1 || head.length !== 2) throw new Error('RFC 5424 template: placeholders not where expected');
    pieces.push(head[0] as string, head[1] as string);
    if (severity === 7) pieces.push(...cut.slice(1));
  }
  const encoded = pieces.map((piece) => Buffer.from(piece, 'utf8'));
  const tpl = new Uint8Array(Buffer.concat(encoded));
  /** Piece k is tpl[from[k]..from[k + 1]): 2 per severity (before and after the time), then one per value. */
  const from = new Int32Array(encoded.length + 1);
  encoded.forEach((b, k) => (from[k + 1] = (from[k] as number) + b.length));
  const SEP = 16;
  const sepBytes = (from[SEP + N] as number) - (from[SEP] as number);
  const headBytes = Math.max(...Array.from({ length: 8 }, (_, sev) => (from[2 * sev + 2] as number) - (from[2 * sev] as number)));
  const columns = new RowColumns(PAGE_COLUMNS);
  const { starts, ends } = columns;
  const text = (src: Buffer, i: number): string => (src as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(starts[i] as number, ends[i] as number);

  return (row, frames) => {
    const src = row.buf;
    // A Buffer (what the store's client returns); any other byte array is left to the string path.
    if (!Buffer.isBuffer(src)) return false;
    const p = columns.locate(src, row.at);
    if (p < 0) return false;
    if ((ends[TS] as number) - (starts[TS] as number) !== 24 || !isIsoMillis(src, starts[TS] as number)) return false;
    // Only ASCII words can match, so reading bytes as Latin-1 decides as the decoded strings would.
    const severity = auditUrgency({
      decision: text(src, DECISION) as ExportedAuditEvent['decision'],
      deny_reason: text(src, DENY_REASON) as ExportedAuditEvent['deny_reason'],
      error_type: text(src, ERROR_TYPE) as ExportedAuditEvent['error_type'],
    }).syslog;
    if (!(severity >= 0 && severity <= 7)) return false;

    // Written in place in the batch's buffer; every byte escaped at worst, numbers at most 20 digits.
    const start = frames.openFrame(headBytes + 24 + sepBytes + 2 * (p - row.at) + 20 * N);
    const out = frames.buffer;
    // Loop bounds are read into locals first: a store into one typed array could, for all the compiler
    // knows, change another, so a bound read in the loop condition would be read again every byte.
    let o = start;
    const timeAt = from[2 * severity + 1] as number;
    const timeEnd = ends[TS] as number;
    const headEnd = from[2 * severity + 2] as number;
    for (let k = from[2 * severity] as number; k < timeAt; k++) out[o++] = tpl[k] as number;
    for (let j = starts[TS] as number; j < timeEnd; j++) out[o++] = src[j] as number;
    for (let k = timeAt; k < headEnd; k++) out[o++] = tpl[k] as number;
    for (let i = 0; i < N; i++) {
      const s = starts[i] as number;
      const e = ends[i] as number;
      const kind = KINDS[i];
      if (kind === STRING) {
        if (e === s && i === EXTRA) {
          out[o++] = 0x7b;
          out[o++] = 0x7d;
        }
        for (let j = s; j < e; j++) {
          const c = src[j] as number;
          if (c === QUOTE || c === BACKSLASH || c === BRACKET) out[o++] = BACKSLASH;
          out[o++] = c;
        }
      } else if (kind === U16) {
        o = writeNumber(out, o, u16At(src, s));
      } else {
        // The nearest number, as the decoder gives it; beyond 2^53 its text is String()'s, as there.
        o = writeNumber(out, o, u64At(src, s));
      }
      const sepEnd = from[SEP + i + 1] as number;
      for (let k = from[SEP + i] as number; k < sepEnd; k++) out[o++] = tpl[k] as number;
    }
    // Not committed (the builder's end does not move) when the bytes are not UTF-8.
    if (!isUtf8(out.subarray(start, o))) return false;
    frames.closeFrame(o);
    return true;
  };
}
