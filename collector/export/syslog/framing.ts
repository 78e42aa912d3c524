// How messages travel. TCP and TLS: octet counting (RFC 6587 §3.4.1, RFC 5425 §4.3), "MSG-LEN SP
// SYSLOG-MSG" with MSG-LEN the byte length, so a message may hold any byte, newlines included. UDP
// (RFC 5426): one message per datagram, no framing, cut to the size limit.

/** Where openFrame() places a message: after 4 digits of length and the space. */
const GUESSED_PREFIX = 5;

/**
 * One batch of octet-counted frames in a single buffer, for one write per batch. Messages come as strings
 * (encoded straight into their place: no buffer per message) or are written in place by the caller (the
 * RFC 5424 row path, rfc5424-rows.ts). The buffer grows by doubling from a capacity the caller estimates.
 */
export class FrameBuilder {
  private buf: Buffer;
  private at = 0;
  /** Frames added so far. */
  count = 0;

  constructor(capacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  addString(message: string): void {
    const n = Buffer.byteLength(message, 'utf8');
    this.lengthPrefix(n);
    this.at += this.buf.write(message, this.at, n, 'utf8');
  }

  /**
   * For a writer that fills a frame in place (rfc5424-rows.ts): makes room for a message of at most
   * maxBytes and returns where in `buffer` it must start. closeFrame(end) then adds the frame; without
   * it (the writer declined) nothing is added and the bytes written are overwritten later.
   */
  openFrame(maxBytes: number): number {
    // Room for "MSG-LEN SP" of up to 7 digits; the message goes after a guess of 4 (1,000-9,999 bytes)
    // and is moved only when its length has another number of digits.
    this.ensure(this.at + 8 + maxBytes);
    return this.at + GUESSED_PREFIX;
  }

  /** Adds the frame whose message openFrame() placed, ending at `end` (exclusive). */
  closeFrame(end: number): void {
    const start = this.at + GUESSED_PREFIX;
    const n = end - start;
    const prefix = `${n} `;
    if (prefix.length !== GUESSED_PREFIX) this.buf.copyWithin(this.at + prefix.length, start, end);
    this.buf.write(prefix, this.at, 'latin1');
    this.at += prefix.length + n;
    this.count++;
  }

  /** The buffer frames are written to (replaced when it grows: read it after openFrame). */
  get buffer(): Buffer {
    return this.buf;
  }

  /**
   * The frames so far (add nothing after taking them). A view of the builder's buffer, or a copy when
   * more than a quarter of that buffer is unused: the transport keeps recent batches for replay, counted
   * by their length, and should not hold twice that much memory behind them.
   */
  take(): Buffer {
    const frames = this.buf.subarray(0, this.at);
    return this.at * 4 < this.buf.length * 3 ? Buffer.from(frames) : frames;
  }

  /** "MSG-LEN SP", with room made for the message after it. */
  private lengthPrefix(n: number): void {
    const prefix = `${n} `;
    this.ensure(this.at + prefix.length + n);
    this.at += this.buf.write(prefix, this.at, 'latin1');
    this.count++;
  }

  private ensure(bytes: number): void {
    if (bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(bytes, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
}

/** Messages as one buffer of octet-counted frames. */
export function octetCountedFrames(messages: readonly string[]): Buffer {
  let estimate = 0;
  for (const m of messages) estimate += m.length + 8;
  const frames = new FrameBuilder(estimate);
  for (const m of messages) frames.addString(m);
  return frames.take();
}

/**
 * The longest prefix of a UTF-8 message of at most maxBytes bytes that does not split a character:
 * the cut backs off over continuation bytes (10xxxxxx) to the start of the character it would split.
 */
export function truncateUtf8(message: Buffer, maxBytes: number): Buffer {
  if (message.length <= maxBytes) return message;
  let end = maxBytes;
  while (end > 0 && ((message[end] ?? 0) & 0xc0) === 0x80) end--;
  return message.subarray(0, end);
}

const SP = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x5b;
const CLOSE = 0x5d;

/**
 * An RFC 5424 message cut to at most maxBytes bytes that still parses: truncateUtf8, then, when the cut
 * falls in the structured data, the PARAM-VALUE it falls in is closed (`"]`) or the parameter it falls in
 * dropped (`]`), and an escape cut in half (a lone trailing `\`) is dropped, in a value or in a CEF or LEEF
 * body. The receiver gets the fields before the cut, each whole or visibly shortened, instead of a
 * message its parser refuses (UDP, `udp_max_bytes`).
 */
export function cutSyslogMessage(message: Buffer, maxBytes: number): Buffer {
  if (message.length <= maxBytes) return message;
  const b = truncateUtf8(message, Math.max(0, maxBytes - 2));
  // The structured data starts after the six header fields (PRI+VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID).
  let at = 0;
  for (let spaces = 0; spaces < 6 && at < b.length; at++) if (b[at] === SP) spaces++;
  let end = b.length;
  if (b[at] === OPEN) {
    let inElement = false;
    let inValue = false;
    let elementStart = at;
    let paramEnd = -1;
    let j = at;
    for (; j < b.length; j++) {
      const c = b[j];
      if (inValue) {
        if (c === BACKSLASH) j++;
        else if (c === QUOTE) {
          inValue = false;
          paramEnd = j + 1;
        }
      } else if (inElement) {
        if (c === QUOTE) inValue = true;
        else if (c === CLOSE) inElement = false;
      } else if (c === OPEN) {
        inElement = true;
        elementStart = j;
        paramEnd = -1;
      } else break; // the space before MSG: the structured data is complete
    }
    if (inValue) {
      // j ran past the end when the last byte opened an escape: drop that backslash.
      const cut = j > b.length ? b.length - 1 : b.length;
      return Buffer.concat([b.subarray(0, cut), Buffer.from('"]')]);
    }
    if (inElement) {
      if (paramEnd > elementStart) return Buffer.concat([b.subarray(0, paramEnd), Buffer.from(']')]);
      return elementStart === at ? Buffer.concat([b.subarray(0, at), Buffer.from('-')]) : b.subarray(0, elementStart);
    }
  }
  // In the MSG (a CEF or LEEF body): an odd run of trailing backslashes ends in half an escape.
  let run = 0;
  while (run < end && b[end - 1 - run] === BACKSLASH) run++;
  if (run % 2 === 1) end--;
  return b.subarray(0, end);
}
