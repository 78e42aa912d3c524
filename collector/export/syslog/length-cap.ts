// Length caps of CEF and LEEF fields (docs/siem-syslog.md, "Field lengths"). ArcSight stores each
// dictionary field in a column of fixed length and QRadar each normalised one, and both cut a longer
// value without a word: the SIEM would hold a value other than the one we believe we sent, and the cut
// could fall inside an escape. So the exporter cuts first, on the unescaped value and before escaping
// (an escape is never cut in half), marks the cut, and names the fields it cut.

/**
 * Put at the end of a value that was cut. Three ASCII dots rather than '…': a cut leaves an all-ASCII
 * message all-ASCII, so `bom: auto` does not start sending a BOM for it, and a receiver that counts
 * UTF-8 bytes gets no more than it counts characters.
 */
export const CUT_MARK = '...';

/**
 * `value` in at most `max` UTF-16 code units, what Java's String.length() counts (ArcSight and QRadar are
 * Java; for text without emoji it is the number of characters): unchanged when it fits, else its start
 * followed by CUT_MARK. Never ends between the two halves of a surrogate pair (an emoji).
 */
export function capLength(value: string, max: number): string {
  if (value.length <= max) return value;
  const mark = max > CUT_MARK.length ? CUT_MARK : '';
  let end = max - mark.length;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return value.slice(0, end) + mark;
}
