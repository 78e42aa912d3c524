// A page of the store's rows in ClickHouse's RowBinaryWithNamesAndTypes format, decoded in place. The
// export source reads whole pages (tens of thousands of rows) but hands them to the exporter a batch at a
// time; decoding a row only when its event is asked for (audit-source.ts) keeps the strings of a page from
// living (and being copied by the garbage collector) for the whole page, and needs no JSON text in
// between: measured 12-15 µs per event for read + decode against 26-31 µs with one JSONColumns parse of
// the page. The syslog exporter's RFC 5424 path reads the row bytes itself and decodes nothing.
//
// Only the types the export reads are known: String (LowCardinality or not), UInt16, UInt64. The header
// names and types are checked against what the caller expects, so a changed column type is an error, not
// a silent misreading of the bytes.

export type ColumnKind = 'string' | 'u16' | 'u64';

export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
}

const TYPES: Readonly<Record<ColumnKind, readonly string[]>> = {
  string: ['String', 'LowCardinality(String)'],
  u16: ['UInt16'],
  u64: ['UInt64'],
};

/** Reads values of one buffer at a moving offset. */
export class RowBinaryReader {
  at = 0;
  private readonly utf8: (start: number, end: number) => string;

  constructor(readonly buf: Buffer) {
    // Buffer's own utf8Slice skips the argument checks and defaults of toString(), a third of the cost
    // of decoding a row when measured; toString() where a runtime lacks it.
    const native = (buf as unknown as { utf8Slice?: (start: number, end: number) => string }).utf8Slice;
    this.utf8 = native ? native.bind(buf) : (start, end) => buf.toString('utf8', start, end);
  }

  get done(): boolean {
    return this.at >= this.buf.length;
  }

  /** An unsigned LEB128 varint (string lengths, the header's column count). */
  varint(): number {
    const b = this.buf;
    let n = 0;
    let shift = 0;
    let x: number;
    do {
      if (this.at >= b.length) throw new Error('RowBinary: truncated length');
      x = b[this.at++] as number;
      n += (x & 0x7f) * 2 ** shift;
      shift += 7;
    } while (x & 0x80);
    return n;
  }

  string(): string {
    const n = this.varint();
    const start = this.at;
    this.at += n;
    if (this.at > this.buf.length) throw new Error('RowBinary: truncated string');
    return n === 0 ? '' : this.utf8(start, this.at);
  }

  skipString(): void {
    const n = this.varint();
    this.at += n;
  }

  u16(): number {
    const v = this.buf.readUInt16LE(this.at);
    this.at += 2;
    return v;
  }

  /** A UInt64 as the nearest number (what Number() of its decimal text gives). */
  u64(): number {
    const lo = this.buf.readUInt32LE(this.at);
    const hi = this.buf.readUInt32LE(this.at + 4);
    this.at += 8;
    return hi * 4294967296 + lo;
  }

  skip(kind: ColumnKind): void {
    if (kind === 'string') this.skipString();
    else this.at += kind === 'u16' ? 2 : 8;
  }
}

/**
 * Checks the header (column count, names, types) against `columns` and returns the offset of every row.
 * Throws on a header that differs or on bytes that do not end on a row boundary.
 */
export function rowOffsets(buf: Buffer, columns: readonly ColumnSpec[]): { reader: RowBinaryReader; offsets: number[] } {
  const r = new RowBinaryReader(buf);
  if (buf.length === 0) return { reader: r, offsets: [] };
  const count = r.varint();
  if (count !== columns.length) throw new Error(`RowBinary: ${count} columns, expected ${columns.length}`);
  const names = columns.map(() => r.string());
  const types = columns.map(() => r.string());
  columns.forEach((c, i) => {
    if (names[i] !== c.name || !TYPES[c.kind].includes(types[i] as string)) {
      throw new Error(`RowBinary: column ${i} is ${names[i]} ${types[i]}, expected ${c.name} ${TYPES[c.kind].join(' or ')}`);
    }
  });
  const kinds = columns.map((c) => c.kind);
  const offsets: number[] = [];
  while (!r.done) {
    offsets.push(r.at);
    for (const k of kinds) r.skip(k);
  }
  if (r.at !== buf.length) throw new Error('RowBinary: the last row is truncated');
  return { reader: r, offsets };
}

/**
 * Where each column of a row lies in its buffer, for the writers that format straight from the bytes
 * (rfc5424-rows.ts, ecs-rows.ts): string lengths read as the decoder reads them, UInt16 and UInt64 fixed.
 * Column i of the row last located is starts[i]..ends[i].
 */
export class RowColumns {
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  private readonly kinds: Uint8Array;
  private reader: RowBinaryReader | undefined;

  constructor(columns: readonly ColumnSpec[]) {
    this.kinds = Uint8Array.from(columns.map((c) => (c.kind === 'string' ? 0 : c.kind === 'u16' ? 2 : 8)));
    this.starts = new Int32Array(columns.length);
    this.ends = new Int32Array(columns.length);
  }

  /** Locates the columns of the row at `at`; returns its end, or -1 when a length runs past the buffer. */
  locate(buf: Buffer, at: number): number {
    // One reader per page buffer.
    if (this.reader === undefined || this.reader.buf !== buf) this.reader = new RowBinaryReader(buf);
    const r = this.reader;
    const { kinds, starts, ends } = this;
    r.at = at;
    try {
      for (let i = 0; i < kinds.length; i++) {
        const width = kinds[i] as number;
        const n = width === 0 ? r.varint() : width;
        starts[i] = r.at;
        r.at += n;
        ends[i] = r.at;
      }
    } catch {
      return -1; // a length cut short
    }
    return r.at > buf.length ? -1 : r.at;
  }
}

/** The little-endian UInt64 at src[s..s+8) as the nearest number, as RowBinaryReader.u64() reads it. */
export function u64At(src: Uint8Array, s: number): number {
  const lo = ((src[s] as number) | ((src[s + 1] as number) << 8) | ((src[s + 2] as number) << 16) | ((src[s + 3] as number) << 24)) >>> 0;
  const hi = ((src[s + 4] as number) | ((src[s + 5] as number) << 8) | ((src[s + 6] as number) << 16) | ((src[s + 7] as number) << 24)) >>> 0;
  return hi * 4294967296 + lo;
}

/** The little-endian UInt16 at src[s..s+2). */
export function u16At(src: Uint8Array, s: number): number {
  return (src[s] as number) | ((src[s + 1] as number) << 8);
}

/** Decimal digits of a non-negative safe integer at out[o..]; returns the end. */
export function writeDecimal(out: Uint8Array, o: number, v: number): number {
  if (v < 10) {
    out[o] = 0x30 + v;
    return o + 1;
  }
  let digits = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
  let at = o + digits;
  if (v <= 0x7fffffff) {
    // Integer division while the value fits 31 bits (nearly every value here).
    for (let x = v; at > o; x = (x / 10) | 0) out[--at] = 0x30 + (x % 10);
  } else {
    for (let x = v; at > o; x = Math.floor(x / 10)) out[--at] = 0x30 + (x % 10);
  }
  return o + digits;
}

/** A non-negative number as String() writes it (digits while it is a safe integer), at out[o..]; returns the end. */
export function writeNumber(out: Buffer, o: number, v: number): number {
  return Number.isSafeInteger(v) ? writeDecimal(out, o, v) : o + out.write(String(v), o, 'latin1');
}

/**
 * A row writer (the exporters' path from a row's bytes) that cannot stop an export: a throw, not expected
 * since the writers check what they read, answers `declined`, so the record is written from its decoded
 * event instead. Logged once per writer: nothing is lost, and a systematic cause would otherwise log
 * every record.
 */
export function guardRowWriter<A extends unknown[], R>(write: (...args: A) => R, declined: R, warn: (err: unknown) => void): (...args: A) => R {
  let failed = false;
  return (...args) => {
    try {
      return write(...args);
    } catch (err) {
      if (!failed) warn(err);
      failed = true;
      return declined;
    }
  };
}
