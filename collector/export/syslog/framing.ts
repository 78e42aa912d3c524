// How messages travel. TCP and TLS: octet counting (RFC 6587 §3.4.1, RFC 5425 §4.3), "MSG-LEN SP
// SYSLOG-MSG" with MSG-LEN the byte length, so a message may hold any byte, newlines included. UDP
// (RFC 5426): one message per datagram, no framing, cut to the size limit.

/**
 * One batch of messages as a single buffer of octet-counted frames, for one write per batch. (Encoding
 * each message on its own and concatenating measured several times faster than building one batch
 * string: V8 flattens the rope of a long concatenation slowly.)
 */
export function octetCountedFrames(messages: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of messages) {
    const bytes = Buffer.from(m, 'utf8');
    parts.push(Buffer.from(`${bytes.length} `, 'latin1'), bytes);
  }
  return Buffer.concat(parts);
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
