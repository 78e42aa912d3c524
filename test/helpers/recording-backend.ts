// A raw HTTP/1.1 backend for system tests that records every request exactly as it arrived on the wire:
// the request line and the header lines, byte for byte (latin1), before any parser could tidy them up.
// It parses just enough to find where a request ends (Content-Length or chunked body) and answers each
// one `200` with a small body, keeping the connection open, so that a second request smuggled into the
// same connection would show up as a second record.
import net from 'node:net';

export interface RecordedRequest {
  /** The request line as received, e.g. `GET /public/a HTTP/1.1`. */
  readonly line: string;
  /** Every header line as received, e.g. `x-forwarded-for: 127.0.0.1`. */
  readonly headers: string[];
  /** The body bytes (de-chunked), latin1. */
  readonly body: string;
}

export interface RecordingBackend {
  readonly port: number;
  /** Every request received so far, in arrival order. */
  requests(): RecordedRequest[];
  /** Forgets what was recorded. */
  clear(): void;
  /** Closes the server and every open connection. */
  stop(): Promise<void>;
}

export const BACKEND_BODY = 'recorded\n';

const MAX_BUFFER = 1024 * 1024;

/** The value of the first header named `name` (case-insensitive), or undefined. */
export function headerValue(headers: readonly string[], name: string): string | undefined {
  const want = name.toLowerCase();
  for (const h of headers) {
    const colon = h.indexOf(':');
    if (colon > 0 && h.slice(0, colon).trim().toLowerCase() === want) return h.slice(colon + 1).trim();
  }
  return undefined;
}

/** Every value of the headers named `name` (case-insensitive). */
export function headerValues(headers: readonly string[], name: string): string[] {
  const want = name.toLowerCase();
  const out: string[] = [];
  for (const h of headers) {
    const colon = h.indexOf(':');
    if (colon > 0 && h.slice(0, colon).trim().toLowerCase() === want) out.push(h.slice(colon + 1).trim());
  }
  return out;
}

type Parsed = { done: false } | { done: true; consumed: number; request: RecordedRequest };

/** Parses one request from the start of buf, if it is complete. */
function parseOne(buf: string): Parsed {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return { done: false };
  const lines = buf.slice(0, end).split('\r\n');
  const line = lines[0] ?? '';
  const headers = lines.slice(1);
  let pos = end + 4;
  const te = headerValue(headers, 'transfer-encoding');
  if (te !== undefined && /chunked/i.test(te)) {
    let body = '';
    for (;;) {
      const eol = buf.indexOf('\r\n', pos);
      if (eol < 0) return { done: false };
      const size = parseInt(buf.slice(pos, eol).split(';', 1)[0]!.trim(), 16);
      if (!Number.isFinite(size) || size < 0) {
        // Not chunked after all: take the rest as the body so that the connection is not stuck.
        return { done: true, consumed: buf.length, request: { line, headers, body: buf.slice(end + 4) } };
      }
      if (size === 0) {
        // Trailers, then the final CRLF.
        const fin = buf.indexOf('\r\n\r\n', eol);
        if (buf.startsWith('\r\n', eol + 2)) return { done: true, consumed: eol + 4, request: { line, headers, body } };
        if (fin < 0) return { done: false };
        return { done: true, consumed: fin + 4, request: { line, headers, body } };
      }
      if (buf.length < eol + 2 + size + 2) return { done: false };
      body += buf.slice(eol + 2, eol + 2 + size);
      pos = eol + 2 + size + 2;
    }
  }
  const cl = headerValue(headers, 'content-length');
  const length = cl === undefined ? 0 : Number(cl);
  if (!Number.isFinite(length) || length < 0) return { done: true, consumed: buf.length, request: { line, headers, body: buf.slice(pos) } };
  if (buf.length < pos + length) return { done: false };
  return { done: true, consumed: pos + length, request: { line, headers, body: buf.slice(pos, pos + length) } };
}

export async function startRecordingBackend(): Promise<RecordingBackend> {
  let recorded: RecordedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buf = '';
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      for (;;) {
        const p = parseOne(buf);
        if (!p.done) break;
        buf = buf.slice(p.consumed);
        recorded.push(p.request);
        if (!socket.destroyed) {
          socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(BACKEND_BODY)}\r\n\r\n${BACKEND_BODY}`);
        }
      }
      if (buf.length > MAX_BUFFER) socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    requests: () => [...recorded],
    clear: () => {
      recorded = [];
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
