// One send of the Elasticsearch exporter: the records as ECS documents, each a `create` with _id = the
// record id into its data stream, through the client's helpers.bulk. The helper does the cutting into
// requests (flush_bytes; the exporter runs batches side by side instead of the requests of one), and reports every failed item through onDrop
// (409 included). When it resolves having answered every item (its stats say so), the others were
// created; when it rejects (connection lost, 5xx, 401...) or is aborted, every record without a failed
// answer is sent again, and those already indexed come back as 409. onSuccess is not used on purpose: the
// helper parses each document's JSON again to hand it over, a third of the exporter's CPU.
// Its own retries are off (retries: 0): it would retry 429s by sleeping inside the send, and a
// connection error still rejects the whole call, so the runner's backoff (the one shared wrapper)
// decides on every resend instead.
import type { Client } from '@elastic/elasticsearch';
import type { ExportOutcome, ExportRecord, ExportStream } from '../types.js';
import { BulkTally, type ItemError } from './bulk-outcome.js';
import { auditEcsJson, dataStreamName, findingToEcs, type EcsDocument } from './ecs.js';
import type { EcsRowWriter } from './ecs-rows.js';

export interface BulkSettings {
  readonly namespace: string;
  readonly pipeline: string | undefined;
  readonly flushBytes: number;
  readonly concurrency: number;
  /** Audit documents straight from their stored rows (ecs-rows.ts); the decoded event is mapped when it declines or throws. */
  readonly writeRow?: EcsRowWriter;
}

/** The parts of a _bulk answer the outcome reads (bulk-outcome.ts): `errors`, and per item its status and error. */
export const BULK_FILTER_PATH = 'errors,items.*.error,items.*.status';

interface Item {
  readonly id: string;
  readonly index: string;
  /**
   * Audit documents as their UTF-8 bytes (ecs-rows.ts) or JSON text (auditEcsJson), findings as objects
   * the client serialises. The client's serializer passes bytes through (connection.ts).
   */
  readonly doc: EcsDocument | string | Buffer;
}

function idOf(action: Record<string, { _id?: string } | undefined>): string | undefined {
  const id = Object.values(action)[0]?._id;
  return typeof id === 'string' ? id : undefined;
}

export async function sendBulk(client: Client, records: readonly ExportRecord[], settings: BulkSettings, signal: AbortSignal): Promise<ExportOutcome> {
  const tally = new BulkTally(records.map((r) => r.id));
  const index: Record<ExportStream, string> = {
    audit: dataStreamName('audit', settings.namespace),
    findings: dataStreamName('findings', settings.namespace),
  };
  const items: Item[] = [];
  for (const r of records) {
    try {
      const doc = r.stream === 'audit'
        ? (r.row !== undefined ? settings.writeRow?.(r.row) : undefined) ?? auditEcsJson(r.event, settings.namespace)
        : findingToEcs(r.finding, r.id, settings.namespace);
      items.push({ id: r.id, index: index[r.stream], doc });
    } catch (err) {
      tally.reject(r.id, `cannot be mapped to ECS: ${(err as Error).message}`);
    }
  }
  if (items.length === 0 || signal.aborted) return tally.outcome();

  const helper = client.helpers.bulk<Item>({
    datasource: items,
    onDocument: (item) => [{ create: { _index: item.index, _id: item.id } }, item.doc],
    onDrop: (dropped) => {
      const id = idOf(dropped.operation as unknown as Record<string, { _id?: string } | undefined>);
      if (id !== undefined) tally.drop(id, dropped.status, dropped.error as ItemError | null);
    },
    retries: 0,
    flushBytes: settings.flushBytes,
    concurrency: settings.concurrency,
    // The whole batch is in memory: it is flushed at the end, never by the helper's idle timer.
    flushInterval: 3_600_000,
    refreshOnCompletion: false,
    // A name that would fall to a non-data-stream template must fail loudly, not create a plain index.
    require_data_stream: true,
    // Only what the outcome needs from each item (as Beats and Logstash ask): its status and error.
    // The full answer repeats _index, _id, _shards and more for every document, ~250 bytes each, which
    // the client would download and parse for nothing.
    filter_path: BULK_FILTER_PATH,
    ...(settings.pipeline !== undefined ? { pipeline: settings.pipeline } : {}),
  }, { signal });
  const onAbort = (): void => void helper.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const stats = await helper;
    if (!signal.aborted && stats.successful + stats.failed === items.length) tally.allAnswered();
    return tally.outcome();
  } catch (err) {
    // An abort by the runner is not the receiver's fault: what was not answered is simply pending.
    return tally.outcome(signal.aborted ? undefined : err);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
