// Finding the bad line of a rejected batch. The collector rejects a batch with one malformed line whole
// (400, naming the line), so the shipper sends the lines before it, then that line alone (which then
// goes to the dead letters), then full batches again. Without a usable line number it halves.

/** While set, batches have at most `limit` lines. */
export interface Isolation {
  readonly limit: number;
  /** The prefix before the named line goes first; then that line alone. */
  readonly thenSingle: boolean;
  /** Lines of the rejected batch not yet acknowledged; at 0 the search ends (the 400 did not repeat). */
  readonly remaining: number;
}

/** After a 400/413 for a batch of `lines` lines (more than one) that named `line` (1-based), if it did. */
export function isolate(lines: number, line: number | undefined): Isolation {
  if (line !== undefined && line >= 2 && line <= lines) return { limit: line - 1, thenSingle: true, remaining: lines };
  if (line === 1) return { limit: 1, thenSingle: false, remaining: lines };
  return { limit: Math.ceil(lines / 2), thenSingle: false, remaining: lines };
}

/** After a batch of `lines` lines was acknowledged while isolating. */
export function afterAck(iso: Isolation, lines: number): Isolation | undefined {
  const remaining = iso.remaining - lines;
  if (remaining <= 0) return undefined;
  return iso.thenSingle ? { limit: 1, thenSingle: false, remaining } : { ...iso, remaining };
}
