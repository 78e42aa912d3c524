// replayEvents(): audit events from an NDJSON file (or any async iterable) into a fresh temporary embedded
// store, timestamps kept, then every detector over the whole range as a live run would have judged it,
// and the store removed. Streams: the file is read line by line and inserted in batches of 10k with at
// most two batches in flight, so memory stays flat whatever the input size (5 million events and more).
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '../../common/audit/event.js';
import { auditEventProblem, fileLineProblem, parseJsonLine } from '../audit-batch.js';
import { ndjsonInput } from '../ingest/ndjson-input.js';
import { openStore } from '../store/open-store.js';
import type { DetectionConfig } from './config.js';
import { detectRangeReport } from './run.js';
import type { Finding } from './types.js';

export interface ReplayOptions {
  /** Progress lines (the CLI writes them to stderr). */
  readonly onProgress?: (msg: string) => void;
  readonly config?: DetectionConfig;
  /** Where the temporary store goes (default: the OS temp folder). */
  readonly tmpDir?: string;
  /** Events per insert (default 10,000). */
  readonly batchSize?: number;
}

export interface ReplayStats {
  readonly events: number;
  readonly inserted: number;
  readonly duplicates: number;
  readonly skipped: number;
  readonly from?: string;
  readonly to?: string;
  readonly loadSeconds: number;
  readonly detectSeconds: number;
}

const count = (x: number) => x.toLocaleString('en-US');
const IN_FLIGHT = 2;
const PROGRESS_EVERY = 250_000;
/** Malformed lines reported one by one; after that only counted. */
const MAX_LISTED = 10;

export async function replayEvents(input: AsyncIterable<AuditEvent> | string, options: ReplayOptions = {}): Promise<Finding[]> {
  return (await replayEventsWithStats(input, options)).findings;
}

export async function replayEventsWithStats(input: AsyncIterable<AuditEvent> | string, options: ReplayOptions = {}): Promise<{ findings: Finding[]; stats: ReplayStats }> {
  const progress = options.onProgress ?? (() => undefined);
  const batchSize = options.batchSize ?? 10_000;
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'tw-replay-'));
  try {
    // Retention 0 keeps everything: a replay of last year's file must not be archived away from the detectors.
    const store = await openStore({ dataDir: join(dir, 'store'), retention: { auditDays: 0, rollupDays: 0 }, batch: { rows: batchSize, maxDelayMs: 50 } });
    try {
      const started = performance.now();
      let events = 0;
      let inserted = 0;
      let duplicates = 0;
      let skipped = 0;
      let minTs = Infinity;
      let maxTs = -Infinity;
      let batch: AuditEvent[] = [];
      const pending = new Set<Promise<void>>();
      let failure: unknown;
      const send = async (): Promise<void> => {
        const chunk = batch;
        batch = [];
        const p = store.insertAuditEvents(chunk).then((r) => {
          inserted += r.inserted;
          duplicates += r.duplicates + r.archived;
        }, (err: unknown) => {
          failure ??= err;
        });
        const tracked = p.finally(() => pending.delete(tracked));
        pending.add(tracked);
        // Backpressure: the reader waits while two batches are being written.
        while (pending.size >= IN_FLIGHT) await Promise.race(pending);
        if (failure) throw failure;
      };
      const total = typeof input === 'string' ? statSync(input).size : 0;
      let bytes = 0;
      const accept = async (event: unknown, where: string): Promise<void> => {
        const problem = auditEventProblem(event);
        if (problem) {
          skipped++;
          if (skipped <= MAX_LISTED) progress(`replay: skipped ${where}: ${problem}`);
          return;
        }
        const e = event as AuditEvent;
        const t = Date.parse(e.ts);
        if (t < minTs) minTs = t;
        if (t > maxTs) maxTs = t;
        batch.push(e);
        events++;
        if (batch.length >= batchSize) await send();
        if (events % PROGRESS_EVERY === 0) {
          const rate = Math.round(events / ((performance.now() - started) / 1000));
          progress(`replay: ${count(events)} events loaded (${count(rate)}/s)${total ? `, ${Math.floor((100 * bytes) / total)} % of the file` : ''}`);
        }
      };
      if (typeof input === 'string') {
        const file = ndjsonInput(input);
        let line = 0;
        for await (const text of file.lines) {
          line++;
          bytes = file.position();
          if (text.trim() === '') continue;
          const parsed = parseJsonLine(text);
          const refused = fileLineProblem(text) ?? parsed.reason;
          if (refused !== undefined || parsed.reason !== undefined) {
            skipped++;
            if (skipped <= MAX_LISTED) progress(`replay: skipped line ${line}: ${refused}`);
            continue;
          }
          await accept(parsed.value, `line ${line}`);
        }
      } else {
        for await (const event of input) await accept(event, `event ${events + skipped + 1}`);
      }
      if (batch.length > 0) await send();
      await Promise.all(pending);
      if (failure) throw failure;
      await store.flush();
      const loadSeconds = (performance.now() - started) / 1000;
      if (skipped > MAX_LISTED) progress(`replay: ${count(skipped - MAX_LISTED)} more malformed lines skipped`);
      progress(`replay: loaded ${count(inserted)} events in ${loadSeconds.toFixed(1)} s` +
        `${duplicates ? `, ${count(duplicates)} duplicates ignored` : ''}${skipped ? `, ${count(skipped)} malformed skipped` : ''}`);
      if (events === 0) {
        return { findings: [], stats: { events, inserted, duplicates, skipped, loadSeconds, detectSeconds: 0 } };
      }
      const from = new Date(minTs);
      const to = new Date(maxTs + 1);
      progress(`replay: running the detectors over ${from.toISOString()} .. ${to.toISOString()}`);
      const detectStarted = performance.now();
      const report = await detectRangeReport(store, { from, to }, options.config);
      const detectSeconds = (performance.now() - detectStarted) / 1000;
      progress(`replay: ${count(report.findings.length)} findings in ${detectSeconds.toFixed(1)} s (${report.timings.map((t) => `${t.detector} ${t.findings}`).join(', ')})`);
      return { findings: report.findings, stats: { events, inserted, duplicates, skipped, from: from.toISOString(), to: to.toISOString(), loadSeconds, detectSeconds } };
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
