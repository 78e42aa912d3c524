// Rotating NDJSON audit files, one series per emitter: <dir>/audit-<emitter_id>-<first seq>.ndjson.
// Naming files by their first seq keeps `ls` order equal to chain order, and lets a restart find the
// tail of the chain by reading only the newest file.
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent } from './event.js';
import { EMPTY_CHAIN, type ChainState } from './hash-chain.js';
import type { AuditSink } from './sink.js';
import { TunnelwatchError } from '../errors.js';

export interface FileSinkOptions {
  dir: string;
  emitterId: string;
  /** Rotate once the active file reaches this many bytes. */
  maxFileBytes: number;
  /** Called when a torn (partial) last line from a crash is cut off at start-up. */
  onTornTail?: (file: string, bytes: number) => void;
}

const SEQ_DIGITS = 12;

function fileName(emitterId: string, firstSeq: number): string {
  return `audit-${emitterId}-${String(firstSeq).padStart(SEQ_DIGITS, '0')}.ndjson`;
}

/** The emitter's files in chain order. */
export function listAuditFiles(dir: string, emitterId: string): string[] {
  const prefix = `audit-${emitterId}-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && n.endsWith('.ndjson') && /^\d+$/.test(n.slice(prefix.length, -'.ndjson'.length)))
    .sort()
    .map((n) => join(dir, n));
}

/** Reads the chain state from the last complete line of the file, cutting a torn tail if there is one. */
function recoverTail(file: string, onTorn?: (file: string, bytes: number) => void): ChainState {
  const fd = openSync(file, 'r+');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return EMPTY_CHAIN;
    const window = Math.min(size, 1 << 20);
    const buf = Buffer.alloc(window);
    readSync(fd, buf, 0, window, size - window);
    let end = buf.length;
    if (buf[end - 1] !== 0x0a) {
      const lastNl = buf.lastIndexOf(0x0a);
      const keep = lastNl === -1 ? size - window : size - window + lastNl + 1;
      ftruncateSync(fd, keep);
      onTorn?.(file, size - keep);
      if (lastNl === -1) return EMPTY_CHAIN;
      end = lastNl + 1;
    }
    const start = buf.lastIndexOf(0x0a, end - 2) + 1;
    let last: Partial<AuditEvent> | undefined;
    try {
      last = JSON.parse(buf.subarray(start, end - 1).toString('utf8')) as Partial<AuditEvent>;
    } catch {
      last = undefined;
    }
    if (!last || typeof last.seq !== 'number' || typeof last.hash !== 'string') {
      throw new TunnelwatchError('TW_ERR_AUDIT_CHAIN_RECOVERY', `the last line of ${file} is not an audit event, so the chain cannot be continued safely; check the file with \`tunnelwatch audit verify\`, then move it aside`);
    }
    return { seq: last.seq, hash: last.hash };
  } finally {
    closeSync(fd);
  }
}

export interface FileSink extends AuditSink {
  /** The chain state found on disk when the sink opened. */
  readonly recovered: ChainState;
}

export function createFileSink(options: FileSinkOptions): FileSink {
  mkdirSync(options.dir, { recursive: true, mode: 0o750 });
  const existing = listAuditFiles(options.dir, options.emitterId);
  let recovered = EMPTY_CHAIN;
  // Walk back over empty files (a crash right after rotation leaves one).
  for (let i = existing.length - 1; i >= 0 && recovered.seq === 0; i--) {
    recovered = recoverTail(existing[i] as string, options.onTornTail);
  }
  // Keep appending to the newest file after a restart; a fresh directory starts a file at the next seq.
  let activePath: string | undefined = existing.at(-1);
  let fd = -1;
  let size = 0;

  function open(path: string): void {
    fd = openSync(path, 'a', 0o640);
    size = fstatSync(fd).size;
  }

  return {
    recovered,
    write(event, line) {
      if (fd === -1 && activePath !== undefined) open(activePath);
      // Also checked right after a restart: the file appended to may already be full.
      if (fd === -1 || (size > 0 && size >= options.maxFileBytes)) {
        if (fd !== -1) closeSync(fd);
        activePath = join(options.dir, fileName(options.emitterId, event.seq));
        open(activePath);
      }
      const bytes = Buffer.from(line, 'utf8');
      try {
        // Synchronous so that a crash of the process right after the call cannot lose the event.
        let off = 0;
        while (off < bytes.length) off += writeSync(fd, bytes, off);
      } catch (err) {
        // The chain does not advance, so the same seq comes again: drop any partial line first, or the
        // retry would be glued to it and the file would hold a malformed line.
        try {
          ftruncateSync(fd, size);
        } catch {
          // Nothing more to do: a restart cuts a torn tail.
        }
        throw new TunnelwatchError('TW_ERR_AUDIT_WRITE', `${options.dir}: ${(err as Error).message}`, { cause: err });
      }
      size += bytes.length;
    },
    flush: async () => {},
    close: async () => {
      if (fd !== -1) closeSync(fd);
      fd = -1;
    },
  };
}
