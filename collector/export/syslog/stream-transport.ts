// Syslog over TCP or TLS with octet-counting framing, and what "delivered" can honestly mean there.
//
// TCP has no application acknowledgement: bytes the kernel accepted may still die in the receiver's
// socket buffer when it restarts. So a batch counts as delivered only when (1) all its bytes were handed
// to the kernel, and (2) the connection then stayed healthy for confirm_ms (a receiver that went away
// answers our bytes with a reset within a round trip). Any connection error before that makes the whole
// batch retryable. And because a receiver can still close after that window with our last bytes unread,
// batches written in the last replay_window_ms are kept and written again, first, on the next
// connection whenever a connection fails. Both together give at least once; the price is duplicates,
// which carry the event id so the SIEM can drop them (docs/siem-syslog.md, "Delivery").
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../../../common/log.js';
import { classifySocketError, type FramedTransport, type SendResult } from './transport.js';

export interface StreamTransportOptions {
  readonly host: string;
  readonly port: number;
  /** Present for TLS. */
  readonly tls?: tls.ConnectionOptions;
  readonly connectTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly confirmMs: number;
  readonly replayWindowMs: number;
  readonly log: Logger;
  readonly now?: () => number;
}

/** Replay is bounded by time and by bytes, whichever is less. */
export const REPLAY_MAX_BYTES = 64 * 1024 * 1024;

interface Connection {
  readonly socket: net.Socket;
  failure: Error | undefined;
  /** Called once when the connection fails (a set, not a promise: a promise would keep one reaction per batch). */
  readonly waiters: Set<(err: Error) => void>;
}

export class StreamTransport implements FramedTransport {
  private conn: Connection | undefined;
  /** Batches written lately, kept to be written again if the connection turns out to have failed. */
  private recent: { at: number; data: Buffer }[] = [];
  private recentBytes = 0;
  /** Written again first on the next connection. */
  private replay: Buffer[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly now: () => number;
  private tls: tls.ConnectionOptions | undefined;

  constructor(private readonly options: StreamTransportOptions) {
    this.now = options.now ?? Date.now;
    this.tls = options.tls;
  }

  /** New TLS options (files read again) for the next connection; what waits to be replayed is kept. */
  updateTls(options: tls.ConnectionOptions): void {
    this.tls = options;
  }

  /** Bytes waiting to be written again on the next connection (for tests and health). */
  get replayBytes(): number {
    return this.replay.reduce((n, b) => n + b.length, 0);
  }

  send(frames: Buffer, signal: AbortSignal): Promise<SendResult> {
    // One write at a time on one connection: frames of two batches must never interleave. The wait of
    // confirm_ms is outside that order, so the next batch is written while this one is being confirmed
    // (the runner keeps two sends in flight: maxInFlight).
    const written = this.queue.then(() => this.writeNow(frames, signal));
    this.queue = written.catch(() => undefined);
    return written.then((w) => ('ok' in w ? w : this.confirm(w, signal)));
  }

  /** Connects if needed and hands the batch to the kernel; the connection it went out on, or why not. */
  private async writeNow(frames: Buffer, signal: AbortSignal): Promise<SendResult | Connection> {
    if (this.closed) return { ok: false, retryable: true, reason: 'the exporter is closing' };
    if (signal.aborted) return classifySocketError(new Error('the send was aborted'), 'sending');
    let conn = this.conn;
    if (!conn) {
      try {
        conn = await this.connect(signal);
      } catch (err) {
        return classifySocketError(err as Error, 'connecting');
      }
      // TLS 1.3: the receiver judges our client certificate only after our side of the handshake is
      // done, so its refusal arrives a round trip later. Wait for it before writing anything.
      if (this.options.confirmMs > 0) await new Promise((r) => setTimeout(r, this.options.confirmMs).unref());
      if (conn.failure) return classifySocketError(conn.failure, 'connecting');
    }
    const data = this.replay.length > 0 ? Buffer.concat([...this.replay, frames]) : frames;
    const failure = await this.write(conn, data, signal);
    if (failure) return failure;
    // In the kernel: kept with the recent batches from now on, so a connection that fails while this
    // batch (or a later one) is confirmed writes it again on the next connection.
    this.replay = [];
    this.remember(data);
    return conn;
  }

  /** Hands data to the kernel within write_timeout_ms; undefined when it did, else the failed outcome. */
  private async write(conn: Connection, data: Buffer, signal: AbortSignal): Promise<SendResult | undefined> {
    const outcome = await this.watch(conn, signal, `the receiver took in nothing for ${this.options.writeTimeoutMs} ms (write_timeout_ms)`, this.options.writeTimeoutMs, (resolve) => {
      conn.socket.write(data, (err) => resolve(err ?? conn.failure));
    });
    return outcome === undefined ? undefined : this.failed(conn, outcome);
  }

  /** The batch counts as delivered when the connection it went out on stays healthy for confirm_ms. */
  private async confirm(conn: Connection, signal: AbortSignal): Promise<SendResult> {
    const { confirmMs } = this.options;
    const outcome = confirmMs === 0
      ? conn.failure
      : await this.watch(conn, signal, 'the confirmation never ended', confirmMs + this.options.writeTimeoutMs, (resolve) => {
        setTimeout(() => resolve(conn.failure), confirmMs).unref();
      });
    return outcome === undefined && conn.failure === undefined ? { ok: true } : this.failed(conn, outcome ?? conn.failure ?? new Error('connection failed'));
  }

  /**
   * Runs `start` and resolves with what it reports, or earlier with the connection's failure, the abort
   * of the send, or a timeout after timeoutMs; undefined means all went well.
   */
  private async watch(conn: Connection, signal: AbortSignal, timeoutReason: string, timeoutMs: number, start: (resolve: (err: Error | undefined) => void) => void): Promise<Error | undefined> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    let onFail: ((err: Error) => void) | undefined;
    const outcome = await new Promise<Error | undefined>((resolve) => {
      if (conn.failure) return resolve(conn.failure);
      timer = setTimeout(() => resolve(new Error(timeoutReason)), timeoutMs);
      timer.unref();
      onAbort = () => resolve(new Error('the send was aborted'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      onFail = resolve;
      conn.waiters.add(onFail);
      start(resolve);
    });
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
    if (onFail) conn.waiters.delete(onFail);
    return outcome;
  }

  /** Whatever of this batch reached the receiver is unknown: drop the connection, resend it all. */
  private failed(conn: Connection, err: Error): SendResult {
    this.fail(conn, err);
    return classifySocketError(err, 'sending');
  }

  private connect(signal: AbortSignal): Promise<Connection> {
    const { host, port, connectTimeoutMs } = this.options;
    return new Promise((resolve, reject) => {
      const socket = this.tls ? tls.connect({ ...this.tls, host, port }) : net.connect({ host, port });
      const event = this.tls ? 'secureConnect' : 'connect';
      const done = (err?: Error) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.off(event, onUp);
        socket.off('error', done);
        if (err) {
          socket.destroy();
          return reject(err);
        }
        resolve(this.adopt(socket));
      };
      const onUp = () => done();
      const onAbort = () => done(new Error('the send was aborted'));
      const timer = setTimeout(() => done(new Error(`no connection after ${connectTimeoutMs} ms (connect_timeout_ms)`)), connectTimeoutMs);
      timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once(event, onUp);
      socket.once('error', done);
    });
  }

  /** Watches a fresh connection for the rest of its life: any sign of the receiver leaving ends it. */
  private adopt(socket: net.Socket): Connection {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    const conn: Connection = { socket, failure: undefined, waiters: new Set() };
    const fail = (err: Error) => {
      if (conn.failure) return;
      conn.failure = err;
      for (const wake of conn.waiters) wake(err);
      this.fail(conn, err);
    };
    socket.on('error', fail);
    // A syslog receiver never sends: data or an end means it is going away (or is not a syslog receiver).
    socket.on('data', () => fail(new Error('the receiver sent data, which a syslog receiver never does')));
    socket.on('end', () => fail(new Error('the receiver closed the connection')));
    socket.on('close', () => fail(new Error('the connection closed')));
    this.conn = conn;
    this.options.log.info({ host: this.options.host, port: this.options.port, replay_bytes: this.replayBytes }, 'syslog connection up');
    return conn;
  }

  /** Ends a failed connection once, and queues what was written on it lately for the next one. */
  private fail(conn: Connection, err: Error): void {
    if (!conn.failure) {
      conn.failure = err;
    }
    if (this.conn !== conn) return;
    this.conn = undefined;
    conn.socket.destroy();
    if (this.closed) return;
    const since = this.now() - this.options.replayWindowMs;
    const again = this.options.replayWindowMs > 0 ? this.recent.filter((r) => r.at >= since).map((r) => r.data) : [];
    this.replay = [...again, ...this.replay];
    this.recent = [];
    this.recentBytes = 0;
    this.options.log.warn({ err: err.message, replay_bytes: this.replayBytes }, 'syslog connection lost; recent batches will be written again on the next connection');
  }

  private remember(data: Buffer): void {
    if (this.options.replayWindowMs === 0) return;
    const now = this.now();
    this.recent.push({ at: now, data });
    this.recentBytes += data.length;
    const since = now - this.options.replayWindowMs;
    while (this.recent.length > 0 && ((this.recent[0]?.at ?? now) < since || this.recentBytes > REPLAY_MAX_BYTES)) {
      this.recentBytes -= this.recent.shift()?.data.length ?? 0;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    // end() sends what is buffered and a FIN (TLS: close_notify); destroy if the receiver does not answer.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        conn.socket.destroy();
        resolve();
      }, 2000);
      timer.unref();
      conn.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      conn.socket.end();
    });
  }
}
