// What every ingest route shares.
import type { IngestQueue } from '../ingest-queue.js';
import type { IngestStore } from '../ingest-store.js';
import type { RuleSnapshot } from '../store/rule-snapshots.js';

export interface IngestContext {
  readonly store: IngestStore;
  readonly queue: IngestQueue;
  /** collector.max_body_bytes: the limit as sent and again after gunzip. */
  readonly maxBodyBytes: number;
  /** Called with a valid rule snapshot before it is stored (records rule changes); a failure refuses it with 503. */
  readonly onRules?: (snapshot: RuleSnapshot) => Promise<void>;
}
