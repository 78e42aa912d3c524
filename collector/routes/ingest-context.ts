// What every ingest route shares.
import type { IngestQueue } from '../ingest-queue.js';
import type { IngestStore } from '../ingest-store.js';

export interface IngestContext {
  readonly store: IngestStore;
  readonly queue: IngestQueue;
  /** collector.max_body_bytes: the limit as sent and again after gunzip. */
  readonly maxBodyBytes: number;
}
