// Where chained audit events go. Sinks receive events in chain order and must not reorder them.
import type { AuditEvent } from './event.js';

export interface AuditSink {
  /** Takes one event and its NDJSON line (with trailing newline). Throws if the event cannot be kept. */
  write(event: AuditEvent, line: string): void;
  /** false while the sink cannot keep events (e.g. the disk refuses writes); callers then refuse calls. */
  readonly healthy?: boolean;
  /** Why it is not healthy, in words a caller may read (no paths, no error text); undefined when healthy. */
  readonly unhealthyReason?: string;
  /** Events the sink had to drop, if it ever drops any. */
  readonly dropped?: number;
  /** Resolves once everything written so far is handed to the OS (or the next hop). */
  flush(): Promise<void>;
  /**
   * Hands everything written so far to the OS before it returns (a file sink's queued writes), if it
   * queues; false when that failed (the disk refuses writes) and events are still waiting in memory.
   */
  writeNow?(): boolean;
  close(): Promise<void>;
}

export function createStdoutSink(): AuditSink {
  return {
    write(_event, line) {
      process.stdout.write(line);
    },
    flush: async () => {},
    close: async () => {},
  };
}
