// Newline-delimited JSON over a long-lived stream: the role channel between relay and connector (docs/ha.md).
import type { Readable } from 'node:stream';

/** A role-channel message is a few short fields; a longer line is not from a well-behaved peer. */
export const MAX_LINE_BYTES = 4096;

/**
 * Calls onMessage with each parsed line of the stream. A line that is too long or not a JSON object calls
 * onBad once and stops reading: the caller closes the channel (a peer that speaks garbage is not trusted further).
 */
export function readNdjson(stream: Readable, onMessage: (message: Record<string, unknown>) => void, onBad: (reason: string) => void): void {
  let buffered = '';
  let stopped = false;
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    if (stopped) return;
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        stopped = true;
        onBad('a line is not a JSON object');
        return;
      }
      onMessage(parsed as Record<string, unknown>);
      if (stopped) return;
    }
    if (buffered.length > MAX_LINE_BYTES) {
      stopped = true;
      onBad(`a line is longer than ${MAX_LINE_BYTES} bytes`);
    }
  });
}

export function ndjsonLine(message: object): string {
  return `${JSON.stringify(message)}\n`;
}
