// One exporter driven by the framework's runner (collector/export/runner.ts) as the collector runs it:
// built from its validated `exporters:` entry through the registry, with the store's cursors, dead
// letters and export source, from an empty cursor (a new exporter name) until everything in the store is
// delivered. (startExportService() wires exactly these parts; it is not called itself only because its
// runners are not reachable from outside, and the bench must see each send's outcome to know when the
// exporter has caught up and how long its send() calls took.)
import { pino } from 'pino';
import { runnerSettings, type ExporterEntryConfig, type ExportSettings } from '../../collector/export/config-schema.js';
import { storeCursors } from '../../collector/export/cursor.js';
import { storeDeadLetters } from '../../collector/export/dead-letters.js';
import { buildExporter } from '../../collector/export/export-service.js';
import { HealthTracker } from '../../collector/export/health.js';
import { ExportRunner } from '../../collector/export/runner.js';
import { createExportSource } from '../../collector/export/source.js';
import type { Exporter, ExportOutcome } from '../../collector/export/types.js';
import type { Store } from '../../collector/store/store.js';
import { progress } from './progress.js';

export interface ExporterRun {
  /** ms (performance.now()) when the runner started, and when the last record was reported delivered. */
  readonly startedAt: number;
  readonly deliveredAt: number;
  /** ms when the receiver was seen holding every record (after deliveredAt). */
  readonly heldAt: number;
  readonly sends: number;
  /** Wall time spent inside send() (the exporter: formatting and the receiver's answer), seconds. */
  readonly inSendS: number;
  readonly retryable: number;
  readonly dead: number;
  readonly lastProblem: string | undefined;
}

function delivered(o: ExportOutcome, sent: number): number {
  if (o.status === 'success') return sent - (o.dead?.length ?? 0);
  if (o.status === 'retryable') return o.pending ? sent - o.pending.length - (o.dead?.length ?? 0) : 0;
  return 0;
}

/**
 * Runs the exporter until `events` records are delivered and receiverHolds() resolves (the receiver has
 * them all), then closes the runner (which saves the cursor and closes the exporter). Rejects after
 * timeoutMs with the last problem the exporter reported.
 */
export async function runExporter(
  store: Store, entry: ExporterEntryConfig, settings: ExportSettings, events: number, timeoutMs: number, receiverHolds: () => Promise<void>,
): Promise<ExporterRun> {
  const log = pino({ level: 'silent' });
  const inner: Exporter = buildExporter(entry, '/nonexistent/collector.yaml', log);
  let done = 0;
  let sends = 0;
  let inSendMs = 0;
  let retryable = 0;
  let dead = 0;
  let lastProblem: string | undefined;
  let deliveredAt = 0;
  let finish: () => void = () => undefined;
  const allDelivered = new Promise<void>((resolve) => (finish = resolve));
  // The exporter as built, with a counter around send(): the runner sees no difference.
  const exporter: Exporter = {
    name: inner.name,
    type: inner.type,
    streams: inner.streams,
    batchSize: inner.batchSize,
    ...(inner.maxInFlight !== undefined ? { maxInFlight: inner.maxInFlight } : {}),
    start: () => inner.start?.() ?? Promise.resolve(),
    async send(records, signal) {
      const t0 = performance.now();
      const outcome = await inner.send(records, signal);
      inSendMs += performance.now() - t0;
      sends++;
      if (outcome.status !== 'success') {
        retryable++;
        lastProblem = outcome.reason;
        if (retryable === 1) progress(`  ${entry.name}: ${outcome.status}: ${outcome.reason}`);
      }
      if (outcome.status !== 'failure') dead += outcome.dead?.length ?? 0;
      done += delivered(outcome, records.length);
      if (done >= events && deliveredAt === 0) {
        deliveredAt = performance.now();
        finish();
      }
      return outcome;
    },
    close: () => inner.close(),
  };
  const runSettings = runnerSettings(settings);
  const source = createExportSource(store, { settleMs: runSettings.settleMs });
  const health = new HealthTracker(entry.name, entry.type, entry.streams, true);
  const runner = new ExportRunner(exporter, { source, cursors: storeCursors(store), deadLetters: storeDeadLetters(store), health, log }, runSettings);
  const beat = setInterval(() => progress(`  ${entry.name}: ${done.toLocaleString('en-US')} of ${events.toLocaleString('en-US')} delivered in ${sends} sends`), 2000);
  let timer: NodeJS.Timeout | undefined;
  const startedAt = performance.now();
  let heldAt: number;
  try {
    runner.start();
    await Promise.race([
      allDelivered,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // The runner's own troubles (store errors) are in its health, not in any send's outcome.
          void health.snapshot(source, 0).then((h) => h.last_error?.reason, () => undefined).then((runnerError) => reject(new Error(
            `${entry.name}: ${done} of ${events} delivered within ${timeoutMs} ms; last send problem: ${lastProblem ?? 'none'}; last runner error: ${runnerError ?? 'none'}`)));
        }, timeoutMs);
      }),
    ]);
    await receiverHolds();
    heldAt = performance.now();
  } finally {
    clearTimeout(timer);
    clearInterval(beat);
    await runner.close();
  }
  return { startedAt, deliveredAt, heldAt, sends, inSendS: inSendMs / 1000, retryable, dead, lastProblem };
}
