// Reads an emitter's rotating audit files as one stream of lines from a position: the shipper's spool.
// Positions are (file name, byte offset), so a restart resumes without reading what came before.
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Just after the line with `seq` (0: none yet) in `file` (a name in the audit dir; '' before the first file). */
export interface SpoolPosition {
  readonly file: string;
  readonly offset: number;
  readonly seq: number;
}

/** Up to where the files hold kept events: all of every file before `file`, `size` bytes of `file`. */
export interface SpoolLimit {
  readonly file: string;
  readonly size: number;
}

export const SPOOL_START: SpoolPosition = { file: '', offset: 0, seq: 0 };

const CHUNK = 1 << 20;
const NL = 0x0a;
const SEQ_KEY = Buffer.from('"seq":');

export function auditFilePrefix(emitterId: string): string {
  return `audit-${emitterId}-`;
}

function isAuditFile(name: string, prefix: string): boolean {
  return name.startsWith(prefix) && name.endsWith('.ndjson') && /^\d+$/.test(name.slice(prefix.length, -'.ndjson'.length));
}

/** The emitter's audit file names in chain order. */
export async function listSpoolFiles(dir: string, emitterId: string): Promise<string[]> {
  const prefix = auditFilePrefix(emitterId);
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => isAuditFile(n, prefix)).sort();
}

export function listSpoolFilesSync(dir: string, emitterId: string): string[] {
  const prefix = auditFilePrefix(emitterId);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => isAuditFile(n, prefix)).sort();
}

export function firstSeqOf(name: string, emitterId: string): number {
  return Number(name.slice(auditFilePrefix(emitterId).length, -'.ndjson'.length));
}

/**
 * The top-level seq of an emitter-written line without parsing it: the emitter writes fields in spec
 * order and seq comes before any free-form field, and `"seq":` cannot occur inside a JSON string (its
 * quotes would be escaped), so the first match is the field.
 */
export function seqOfLine(line: Buffer): number | undefined {
  const i = line.indexOf(SEQ_KEY);
  if (i === -1) return undefined;
  let n = 0;
  let j = i + SEQ_KEY.length;
  const start = j;
  for (; j < line.length; j++) {
    const c = line[j] as number;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
  }
  return j === start ? undefined : n;
}

export interface ScanResult {
  /** After the last line taken (unchanged if none). */
  readonly end: SpoolPosition;
  /** File bytes the lines taken span. */
  readonly bytes: number;
  readonly lines: number;
  /** take refused a line (the caller's limit), as opposed to the end of what is readable. */
  readonly stopped: boolean;
}

/**
 * Calls take(line) for each complete line after `from`, in chain order across files, within `limit`,
 * until take returns false (that line is not taken). A line without its newline at the end of a file
 * that later files follow (it can only come from outside the emitter) is passed with a newline added.
 */
export async function scanLines(dir: string, files: readonly string[], from: SpoolPosition, limit: SpoolLimit, take: (line: Buffer) => boolean): Promise<ScanResult> {
  let index = files.indexOf(from.file);
  let offset = from.offset;
  if (index === -1) {
    // Not there any more (or the start): go on with the next file in order.
    index = files.findIndex((f) => f > from.file);
    offset = 0;
  }
  let end = from;
  let bytes = 0;
  let lines = 0;
  let stopped = false;
  for (; index !== -1 && index < files.length && !stopped; index++, offset = 0) {
    const name = files[index] as string;
    if (name > limit.file) break;
    const cap = name === limit.file ? limit.size : Infinity;
    let handle;
    try {
      handle = await open(join(dir, name), 'r');
    } catch {
      continue;
    }
    let last: Buffer | undefined;
    let consumed = offset;
    try {
      let readPos = offset;
      let carry = Buffer.alloc(0);
      while (!stopped && readPos < cap) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, cap - readPos));
        const { bytesRead } = await handle.read(buf, 0, buf.length, readPos);
        if (bytesRead === 0) break;
        readPos += bytesRead;
        const data = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
        let start = 0;
        for (let nl = data.indexOf(NL); nl !== -1; nl = data.indexOf(NL, start)) {
          const line = data.subarray(start, nl + 1);
          if (!take(line)) {
            stopped = true;
            break;
          }
          consumed += line.length;
          lines++;
          last = line;
          start = nl + 1;
        }
        carry = data.subarray(start);
      }
      const later = index + 1 < files.length && name < limit.file;
      if (!stopped && carry.length > 0 && later) {
        if (take(Buffer.concat([carry, Buffer.from('\n')]))) {
          consumed += carry.length;
          lines++;
          last = carry;
        } else stopped = true;
      }
    } finally {
      await handle.close();
    }
    if (consumed !== offset || end.file !== name) {
      bytes += consumed - offset;
      end = { file: name, offset: consumed, seq: (last && seqOfLine(last)) ?? end.seq };
    }
  }
  return { end, bytes, lines, stopped };
}

/** Reads `length` bytes at `position` of a file, synchronously (start-up only). */
function readAt(path: string, position: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, position);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** seq of the line that ends exactly at `offset` of the file, if one does. */
export function seqEndingAt(path: string, offset: number): number | undefined {
  if (offset <= 0) return undefined;
  const window = Math.min(offset, 64 * 1024);
  let buf: Buffer;
  try {
    buf = readAt(path, offset - window, window);
  } catch {
    return undefined;
  }
  if (buf.length !== window || buf[buf.length - 1] !== NL) return undefined;
  const start = buf.lastIndexOf(NL, buf.length - 2) + 1;
  return seqOfLine(buf.subarray(start));
}

/** The position after the last line with seq <= `seq`, found by reading (start-up, when a cursor is stale). */
export function positionAfterSeq(dir: string, emitterId: string, seq: number): SpoolPosition {
  const files = listSpoolFilesSync(dir, emitterId);
  let index = -1;
  for (let i = 0; i < files.length; i++) if (firstSeqOf(files[i] as string, emitterId) <= seq) index = i;
  if (index === -1) return SPOOL_START;
  const name = files[index] as string;
  const path = join(dir, name);
  let pos: SpoolPosition = { file: name, offset: 0, seq: 0 };
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    let readPos = 0;
    let carry = Buffer.alloc(0);
    while (readPos < size) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - readPos));
      const n = readSync(fd, buf, 0, buf.length, readPos);
      if (n === 0) break;
      const base = readPos - carry.length;
      readPos += n;
      const data = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
      let start = 0;
      for (let nl = data.indexOf(NL); nl !== -1; nl = data.indexOf(NL, start)) {
        const lineSeq = seqOfLine(data.subarray(start, nl + 1));
        if (lineSeq !== undefined && lineSeq > seq) return pos;
        pos = { file: name, offset: base + nl + 1, seq: lineSeq ?? pos.seq };
        start = nl + 1;
      }
      carry = data.subarray(start);
    }
  } finally {
    closeSync(fd);
  }
  return pos;
}

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/** Bytes in the files after `from`, within what is on disk now (start-up accounting of the spool). */
export function bytesAfter(dir: string, files: readonly string[], from: SpoolPosition): number {
  let total = 0;
  for (const name of files) {
    if (name < from.file) continue;
    const size = sizeOf(join(dir, name)) ?? 0;
    total += name === from.file ? Math.max(0, size - from.offset) : size;
  }
  return total;
}

/** The seq of the last line of the newest non-empty file (0 if none). */
export function lastSeqInFiles(dir: string, files: readonly string[]): number {
  for (let i = files.length - 1; i >= 0; i--) {
    const path = join(dir, files[i] as string);
    const size = sizeOf(path);
    if (size === undefined) continue;
    const seq = seqEndingAt(path, size);
    if (seq !== undefined) return seq;
  }
  return 0;
}
