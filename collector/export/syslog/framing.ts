// How messages travel. TCP and TLS: octet counting (RFC 6587 §3.4.1, RFC 5425 §4.3), "MSG-LEN SP
// SYSLOG-MSG" with MSG-LEN the byte length, so a message may hold any byte, newlines included. UDP
// (RFC 5426): one message per datagram, no framing, cut to the size limit.

/**
 * One batch of messages as a single buffer of octet-counted frames, for one write per batch: the byte
 * lengths first, then one allocation, and each message encoded straight into its place (no buffer per
 * message and no copy of the whole batch; building one batch string measured slower still, as V8
 * flattens the rope of a long concatenation slowly).
 */
export function octetCountedFrames(messages: readonly string[]): Buffer {
  const lengths = new Array<number>(messages.length);
  let total = 0;
  for (let i = 0; i < messages.length; i++) {
    const n = Buffer.byteLength(messages[i] as string, 'utf8');
    lengths[i] = n;
    total += n + String(n).length + 1;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < messages.length; i++) {
    at += out.write(`${lengths[i] as number} `, at, 'latin1');
    at += out.write(messages[i] as string, at, 'utf8');
  }
  return out;
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
