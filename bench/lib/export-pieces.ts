// The parts of an export, each alone and in this process, so the report shows where the time goes:
// reading from the store (the runner's source), formatting (syslog messages and their octet-counted
// frames; ECS documents and their _bulk bodies). They use the exporters' own functions; what they
// produce is also what the raw baselines send.
import { ndjsonBody } from '../../collector/export/elasticsearch/connection.js';
import { auditEcsJson, dataStreamName } from '../../collector/export/elasticsearch/ecs.js';
import { createEcsRowWriter } from '../../collector/export/elasticsearch/ecs-rows.js';
import { resolveSyslogConfig } from '../../collector/export/syslog/config.js';
import { FrameBuilder, octetCountedFrames } from '../../collector/export/syslog/framing.js';
import { createAuditRowWriter, createFormatter } from '../../collector/export/syslog/message.js';
import type { ExportRecord } from '../../collector/export/types.js';
import type { Store } from '../../collector/store/store.js';
import { readAllAudit, type AuditRecord } from '../../test/helpers/export-records.js';

export type { AuditRecord };

/** Every audit event, in pages of readSize, as the runner reads them (ids read, events decoded when asked for). */
export async function readAll(store: Store, settleMs: number, readSize: number): Promise<AuditRecord[]> {
  return readAllAudit(store, { settleMs, readSize, batchSize: readSize });
}

const benchSyslogConfig = (format: 'rfc5424' | 'cef' | 'leef') => resolveSyslogConfig({ name: 'bench', host: '127.0.0.1', transport: 'tcp', format, hostname: 'bench-collector' });

export function syslogFormatter(format: 'rfc5424' | 'cef' | 'leef'): (r: ExportRecord) => string {
  return createFormatter(benchSyslogConfig(format));
}

/**
 * The exporter's RFC 5424 path for stored rows: frames written straight from each record's row bytes,
 * a buffer per batch (undefined for CEF and LEEF, which have no such path).
 */
export function rowFrameBatches(records: readonly AuditRecord[], format: 'rfc5424' | 'cef' | 'leef', batchSize: number): Buffer[] | undefined {
  const write = createAuditRowWriter(benchSyslogConfig(format));
  if (!write) return undefined;
  const out: Buffer[] = [];
  for (let i = 0; i < records.length; i += batchSize) {
    const frames = new FrameBuilder(batchSize * 1200);
    for (const r of records.slice(i, i + batchSize)) {
      if (!r.row || !write(r.row, frames)) throw new Error(`the row path declined ${r.id}`);
    }
    out.push(frames.take());
  }
  return out;
}

export function formatMessages(records: readonly ExportRecord[], format: 'rfc5424' | 'cef' | 'leef'): string[] {
  const f = syslogFormatter(format);
  return records.map(f);
}

/** One buffer of octet-counted frames per batch, as the transport writes a batch. */
export function frameBatches(messages: readonly string[], batchSize: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < messages.length; i += batchSize) out.push(octetCountedFrames(messages.slice(i, i + batchSize)));
  return out;
}

/** The ECS documents as the exporter writes them for stored rows: UTF-8 bytes straight from each record's row (ecs-rows.ts). */
export function mapEcsRows(records: readonly AuditRecord[], namespace: string): Buffer[] {
  const write = createEcsRowWriter(namespace);
  return records.map((r) => {
    const doc = r.row ? write(r.row) : undefined;
    if (!doc) throw new Error(`the row path declined ${r.id}`);
    return doc;
  });
}

/** The ECS documents from decoded events: JSON text (auditEcsJson), the path of rows the row writer declines. */
export function mapEcs(records: readonly AuditRecord[], namespace: string): string[] {
  return records.map((r) => auditEcsJson(r.event, namespace));
}

/** NDJSON _bulk bodies of batchSize `create` operations each: the action line as the client's bulk helper writes it, then the document. */
export function bulkBodies(records: readonly AuditRecord[], docs: readonly (string | Buffer)[], namespace: string, batchSize: number): Buffer[] {
  const index = dataStreamName('audit', namespace);
  const out: Buffer[] = [];
  for (let i = 0; i < docs.length; i += batchSize) {
    const lines: (string | Buffer)[] = [];
    for (let j = i; j < Math.min(i + batchSize, docs.length); j++) {
      lines.push(JSON.stringify({ create: { _index: index, _id: (records[j] as AuditRecord).id } }), docs[j] as string | Buffer);
    }
    out.push(ndjsonBody(lines));
  }
  return out;
}

/** Total bytes of a list of buffers or strings (UTF-8), for the report. */
export function totalBytes(parts: readonly (Buffer | string)[]): number {
  return parts.reduce((n, p) => n + (typeof p === 'string' ? Buffer.byteLength(p) : p.length), 0);
}
