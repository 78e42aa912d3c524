// spool_full: drop_oldest: which of the oldest unshipped events to give up so that the spool is back
// within its bound. They stay in the audit files; the shipper records the range and counts it.
import type { DroppedRange } from './shipper-state.js';
import { listSpoolFiles, scanLines, seqOfLine, type SpoolLimit, type SpoolPosition } from './spool-reader.js';

export interface DropSelection {
  readonly range: DroppedRange;
  /** The position after the last event given up. */
  readonly end: SpoolPosition;
}

/** The oldest whole events after `from` that add up to at least `bytes`; undefined if none can be read. */
export async function selectOldest(dir: string, emitterId: string, from: SpoolPosition, limit: SpoolLimit, bytes: number): Promise<DropSelection | undefined> {
  const files = await listSpoolFiles(dir, emitterId);
  let taken = 0;
  let firstSeq: number | undefined;
  const scan = await scanLines(dir, files, from, limit, (line) => {
    if (taken >= bytes) return false;
    if (firstSeq === undefined) firstSeq = seqOfLine(line);
    taken += line.length;
    return true;
  });
  if (scan.lines === 0) return undefined;
  return {
    range: { ts: new Date().toISOString(), from_seq: firstSeq ?? from.seq + 1, to_seq: scan.end.seq, events: scan.lines, bytes: scan.bytes },
    end: scan.end,
  };
}
