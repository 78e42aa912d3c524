// audit.keep_shipped_days: deletes audit files the collector has acknowledged in full, once they are old.
// Never the file the cursor is in (or any later one), never the newest, never one with dropped events
// (those were never delivered, so the file is their only copy).
import { stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { DroppedRange } from './shipper-state.js';
import { firstSeqOf, listSpoolFiles, type SpoolPosition } from './spool-reader.js';

export interface SweepOptions {
  dir: string;
  emitterId: string;
  keepDays: number;
  /** The acknowledged position: every file before its file is shipped in full. */
  position: SpoolPosition;
  dropped: readonly DroppedRange[];
  log: Logger;
  now?: number;
}

/** Returns the names deleted. */
export async function sweepShippedFiles(options: SweepOptions): Promise<string[]> {
  const files = await listSpoolFiles(options.dir, options.emitterId);
  const cutoff = (options.now ?? Date.now()) - options.keepDays * 86_400_000;
  const shipped = files.filter((f) => f < options.position.file).slice(0, files.length - 1);
  const deleted: string[] = [];
  for (const name of shipped) {
    const index = files.indexOf(name);
    const from = firstSeqOf(name, options.emitterId);
    const to = firstSeqOf(files[index + 1] as string, options.emitterId) - 1;
    if (options.dropped.some((r) => r.from_seq <= to && r.to_seq >= from)) continue;
    const path = join(options.dir, name);
    const st = await stat(path).catch(() => undefined);
    if (!st || st.mtimeMs > cutoff) continue;
    await unlink(path);
    deleted.push(name);
    options.log.info({ file: name, first_seq: from, last_seq: to }, 'deleted an audit file the collector acknowledged in full (audit.keep_shipped_days)');
  }
  return deleted;
}
