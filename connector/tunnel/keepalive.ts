// HTTP/2 PING keepalive, used by both ends of the tunnel.
import type http2 from 'node:http2';

/** PINGs every interval; calls onDead when two intervals pass without an answer. Returns a stop function. */
export function keepalive(h2: http2.Http2Session, intervalMs: number, onRtt: (ms: number) => void, onDead: () => void): () => void {
  let lastAck = Date.now();
  const timer = setInterval(() => {
    if (h2.destroyed || h2.closed) return;
    if (Date.now() - lastAck > 2 * intervalMs + 50) {
      onDead();
      return;
    }
    try {
      h2.ping((err, duration) => {
        if (!err) {
          lastAck = Date.now();
          onRtt(duration);
        }
      });
    } catch {
      // Too many pings in flight: the peer is not answering; the deadline above closes the session.
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
