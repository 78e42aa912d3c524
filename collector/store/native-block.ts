// A writer of ClickHouse's Native format (one block): per column its name, its type and its values, column
// after column. The embedded engine reads it with next to no parsing (docs/store.md: 5.9 µs of engine CPU
// per audit row against 11.5 for JSONCompactColumns, rollup views included), where text formats cost
// the engine as much as building the rows costs JS. Layout, as chDB writes it: varint column count,
// varint row count, then for each column: name and type as length-prefixed strings, then the values —
// String as varint length + UTF-8 bytes, integers and DateTime64 as little-endian fixed width. Composite
// types (checked against chDB by round trip, test/unit/store/otel-native.test.ts): Array(T) is the rows'
// cumulative end offsets as UInt64, then all elements as one column of T; Map(K, V) is stored as
// Array(Tuple(K, V)): the offsets, then every key, then every value.

type StringMap = Readonly<Record<string, string>>;

export class NativeBlockWriter {
  private buf: Buffer;
  private at = 0;

  constructor(
    columns: number,
    private readonly rows: number,
    initialBytes = 1 << 20,
  ) {
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.varint(columns);
    this.varint(rows);
  }

  /** Starts a column; its `rows` values must follow through one of the column methods. */
  private header(name: string, type: string): void {
    this.string(name);
    this.string(type);
  }

  stringColumn(name: string, values: readonly string[]): void {
    this.header(name, 'String');
    for (let i = 0; i < this.rows; i++) this.string(values[i] as string);
  }

  uint16Column(name: string, values: readonly number[]): void {
    this.header(name, 'UInt16');
    this.room(2 * this.rows);
    for (let i = 0; i < this.rows; i++) this.at = this.buf.writeUInt16LE(values[i] as number, this.at);
  }

  /** UInt64 from JS numbers: callers keep them within Number.MAX_SAFE_INTEGER (checked upstream). */
  uint64Column(name: string, values: readonly number[]): void {
    this.header(name, 'UInt64');
    this.int64s(values);
  }

  /** DateTime64(3, 'UTC') from epoch milliseconds. */
  dateTime64msColumn(name: string, values: readonly number[]): void {
    this.header(name, "DateTime64(3, 'UTC')");
    this.int64s(values);
  }

  uint8Column(name: string, values: readonly number[]): void {
    this.header(name, 'UInt8');
    this.room(this.rows);
    for (let i = 0; i < this.rows; i++) this.buf[this.at++] = values[i] as number;
  }

  /** UInt64 from bigints (callers check the range: 0 to 2^64 - 1). */
  uint64BigColumn(name: string, values: readonly bigint[]): void {
    this.header(name, 'UInt64');
    this.bigints(values, false);
  }

  /** DateTime64(9, 'UTC') from Unix nanoseconds (callers keep them within Int64). */
  dateTime64nsColumn(name: string, values: readonly bigint[]): void {
    this.header(name, "DateTime64(9, 'UTC')");
    this.bigints(values, true);
  }

  /** Map(String, String) from plain objects (own enumerable keys, in their order). */
  mapColumn(name: string, values: readonly StringMap[]): void {
    this.header(name, 'Map(String, String)');
    this.maps(values);
  }

  stringArrayColumn(name: string, values: readonly (readonly string[])[]): void {
    this.header(name, 'Array(String)');
    this.offsets(values);
    for (const list of values) for (const s of list) this.string(s);
  }

  dateTime64nsArrayColumn(name: string, values: readonly (readonly bigint[])[]): void {
    this.header(name, "Array(DateTime64(9, 'UTC'))");
    this.room(8 * this.offsets(values));
    for (const list of values) for (const v of list) this.at = this.buf.writeBigInt64LE(v, this.at);
  }

  mapArrayColumn(name: string, values: readonly (readonly StringMap[])[]): void {
    this.header(name, 'Array(Map(String, String))');
    this.offsets(values);
    this.maps(values.flat());
  }

  /** The encoded block (a view of the writer's buffer). */
  finish(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  /** The rows' cumulative end offsets (UInt64) of an Array column; returns the element count. */
  private offsets(lists: readonly { readonly length: number }[]): number {
    this.room(8 * lists.length);
    let end = 0;
    for (const list of lists) {
      end += list.length;
      this.buf.writeUInt32LE(end, this.at);
      this.buf.writeUInt32LE(0, this.at + 4);
      this.at += 8;
    }
    return end;
  }

  private maps(values: readonly StringMap[]): void {
    const n = values.length;
    const keys = new Array<string[]>(n);
    for (let i = 0; i < n; i++) keys[i] = Object.keys(values[i] as StringMap);
    this.offsets(keys);
    // Rows of one request share their resource's map object: its bytes are copied, not encoded again.
    let prev: StringMap | undefined;
    let from = 0;
    let to = 0;
    for (let i = 0; i < n; i++) {
      const m = values[i] as StringMap;
      if (m === prev) {
        this.copy(from, to);
        continue;
      }
      from = this.at;
      for (const k of keys[i] as string[]) this.string(k);
      to = this.at;
      prev = m;
    }
    prev = undefined;
    for (let i = 0; i < n; i++) {
      const m = values[i] as StringMap;
      if (m === prev) {
        this.copy(from, to);
        continue;
      }
      from = this.at;
      // Object.values lists them in the order of Object.keys, without a lookup per key.
      for (const v of Object.values(m)) this.string(v);
      to = this.at;
      prev = m;
    }
  }

  /** Appends a copy of bytes already written. */
  private copy(from: number, to: number): void {
    this.room(to - from);
    this.buf.copyWithin(this.at, from, to);
    this.at += to - from;
  }

  /** Eight little-endian bytes per bigint, as Int64 (signed) or UInt64. */
  private bigints(values: readonly bigint[], signed: boolean): void {
    this.room(8 * this.rows);
    for (let i = 0; i < this.rows; i++) {
      const v = values[i] as bigint;
      this.at = signed ? this.buf.writeBigInt64LE(v, this.at) : this.buf.writeBigUInt64LE(v, this.at);
    }
  }

  private int64s(values: readonly number[]): void {
    this.room(8 * this.rows);
    for (let i = 0; i < this.rows; i++) {
      const v = values[i] as number;
      // Two's complement halves: exact for every safe integer, negative ones included (DateTime64 before 1970).
      const lo = v >>> 0;
      const hi = Math.floor(v / 4294967296);
      this.buf.writeUInt32LE(lo, this.at);
      this.buf.writeInt32LE(hi | 0, this.at + 4);
      this.at += 8;
    }
  }

  private string(s: string): void {
    const len = s.length;
    // Room for the worst case (3 bytes per UTF-16 unit) and a 5-byte length prefix.
    this.room(len * 3 + 5);
    const buf = this.buf;
    if (len <= 48) {
      // Short values (methods, hosts, enums, attribute keys, ids) are copied by a JS loop, cheaper than a
      // call into Buffer.write; the first non-ASCII unit falls back to UTF-8 encoding.
      let at = this.at + 1;
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) return this.long(s);
        buf[at++] = c;
      }
      buf[this.at] = len;
      this.at = at;
      return;
    }
    this.long(s);
  }

  /** UTF-8 after a one-byte length, moved right when the length needs a longer varint (128 bytes and up). */
  private long(s: string): void {
    const at = this.at;
    const n = this.buf.write(s, at + 1, 'utf8');
    if (n < 0x80) {
      this.buf[at] = n;
      this.at = at + 1 + n;
      return;
    }
    const prefix = n < 1 << 14 ? 2 : n < 1 << 21 ? 3 : n < 1 << 28 ? 4 : 5;
    this.buf.copyWithin(at + prefix, at + 1, at + 1 + n);
    this.varint(n);
    this.at = at + prefix + n;
  }

  private varint(n: number): void {
    this.room(10);
    let v = n;
    while (v >= 0x80) {
      this.buf[this.at++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.at++] = v;
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }
}
