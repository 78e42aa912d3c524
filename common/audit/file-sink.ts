// Rotating NDJSON audit files, one series per emitter: <dir>/audit-<emitter_id>-<first seq>.ndjson.
// Naming files by their first seq keeps `ls` order equal to chain order, and lets a restart find the
// tail of the chain by reading only the newest file.
import { closeSync, fdatasync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent } from './event.js';
import { EMPTY_CHAIN, type ChainState } from './hash-chain.js';
import type { AuditSink } from './sink.js';
import { TunnelwatchError } from '../errors.js';

/**
 * When written events count as kept (audit.fsync): `batch` after an fdatasync of each group commit,
 * `interval` once written, with an fdatasync at most every fsyncIntervalMs, `never` once written (the
 * OS flushes when it likes).
 */
export type FsyncPolicy = 'batch' | 'interval' | 'never';

/** How far the files hold kept events; `total` counts every byte kept since the sink opened. */
export interface KeptMark {
  /** Full path of the file the last kept event is in. */
  readonly file: string;
  /** Bytes of that file that are kept. */
  readonly size: number;
  /** seq of the last kept event. */
  readonly seq: number;
  readonly total: number;
}

export interface FileSinkOptions {
  dir: string;
  emitterId: string;
  /** Rotate once the active file reaches this many bytes. */
  maxFileBytes: number;
  /** Default 'never' (the OS decides); the config default is 'batch'. */
  fsync?: FsyncPolicy;
  /** For fsync 'interval' (ms). */
  fsyncIntervalMs?: number;
  /** Events up to this mark count as kept by the fsync policy; marks only grow. The shipper follows it. */
  onKept?: (mark: KeptMark) => void;
  /** Called when a torn (partial) last line from a crash is cut off at start-up. */
  onTornTail?: (file: string, bytes: number) => void;
  /** The disk refused a write; events are held and retried every second. */
  onFailure?: (err: Error, pendingEvents: number) => void;
  /** Writes succeed again after a failure. */
  onRecovered?: () => void;
  /** Events dropped because too many were held while the disk refused writes (total so far). */
  onDrop?: (dropped: number) => void;
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

/** Events held in memory while the disk refuses writes; beyond this the newest are dropped and counted. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** A batch this large is written at once rather than at the end of the event-loop turn. */
const FLUSH_BYTES = 1024 * 1024;
const RETRY_MS = 1000;

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

  // Group commit: events of one event-loop turn go out in one write. A write per event cost more than
  // everything else the connector does per call (a syscall on this kind of VM is several µs).
  let pending: { seq: number; bytes: Buffer }[] = [];
  let pendingBytes = 0;
  let scheduled = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let failure: Error | undefined;
  let dropped = 0;

  // fsync policy. Marks are cumulative, so an old mark that arrives late (an fdatasync that finished
  // after a rotation synced more) is simply ignored.
  const policy = options.fsync ?? 'never';
  const intervalMs = options.fsyncIntervalMs ?? 1000;
  let writtenMark: KeptMark = { file: activePath ?? '', size: 0, seq: recovered.seq, total: 0 };
  let keptTotal = 0;
  let syncInFlight: Promise<void> | undefined;
  let syncFd = -1;
  let syncAgain = false;
  /** fd retired by a rotation while an fdatasync on it was still running: closed when that ends. */
  let closeAfterSync = -1;
  let syncTimer: NodeJS.Timeout | undefined;
  let lastSyncAt = 0;
  let syncFailure: Error | undefined;

  function keep(mark: KeptMark): void {
    if (mark.total <= keptTotal) return;
    keptTotal = mark.total;
    try {
      options.onKept?.(mark);
    } catch {
      // The follower's fault, not the disk's: the events are in the file, so no retry here.
    }
  }

  function noteSyncResult(err: Error | null): void {
    if (err) {
      const first = syncFailure === undefined && failure === undefined;
      syncFailure = new TunnelwatchError('TW_ERR_AUDIT_WRITE', `fdatasync in ${options.dir}: ${err.message}`, { cause: err });
      if (first) options.onFailure?.(syncFailure, 0);
      return;
    }
    if (syncFailure && failure === undefined) options.onRecovered?.();
    syncFailure = undefined;
  }

  /**
   * fdatasync off the event loop (one costs ~2 ms here, far more than the calls of a turn), at most one
   * at a time: writes that land meanwhile are covered by the next one, so fsyncs group like writes do.
   */
  function startSync(): void {
    if (fd === -1) return;
    if (syncInFlight) {
      syncAgain = true;
      return;
    }
    const target = fd;
    syncFd = fd;
    const mark = writtenMark;
    syncInFlight = new Promise((resolve) => {
      fdatasync(target, (err) => {
        syncInFlight = undefined;
        syncFd = -1;
        if (closeAfterSync === target) {
          closeAfterSync = -1;
          try {
            closeSync(target);
          } catch {
            // Already closed.
          }
        }
        lastSyncAt = Date.now();
        noteSyncResult(err);
        if (err) scheduleSync(RETRY_MS);
        else if (policy === 'batch') keep(mark);
        if (syncAgain) {
          syncAgain = false;
          if (policy === 'batch') startSync();
          else scheduleSync(Math.max(0, lastSyncAt + intervalMs - Date.now()));
        }
        resolve();
      });
    });
  }

  function scheduleSync(delayMs: number): void {
    if (syncTimer) return;
    syncTimer = setTimeout(() => {
      syncTimer = undefined;
      startSync();
    }, delayMs);
    syncTimer.unref();
  }

  /** Written events: kept now, or once an fdatasync covers them. */
  function committed(): void {
    if (policy === 'never') keep(writtenMark);
    else if (policy === 'interval') {
      keep(writtenMark);
      // While a sync runs, lastSyncAt is the one before it: a delay worked out from it would start the
      // next sync as soon as this one ends. Its end schedules the next, an interval later, instead.
      if (syncInFlight) syncAgain = true;
      else scheduleSync(Math.max(0, lastSyncAt + intervalMs - Date.now()));
    } else startSync();
  }

  /** Syncs and closes the active file before a rotation or at close; rare, so synchronous. */
  function retire(): void {
    try {
      if (policy !== 'never') fdatasyncSync(fd);
      noteSyncResult(null);
      keep(writtenMark);
    } catch (err) {
      noteSyncResult(err as Error);
    }
    closeFd(fd);
    fd = -1;
  }

  /** Closes fd, or leaves that to the running fdatasync on it (closing under it could hit a reused fd). */
  function closeFd(target: number): void {
    if (syncInFlight && syncFd === target) closeAfterSync = target;
    else closeSync(target);
  }

  /** A new file's name must survive a power loss too, or its events would. */
  function syncDir(): void {
    if (policy === 'never') return;
    let dfd = -1;
    try {
      dfd = openSync(options.dir, 'r');
      fsyncSync(dfd);
    } catch {
      // Some file systems refuse fsync on a directory; the file's own fdatasync still holds.
    } finally {
      if (dfd !== -1) closeSync(dfd);
    }
  }

  function open(path: string): void {
    fd = openSync(path, 'a', 0o640);
    size = fstatSync(fd).size;
  }

  /** Writes buffers to the open file; on failure cuts what part of them got in, and throws. */
  function writeAll(buffers: Buffer[], lastSeq: number): void {
    if (buffers.length === 0) return;
    const data = buffers.length === 1 ? (buffers[0] as Buffer) : Buffer.concat(buffers);
    try {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off);
    } catch (err) {
      try {
        ftruncateSync(fd, size);
      } catch {
        // Nothing more to do: a restart cuts a torn tail.
      }
      throw err;
    }
    size += data.length;
    writtenMark = { file: activePath as string, size, seq: lastSeq, total: writtenMark.total + data.length };
  }

  function flushNow(): void {
    scheduled = false;
    if (pending.length === 0) return;
    let written = 0;
    try {
      if (fd === -1 && activePath !== undefined) open(activePath);
      let chunk: Buffer[] = [];
      let chunkBytes = 0;
      let chunkEvents = 0;
      let chunkSeq = 0;
      for (const entry of pending) {
        // Rotation at event boundaries, checked also right after a restart (the file may be full).
        if (fd === -1 || size + chunkBytes >= options.maxFileBytes) {
          if (fd !== -1) {
            writeAll(chunk, chunkSeq);
            written += chunkEvents;
            retire();
          }
          chunk = [];
          chunkBytes = 0;
          chunkEvents = 0;
          activePath = join(options.dir, fileName(options.emitterId, entry.seq));
          open(activePath);
          syncDir();
        }
        chunk.push(entry.bytes);
        chunkBytes += entry.bytes.length;
        chunkEvents++;
        chunkSeq = entry.seq;
      }
      writeAll(chunk, chunkSeq);
      committed();
      pending = [];
      pendingBytes = 0;
      if (failure) options.onRecovered?.();
      failure = undefined;
    } catch (err) {
      // Reopen on the next attempt: the file may have been replaced, or its volume remounted.
      if (fd !== -1) {
        try {
          closeFd(fd);
        } catch {
          // Already unusable.
        }
        fd = -1;
      }
      pending = pending.slice(written);
      pendingBytes = pending.reduce((n, e) => n + e.bytes.length, 0);
      const first = failure === undefined;
      failure = new TunnelwatchError('TW_ERR_AUDIT_WRITE', `${options.dir}: ${(err as Error).message}`, { cause: err });
      if (first) options.onFailure?.(failure, pending.length);
      if (!retryTimer) {
        retryTimer = setTimeout(() => {
          retryTimer = undefined;
          flushNow();
        }, RETRY_MS);
        retryTimer.unref();
      }
    }
  }

  return {
    recovered,
    get healthy() {
      return failure === undefined && syncFailure === undefined;
    },
    get unhealthyReason() {
      if (failure) return 'the audit disk refuses writes';
      return syncFailure ? 'the audit disk fails to flush (fdatasync)' : undefined;
    },
    get dropped() {
      return dropped;
    },
    write(event, line) {
      if (pendingBytes >= MAX_PENDING_BYTES) {
        dropped++;
        if (dropped === 1 || dropped % 10_000 === 0) options.onDrop?.(dropped);
        return;
      }
      const bytes = Buffer.from(line, 'utf8');
      pending.push({ seq: event.seq, bytes });
      pendingBytes += bytes.length;
      if (pendingBytes >= FLUSH_BYTES) flushNow();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flushNow);
      }
    },
    flush: async () => flushNow(),
    writeNow: () => {
      flushNow();
      return pending.length === 0;
    },
    close: async () => {
      flushNow();
      if (retryTimer) clearTimeout(retryTimer);
      if (syncTimer) clearTimeout(syncTimer);
      syncTimer = undefined;
      await syncInFlight;
      if (fd !== -1) retire();
      if (pending.length > 0) {
        throw new TunnelwatchError('TW_ERR_AUDIT_WRITE', `${pending.length} audit events could not be written to ${options.dir}: ${failure?.message ?? ''}`);
      }
    },
  };
}
