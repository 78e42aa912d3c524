// Syslog over UDP (RFC 5426): one message per datagram. UDP says nothing about delivery: a datagram the
// network or a busy receiver drops is gone, and "ok" here only means the kernel sent it. Only local
// errors (no route, an ICMP port-unreachable reported on the connected socket) make a batch retryable.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from '../../../common/log.js';
import { cutSyslogMessage } from './framing.js';
import { classifySocketError, type DatagramTransport, type SendResult } from './transport.js';

export interface UdpTransportOptions {
  readonly host: string;
  readonly port: number;
  readonly maxBytes: number;
  readonly log: Logger;
}

/** A truncation warning is logged at most this often; the count is in `truncated`. */
const TRUNCATION_LOG_INTERVAL_MS = 60_000;

export class UdpTransport implements DatagramTransport {
  private socket: dgram.Socket | undefined;
  private connecting: Promise<dgram.Socket> | undefined;
  /** Messages cut to maxBytes since start. */
  truncated = 0;
  private lastTruncationLog = 0;

  constructor(private readonly options: UdpTransportOptions) {}

  async send(messages: readonly string[], signal: AbortSignal): Promise<SendResult> {
    let socket: dgram.Socket;
    try {
      socket = await this.open();
    } catch (err) {
      return classifySocketError(err as Error, 'connecting');
    }
    const sends: Promise<void>[] = [];
    for (const m of messages) {
      if (signal.aborted) return classifySocketError(new Error('the send was aborted'), 'sending');
      const message = Buffer.from(m, 'utf8');
      const datagram = cutSyslogMessage(message, this.options.maxBytes);
      if (datagram !== message) this.noteTruncation(message.length);
      sends.push(new Promise((resolve, reject) => socket.send(datagram, (err) => (err ? reject(err) : resolve()))));
    }
    try {
      await Promise.all(sends);
      return { ok: true };
    } catch (err) {
      // ECONNREFUSED here is an ICMP port-unreachable for an earlier datagram: nothing listens (yet).
      this.reset();
      return classifySocketError(err as Error, 'sending');
    }
  }

  private open(): Promise<dgram.Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    this.connecting ??= new Promise<dgram.Socket>((resolve, reject) => {
      const socket = dgram.createSocket(isIPv6(this.options.host) ? 'udp6' : 'udp4');
      socket.once('error', (err) => {
        try {
          socket.close();
        } catch {
          // never bound
        }
        reject(err);
      });
      // connect(): the kernel then reports ICMP errors for this peer, and DNS is resolved once.
      socket.connect(this.options.port, this.options.host, () => {
        socket.removeAllListeners('error');
        socket.on('error', (err) => {
          this.options.log.warn({ err: err.message }, 'syslog udp socket error');
          this.reset();
        });
        socket.unref();
        this.socket = socket;
        resolve(socket);
      });
    }).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private noteTruncation(length: number): void {
    this.truncated++;
    const now = Date.now();
    if (now - this.lastTruncationLog < TRUNCATION_LOG_INTERVAL_MS) return;
    this.lastTruncationLog = now;
    this.options.log.warn({ length, max_bytes: this.options.maxBytes, truncated_total: this.truncated }, 'syslog messages longer than udp_max_bytes are cut; use tcp or tls for complete messages');
  }

  private reset(): void {
    try {
      this.socket?.close();
    } catch {
      // closed already
    }
    this.socket = undefined;
  }

  async close(): Promise<void> {
    this.reset();
  }
}
