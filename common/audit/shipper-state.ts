// The shipper's own files in the audit dir: its cursor, its dead letters and its record of dropped
// events. Each write is fsynced before the shipper acts on it, so a crash never loses what they say.
import { readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { positionAfterSeq, seqEndingAt, SPOOL_START, type SpoolPosition } from './spool-reader.js';

export function cursorPath(dir: string, emitterId: string): string {
  return join(dir, `shipper-${emitterId}.cursor`);
}

export function deadLetterPath(dir: string, emitterId: string): string {
  return join(dir, `dead-letter-${emitterId}.ndjson`);
}

export function droppedPath(dir: string, emitterId: string): string {
  return join(dir, `shipper-${emitterId}.dropped`);
}

/** A range of events given up by `spool_full: drop_oldest`: never delivered, still in the audit files. */
export interface DroppedRange {
  readonly ts: string;
  readonly from_seq: number;
  readonly to_seq: number;
  readonly events: number;
  readonly bytes: number;
}

export type CursorLoad = { ok: true; position: SpoolPosition } | { ok: false; reason: string };

/** The last acknowledged position, or why there is none (no file yet: the start). */
export function loadCursor(dir: string, emitterId: string): CursorLoad {
  let text: string;
  try {
    text = readFileSync(cursorPath(dir, emitterId), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, position: SPOOL_START };
    return { ok: false, reason: (err as Error).message };
  }
  try {
    const c = JSON.parse(text) as Partial<SpoolPosition>;
    if (typeof c.seq === 'number' && typeof c.file === 'string' && typeof c.offset === 'number' && c.seq >= 0 && c.offset >= 0) {
      return { ok: true, position: { file: c.file, offset: c.offset, seq: c.seq } };
    }
  } catch {
    // Falls through.
  }
  return { ok: false, reason: `not a cursor: ${JSON.stringify(text.slice(0, 200))}` };
}

/**
 * Where shipping resumes: the cursor, checked against the files (the line ending at its offset has its
 * seq), else found by reading; the whole spool again if the cursor is unreadable. `warning` says why
 * it is not simply the cursor.
 */
export function resumePosition(dir: string, emitterId: string, files: readonly string[]): { position: SpoolPosition; cursor?: SpoolPosition; warning?: string } {
  const loaded = loadCursor(dir, emitterId);
  if (!loaded.ok) return { position: SPOOL_START, warning: `the shipper cursor is unreadable (${loaded.reason}); shipping every audit file again (the store drops duplicates)` };
  const c = loaded.position;
  if (c.file === '' && c.seq === 0) return { position: c };
  if (files.includes(c.file) && (c.offset === 0 || seqEndingAt(join(dir, c.file), c.offset) === c.seq)) return { position: c };
  return {
    position: positionAfterSeq(dir, emitterId, c.seq),
    cursor: c,
    warning: 'the shipper cursor does not match the audit files (moved, cut or restored?); resuming after its seq as found in the files',
  };
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory.
  } finally {
    await handle.close();
  }
}

/** Temp file, fsync, rename, fsync of the directory: after a crash the cursor is the old one or the new one. */
export async function saveCursor(dir: string, emitterId: string, position: SpoolPosition): Promise<void> {
  const path = cursorPath(dir, emitterId);
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, 'w', 0o640);
  try {
    await handle.writeFile(`${JSON.stringify({ seq: position.seq, file: position.file, offset: position.offset, updated: new Date().toISOString() })}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  await fsyncDir(dir);
}

async function appendSynced(path: string, data: Buffer | string): Promise<void> {
  const handle = await open(path, 'a', 0o640);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Appends a line as it was in the audit file, so it can be fixed and loaded again (`tunnelwatch ingest`). */
export async function appendDeadLetter(dir: string, emitterId: string, line: Buffer): Promise<void> {
  await appendSynced(deadLetterPath(dir, emitterId), line[line.length - 1] === 0x0a ? line : Buffer.concat([line, Buffer.from('\n')]));
}

export async function appendDropped(dir: string, emitterId: string, range: DroppedRange): Promise<void> {
  await appendSynced(droppedPath(dir, emitterId), `${JSON.stringify(range)}\n`);
}

export function loadDropped(dir: string, emitterId: string): DroppedRange[] {
  let text: string;
  try {
    text = readFileSync(droppedPath(dir, emitterId), 'utf8');
  } catch {
    return [];
  }
  const out: DroppedRange[] = [];
  for (const line of text.split('\n')) {
    try {
      const r = JSON.parse(line) as DroppedRange;
      if (typeof r.from_seq === 'number' && typeof r.to_seq === 'number') out.push(r);
    } catch {
      // A torn last line from a crash: that drop was not acted on (the cursor is saved after it).
    }
  }
  return out;
}
