// A batch: the lines read from the spool for one POST, with where they start and end in the files.
import { listSpoolFiles, scanLines, type SpoolLimit, type SpoolPosition } from './spool-reader.js';

export interface Batch {
  readonly start: SpoolPosition;
  readonly end: SpoolPosition;
  readonly lines: number;
  /** File bytes the lines span (what acknowledging them takes off the spool). */
  readonly fileBytes: number;
  /** The NDJSON lines as they are in the files. */
  readonly body: Buffer;
  /** The line limit it was read with. */
  readonly maxLines: number;
  readonly readAt: number;
  /** It stopped at a limit (events or bytes), not at the end of what was kept. */
  readonly full: boolean;
}

export interface BatchRead {
  dir: string;
  emitterId: string;
  from: SpoolPosition;
  limit: SpoolLimit;
  maxLines: number;
  /** A single line larger than this still makes a batch of its own. */
  maxBytes: number;
}

export async function readBatch(r: BatchRead): Promise<Batch> {
  const files = await listSpoolFiles(r.dir, r.emitterId);
  const lines: Buffer[] = [];
  let bytes = 0;
  const readAt = Date.now();
  const scan = await scanLines(r.dir, files, r.from, r.limit, (line) => {
    if (lines.length >= r.maxLines || (lines.length > 0 && bytes + line.length > r.maxBytes)) return false;
    lines.push(line);
    bytes += line.length;
    return true;
  });
  return { start: r.from, end: scan.end, lines: lines.length, fileBytes: scan.bytes, body: Buffer.concat(lines, bytes), maxLines: r.maxLines, readAt, full: scan.stopped };
}
