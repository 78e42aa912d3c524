// The syslog exporter: formats each record as one RFC 5424 message (message.ts) and hands the batch to
// its transport (stream-transport.ts for tcp/tls, udp-transport.ts for udp), whose verdict becomes the
// runner's outcome. It keeps no cursor and never sleeps (types.ts).
import type { Logger } from '../../../common/log.js';
import type { AuditRowBytes, DeadLetter, Exporter, ExporterBaseConfig, ExporterContext, ExportOutcome, ExportRecord, ExportStream } from '../types.js';
import type { ResolvedSyslogConfig } from './config.js';
import { FrameBuilder } from './framing.js';
import { createAuditRowWriter, createFormatter, type MessageFormatter } from './message.js';
import type { RowWriter } from './rfc5424-rows.js';
import { guardRowWriter } from '../row-binary.js';
import { StreamTransport } from './stream-transport.js';
import { tlsOptions } from './tls-options.js';
import type { SendResult } from './transport.js';
import { UdpTransport } from './udp-transport.js';

/** Room for a batch's frames to start with: a typical RFC 5424 audit message is about 1 KB. */
const FRAME_BYTES_GUESS = 1200;

export class SyslogExporter implements Exporter {
  readonly type = 'syslog';
  readonly name: string;
  readonly streams: readonly ExportStream[];
  readonly batchSize: number;
  /**
   * TCP and TLS: two sends at once, so the next batch is formatted and written while the last one waits
   * out confirm_ms (the transport writes one batch at a time). UDP has nothing to wait for.
   */
  readonly maxInFlight: number;
  private readonly format: MessageFormatter;
  /** RFC 5424 audit records from their stored bytes (tcp, tls); undefined for CEF, LEEF and udp. */
  private readonly writeRow: RowWriter | undefined;
  private readonly log: Logger;
  private transport: StreamTransport | UdpTransport | undefined;

  constructor(
    base: ExporterBaseConfig,
    private readonly config: ResolvedSyslogConfig,
    private readonly context: ExporterContext,
  ) {
    this.name = base.name;
    this.streams = base.streams;
    this.batchSize = base.batch_size;
    this.maxInFlight = config.transport === 'udp' ? 1 : 2;
    this.format = createFormatter(config);
    this.log = context.log.child({ component: 'export.syslog', exporter: base.name });
    const rows = config.transport === 'udp' ? undefined : createAuditRowWriter(config);
    this.writeRow = rows && guardRowWriter(rows, false, (err) =>
      this.log.warn({ err }, 'syslog: an audit row could not be written from its bytes; writing such rows from the decoded event (logged once)'));
  }

  async start(): Promise<void> {
    const c = this.config;
    const tls = c.transport === 'tls' ? tlsOptions(c, this.context.configFile, `exporters.${this.name}`) : undefined;
    if (this.transport) {
      // A restart after a failure: keep the transport (and what it has to replay), take the files anew.
      if (tls && this.transport instanceof StreamTransport) this.transport.updateTls(tls);
      return;
    }
    if (c.transport === 'udp') {
      this.log.warn({ host: c.host, port: c.port }, 'syslog over udp: messages can be lost without notice and long ones are cut (udp_max_bytes); use tls or tcp for at-least-once delivery');
      this.transport = new UdpTransport({ host: c.host, port: c.port, maxBytes: c.udp_max_bytes, log: this.log });
      return;
    }
    this.transport = new StreamTransport({
      host: c.host,
      port: c.port,
      tls,
      connectTimeoutMs: c.connect_timeout_ms,
      writeTimeoutMs: c.write_timeout_ms,
      confirmMs: c.confirm_ms,
      replayWindowMs: c.replay_window_ms,
      log: this.log,
    });
  }

  async send(records: readonly ExportRecord[], signal: AbortSignal): Promise<ExportOutcome> {
    if (!this.transport) await this.start();
    const transport = this.transport as StreamTransport | UdpTransport;
    const dead: DeadLetter[] = [];
    const unwritable = (r: ExportRecord, err: unknown): void => {
      // Only a record the store handed over malformed gets here; sending it again would fail again.
      dead.push({ id: r.id, reason: `cannot be written as a syslog message: ${(err as Error).message}` });
    };
    let result: SendResult;
    if (transport instanceof UdpTransport) {
      const messages: string[] = [];
      for (const r of records) {
        try {
          messages.push(this.format(r));
        } catch (err) {
          unwritable(r, err);
        }
      }
      if (messages.length === 0) return { status: 'success', ...(dead.length ? { dead } : {}) };
      result = await transport.send(messages, signal);
    } else {
      const frames = new FrameBuilder(records.length * FRAME_BYTES_GUESS);
      for (const r of records) {
        if (r.stream === 'audit' && r.row !== undefined && this.fromRow(r.row, frames)) continue;
        try {
          frames.addString(this.format(r));
        } catch (err) {
          unwritable(r, err);
        }
      }
      if (frames.count === 0) return { status: 'success', ...(dead.length ? { dead } : {}) };
      result = await transport.send(frames.take(), signal);
    }
    if (result.ok) return { status: 'success', ...(dead.length ? { dead } : {}) };
    if (!result.retryable) return { status: 'failure', reason: result.reason };
    const deadIds = new Set(dead.map((d) => d.id));
    return {
      status: 'retryable',
      reason: result.reason,
      ...(dead.length ? { dead, pending: records.filter((r) => !deadIds.has(r.id)).map((r) => r.id) } : {}),
    };
  }

  /** The row path; false (nothing written) when there is none or it declines, and the string path must write the record. */
  private fromRow(row: AuditRowBytes, frames: FrameBuilder): boolean {
    return this.writeRow !== undefined && this.writeRow(row, frames);
  }

  async close(): Promise<void> {
    await this.transport?.close();
  }
}
