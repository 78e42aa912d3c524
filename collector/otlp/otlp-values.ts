// Reading OTLP values the same way from both encodings. protobufjs decodes a protobuf body into objects
// with the same lowerCamelCase keys as OTLP/JSON; they differ only in ids (bytes vs hex strings), 64-bit
// integers (Long vs decimal strings), bytes (Buffer vs base64) and in that JSON can hold any type anywhere.
// One walker over both keeps the two encodings from drifting apart; the Encoding says how to read the
// fields that differ.
import type { AttributeMap } from '../ingest-store.js';

/** A body that is not a valid OTLP message. `path` names the offending field, e.g. resourceSpans[0].scopeSpans[1].spans[2].traceId. */
export class OtlpFormatError extends Error {
  readonly segments: string[];
  constructor(reason: string, field?: string) {
    super(reason);
    this.segments = field === undefined ? [] : [field];
  }
  get path(): string {
    return this.segments.reduce((acc, s) => (s.startsWith('[') ? acc + s : acc === '' ? s : `${acc}.${s}`), '');
  }
  /** `path: reason`, or the reason alone for the message as a whole. */
  describe(): string {
    const path = this.path;
    return path === '' ? this.message : `${path}: ${this.message}`;
  }
}

/** Prepends segments (a field name, or an index as a number) to an OtlpFormatError's path, and rethrows. */
export function within(err: unknown, ...segments: (string | number)[]): never {
  if (err instanceof OtlpFormatError) err.segments.unshift(...segments.map((s) => (typeof s === 'number' ? `[${s}]` : s)));
  throw err;
}

export interface Encoding {
  readonly name: 'json' | 'protobuf';
  /** A trace id (16 bytes) or span id (8 bytes) as lower-case hex; '' when absent or empty. */
  id(value: unknown, field: string, bytes: 16 | 8): string;
  /** An unsigned 64-bit integer (times in ns); 0n when absent. */
  u64(value: unknown, field: string): bigint;
  /** A signed 64-bit integer as a decimal string. */
  i64(value: unknown, field: string): string;
  /** A bytes value, as standard base64 (how the OTel Collector's exporter renders it). */
  base64(value: unknown, field: string): string;
}

const HEX = /^[0-9a-fA-F]*$/;
const UINT = /^[0-9]{1,20}$/;
const INT = /^-?[0-9]{1,19}$/;
const MAX_U64 = (1n << 64n) - 1n;

function longBits(value: unknown): { low: number; high: number } | undefined {
  if (value !== null && typeof value === 'object' && 'low' in value && 'high' in value) return value as { low: number; high: number };
  return undefined;
}

export const PROTOBUF: Encoding = {
  name: 'protobuf',
  id(value, field, bytes) {
    if (value === undefined || value === null) return '';
    const buf = value as Uint8Array;
    if (buf.length === 0) return '';
    if (buf.length !== bytes) throw new OtlpFormatError(`expected ${bytes} bytes, got ${buf.length}`, field);
    return Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('hex');
  },
  u64(value) {
    if (typeof value === 'number') return BigInt(value);
    const long = longBits(value);
    return long ? (BigInt(long.high >>> 0) << 32n) | BigInt(long.low >>> 0) : 0n;
  },
  i64(value) {
    if (typeof value === 'number') return String(value);
    const long = longBits(value);
    return long ? String(BigInt.asIntN(64, (BigInt(long.high >>> 0) << 32n) | BigInt(long.low >>> 0))) : '0';
  },
  base64(value) {
    const buf = value as Uint8Array | undefined;
    return buf ? Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('base64') : '';
  },
};

export const JSON_ENCODING: Encoding = {
  name: 'json',
  id(value, field, bytes) {
    if (value === undefined || value === null || value === '') return '';
    // OTLP/JSON: ids are hex, not the base64 of the generic protobuf JSON mapping.
    if (typeof value !== 'string' || value.length !== bytes * 2 || !HEX.test(value)) {
      throw new OtlpFormatError(`expected ${bytes * 2} hex digits (OTLP/JSON ids are hex, not base64), got ${JSON.stringify(value)}`, field);
    }
    return value.toLowerCase();
  },
  u64(value, field) {
    if (value === undefined || value === null) return 0n;
    if (typeof value === 'string' && UINT.test(value)) {
      const n = BigInt(value);
      if (n <= MAX_U64) return n;
    }
    // Some SDKs send JSON numbers; any integral one is taken (beyond 2^53 it was rounded by the sender).
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 2 ** 64) return BigInt.asUintN(64, BigInt(value));
    throw new OtlpFormatError(`expected an unsigned 64-bit integer as a decimal string, got ${JSON.stringify(value)}`, field);
  },
  i64(value, field) {
    if (typeof value === 'string' && INT.test(value)) {
      const n = BigInt(value);
      if (n === BigInt.asIntN(64, n)) return String(n);
    }
    if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= 2 ** 63) return String(BigInt.asIntN(64, BigInt(value)));
    throw new OtlpFormatError(`expected a 64-bit integer as a decimal string, got ${JSON.stringify(value)}`, field);
  },
  base64(value, field) {
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) throw new OtlpFormatError(`expected base64, got ${JSON.stringify(value)}`, field);
    return Buffer.from(value, 'base64').toString('base64');
  },
};

// Structural readers. For protobuf they only ever see the right types; for JSON they are the validation.

export function list(value: unknown, field: string): readonly unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpFormatError(`expected an array, got ${typeName(value)}`, field);
  return value;
}

export function message(value: unknown, field?: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new OtlpFormatError(`expected an object, got ${typeName(value)}`, field);
  return value as Record<string, unknown>;
}

export function str(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new OtlpFormatError(`expected a string, got ${typeName(value)}`, field);
  return value;
}

/** uint32/fixed32/int32: a number, or (proto3 JSON) its decimal string. */
export function u32(value: unknown, field: string): number {
  if (value === undefined || value === null) return 0;
  const n = typeof value === 'string' && /^[0-9]{1,10}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new OtlpFormatError(`expected an unsigned 32-bit integer, got ${JSON.stringify(value)}`, field);
  return n;
}

/** An enum: OTLP/JSON sends integers; names are accepted too (as the OTel Collector does). Unknown numbers are kept. */
export function enumValue(value: unknown, field: string, names: readonly string[]): number {
  if (typeof value === 'string' && names.includes(value)) return names.indexOf(value);
  const n = typeof value === 'string' && /^-?[0-9]{1,10}$/.test(value) ? Number(value) : value;
  if (n === undefined || n === null) return 0;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new OtlpFormatError(`expected an enum value as an integer, got ${JSON.stringify(value)}`, field);
  return n;
}

function typeName(value: unknown): string {
  return Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

// AnyValue rendering: what the OTel Collector's ClickHouse exporter stores, i.e. pcommon.Value.AsString():
// strings as they are, numbers and booleans in their text form, bytes as base64, arrays and maps as JSON.

const ANY_FIELDS = ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] as const;

/** The value an AnyValue holds, as plain JS (for JSON rendering of arrays and maps). */
function anyRaw(value: unknown, enc: Encoding): unknown {
  const v = message(value);
  if (v === undefined) return null;
  for (const key of ANY_FIELDS) {
    const x = v[key];
    // protobufjs puts oneof defaults on the prototype; only what was on the wire is an own property.
    if (x === undefined || x === null || !Object.prototype.hasOwnProperty.call(v, key)) continue;
    switch (key) {
      case 'stringValue':
        return str(x, key);
      case 'boolValue':
        if (typeof x !== 'boolean') throw new OtlpFormatError(`expected a boolean, got ${JSON.stringify(x)}`, key);
        return x;
      case 'intValue': {
        const s = enc.i64(x, key);
        const n = Number(s);
        return Number.isSafeInteger(n) ? n : s;
      }
      case 'doubleValue':
        return double(x, key);
      case 'bytesValue':
        return enc.base64(x, key);
      case 'arrayValue': {
        const values = list(message(x, key)?.values, 'values');
        const out: unknown[] = [];
        for (let i = 0; i < values.length; i++) {
          try {
            out.push(anyRaw(values[i], enc));
          } catch (err) {
            within(err, key, 'values', i);
          }
        }
        return out;
      }
      case 'kvlistValue': {
        const values = list(message(x, key)?.values, 'values');
        const out = Object.create(null) as Record<string, unknown>;
        for (let i = 0; i < values.length; i++) {
          try {
            const kv = message(values[i]) ?? {};
            const k = str(kv.key, 'key');
            try {
              out[k] = anyRaw(kv.value, enc);
            } catch (err) {
              within(err, 'value');
            }
          } catch (err) {
            within(err, key, 'values', i);
          }
        }
        return out;
      }
    }
  }
  return null;
}

function double(value: unknown, field: string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  throw new OtlpFormatError(`expected a number, got ${JSON.stringify(value)}`, field);
}

function render(raw: unknown): string {
  if (raw === null || raw === undefined) return '';
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  return JSON.stringify(raw, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}

/** An AnyValue as the exporter's AsString(): '' when empty. */
export function anyString(value: unknown, enc: Encoding): string {
  // Fast path: most attribute values are plain strings.
  const v = value as Record<string, unknown> | undefined;
  if (v && typeof v.stringValue === 'string' && Object.prototype.hasOwnProperty.call(v, 'stringValue')) return v.stringValue;
  return render(anyRaw(value, enc));
}

/** anyString for the `value` of a KeyValue, with errors pointing at it. */
function valueString(value: unknown, enc: Encoding): string {
  try {
    return anyString(value, enc);
  } catch (err) {
    within(err, 'value');
  }
}

/** repeated KeyValue as a Map(String, String) column value. A null-prototype object, since keys are data. */
export function attributes(value: unknown, enc: Encoding, field: string): AttributeMap {
  const out = Object.create(null) as AttributeMap;
  const kvs = list(value, field);
  if (enc === PROTOBUF) {
    // protobufjs only ever yields well-typed KeyValues (key a string, value an AnyValue or absent), so
    // the checks below cannot fail; string values, nearly all of them, skip anyString's dispatch.
    let i = 0;
    try {
      for (; i < kvs.length; i++) {
        const kv = kvs[i] as { key: string; value?: { stringValue?: unknown } | null };
        const v = kv.value;
        if (v && typeof v.stringValue === 'string' && Object.prototype.hasOwnProperty.call(v, 'stringValue')) out[kv.key] = v.stringValue;
        else out[kv.key] = valueString(v, enc);
      }
    } catch (err) {
      within(err, field, i);
    }
    return out;
  }
  for (let i = 0; i < kvs.length; i++) {
    try {
      const kv = message(kvs[i]) ?? {};
      out[str(kv.key, 'key')] = valueString(kv.value, enc);
    } catch (err) {
      within(err, field, i);
    }
  }
  return out;
}

/** The resource of a ResourceSpans or ResourceLogs: its attributes, and service.name from them. */
export function resourceOf(container: Record<string, unknown>, enc: Encoding): { attributes: AttributeMap; serviceName: string } {
  const resource = message(container.resource, 'resource');
  let attrs: AttributeMap;
  try {
    attrs = attributes(resource?.attributes, enc, 'attributes');
  } catch (err) {
    within(err, 'resource');
  }
  return { attributes: attrs, serviceName: attrs['service.name'] ?? '' };
}

/** The instrumentation scope of a ScopeSpans or ScopeLogs; its attributes only where the table keeps them. */
export function scopeOf(container: Record<string, unknown>, enc: Encoding, withAttributes: boolean): { name: string; version: string; attributes: AttributeMap } {
  const scope = message(container.scope, 'scope');
  try {
    return {
      name: str(scope?.name, 'name'),
      version: str(scope?.version, 'version'),
      attributes: withAttributes ? attributes(scope?.attributes, enc, 'attributes') : (Object.create(null) as AttributeMap),
    };
  } catch (err) {
    within(err, 'scope');
  }
}
