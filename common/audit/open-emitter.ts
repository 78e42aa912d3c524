// Builds an emitter's audit pipeline from its config section: rotating files (the spool), optional
// stdout, and, with audit.collector, the shipper that delivers the files to the collector.
import { readFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import { resolveFrom } from '../config/load-config.js';
import type { AuditConfig } from '../config/schema-parts.js';
import { TunnelwatchError } from '../errors.js';
import { AuditEmitter } from './emitter.js';
import type { Emitter } from './event.js';
import { createFileSink, type FileSink } from './file-sink.js';
import { createShipper, type Shipper } from './shipper.js';
import { createStdoutSink, type AuditSink } from './sink.js';

/** On a normal stop the shipper tries this long to deliver what is left (unless the collector is failing). */
const SHUTDOWN_DRAIN_MS = 2000;

export interface AuditPipelineOptions {
  emitter: Emitter;
  emitterId: string;
  audit: AuditConfig;
  configFile: string;
  log: Logger;
  /** Sinks that observe every kept event after the durable one (e.g. metrics); their failures are logged. */
  extraSinks?: AuditSink[];
}

export interface AuditPipeline {
  readonly emitter: AuditEmitter;
  /** Present with audit.collector; its metrics are for /metrics. emitter.close() closes it too. */
  readonly shipper: Shipper | undefined;
}

/**
 * The file sink, with the shipper's verdict folded into `healthy`: the emitter (and so the relay or
 * connector) refuses calls while the disk refuses writes or, with spool_full: refuse, the spool is full.
 */
function gatedSink(files: FileSink, shipper: Shipper): AuditSink {
  return {
    get healthy() {
      return files.healthy !== false && shipper.accepting;
    },
    get unhealthyReason() {
      if (files.healthy === false) return files.unhealthyReason ?? 'the audit disk refuses writes';
      return shipper.accepting ? undefined : 'the audit delivery spool is full (the collector has not taken events for a while)';
    },
    get dropped() {
      return files.dropped;
    },
    write: (event, line) => files.write(event, line),
    flush: () => files.flush(),
    writeNow: () => files.writeNow?.() ?? true,
    close: async () => {
      try {
        await files.close();
      } finally {
        await shipper.close({ drainMs: SHUTDOWN_DRAIN_MS });
      }
    },
  };
}

export function openAuditPipeline(options: AuditPipelineOptions): AuditPipeline {
  const { audit, log } = options;
  const dir = resolveFrom(options.configFile, audit.dir);
  let shipper: Shipper | undefined;
  const files = createFileSink({
    dir,
    emitterId: options.emitterId,
    maxFileBytes: audit.max_file_bytes,
    fsync: audit.fsync,
    fsyncIntervalMs: audit.fsync_interval_ms,
    onKept: (mark) => shipper?.noteKept(mark),
    onTornTail: (file, bytes) => log.warn({ file, bytes }, 'cut a torn last line left by a crash from an audit file'),
    onFailure: (err, pending) => log.error({ err: err.message, pending }, 'audit events cannot be written; holding them, retrying every second, refusing new calls'),
    onRecovered: () => log.warn('audit events are written again'),
    onDrop: (dropped) => log.error({ dropped }, 'audit events dropped: too many held while the disk refused writes'),
  });
  const collector = audit.collector;
  if (collector) {
    let ca: Buffer | undefined;
    if (collector.ca_file) {
      const caPath = resolveFrom(options.configFile, collector.ca_file);
      try {
        ca = readFileSync(caPath);
      } catch (err) {
        throw new TunnelwatchError('TW_ERR_CONFIG_READ', `audit.collector.ca_file ${caPath}: ${(err as Error).message}`, { cause: err });
      }
    }
    // Created after the sink has recovered its files and before the emitter can write: the shipper's
    // accounting starts from the files as they are now.
    shipper = createShipper({
      dir,
      emitterId: options.emitterId,
      url: collector.url,
      tokenFile: resolveFrom(options.configFile, collector.token_file),
      ca,
      batchMaxEvents: collector.batch_max_events,
      batchMaxBytes: collector.batch_max_bytes,
      flushIntervalMs: collector.flush_interval_ms,
      requestTimeoutMs: collector.request_timeout_ms,
      spoolMaxBytes: audit.spool_max_bytes,
      spoolFull: audit.spool_full,
      keepShippedDays: audit.keep_shipped_days,
      log: log.child({ component: `${options.emitter}.audit.shipper` }),
    });
  }
  const sinks: AuditSink[] = [shipper ? gatedSink(files, shipper) : files];
  if (audit.stdout) sinks.push(createStdoutSink());
  sinks.push(...(options.extraSinks ?? []));
  log.info({ dir, seq: files.recovered.seq, fsync: audit.fsync, collector: shipper?.endpoint ?? null }, 'audit chain opened');
  const emitter = new AuditEmitter({
    emitter: options.emitter,
    emitterId: options.emitterId,
    sinks,
    chain: files.recovered,
    onCopyError: (err) => log.error({ err: err.message }, 'an audit sink after the file sink failed; the event is kept in the file'),
  });
  return { emitter, shipper };
}

/** The emitter alone (its close() also closes the shipper); openAuditPipeline gives the shipper too. */
export function openAuditEmitter(options: AuditPipelineOptions): AuditEmitter {
  return openAuditPipeline(options).emitter;
}
