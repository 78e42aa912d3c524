// `tunnelwatch ingest`: loads NDJSON audit files into the store, straight (the collector must not hold
// the embedded data directory) or through a running collector's /v1/audit.
import { statSync } from 'node:fs';
import { createProgress } from '../../common/progress.js';
import { auditEventProblem, fileLineProblem, parseJsonLine } from '../audit-batch.js';
import type { AuditRecord } from '../ingest-store.js';
import { ndjsonInput } from './ndjson-input.js';

export interface IngestSink {
  /** Stores one batch; resolves with how many were new and how many were already there. */
  send(events: AuditRecord[], lines: string[]): Promise<{ inserted: number; duplicates: number; archived?: number }>;
}

export interface IngestReport {
  files: number;
  events: number;
  inserted: number;
  duplicates: number;
  archived: number;
  skipped: { file: string; line: number; reason: string }[];
  seconds: number;
}

const BATCH = 10_000;
/** Bad lines listed in full; beyond that only counted. */
const MAX_LISTED = 50;

export async function ingestFiles(files: string[], sink: IngestSink, options: { batch?: number } = {}): Promise<IngestReport> {
  const batchSize = options.batch ?? BATCH;
  const total = files.reduce((n, f) => n + statSync(f).size, 0);
  const progress = createProgress('ingest');
  const report: IngestReport = { files: files.length, events: 0, inserted: 0, duplicates: 0, archived: 0, skipped: [], seconds: 0 };
  const started = Date.now();
  let skippedCount = 0;
  let events: AuditRecord[] = [];
  let lines: string[] = [];

  const flush = async (): Promise<void> => {
    if (events.length === 0) return;
    const result = await sink.send(events, lines);
    report.inserted += result.inserted;
    report.duplicates += result.duplicates;
    report.archived += result.archived ?? 0;
    events = [];
    lines = [];
  };

  let before = 0;
  for (const file of files) {
    const input = ndjsonInput(file);
    let lineNo = 0;
    for await (const text of input.lines) {
      lineNo++;
      if (text.trim() === '') continue;
      const parsed = parseJsonLine(text);
      const event = parsed.reason === undefined ? parsed.value : undefined;
      const problem = fileLineProblem(text) ?? parsed.reason ?? auditEventProblem(event);
      if (problem) {
        skippedCount++;
        if (report.skipped.length < MAX_LISTED) report.skipped.push({ file, line: lineNo, reason: problem });
        continue;
      }
      events.push(event as AuditRecord);
      lines.push(text);
      report.events++;
      if (events.length >= batchSize) {
        await flush();
        const rate = report.events / Math.max(0.001, (Date.now() - started) / 1000);
        progress.update(before + input.position(), total, `${report.events.toLocaleString('en-US')} events (${Math.round(rate).toLocaleString('en-US')}/s)`);
      }
    }
    before += statSync(file).size;
  }
  await flush();
  report.seconds = (Date.now() - started) / 1000;
  progress.done(
    `${report.events.toLocaleString('en-US')} events from ${files.length} file(s) in ${report.seconds.toFixed(1)} s: ` +
      `${report.inserted.toLocaleString('en-US')} new, ${report.duplicates.toLocaleString('en-US')} already stored` +
      (report.archived ? `, ${report.archived.toLocaleString('en-US')} older than the retention (kept in the archive table)` : '') +
      (skippedCount ? `, ${skippedCount.toLocaleString('en-US')} malformed line(s) skipped` : ''),
  );
  if (skippedCount > report.skipped.length) report.skipped.push({ file: '', line: 0, reason: `${skippedCount - report.skipped.length} more malformed lines not listed` });
  return report;
}
