// IngestStore on collector/store: openStore() from the collector config (embedded chDB in store.data_dir,
// or a ClickHouse server at store.url), its batch writers behind the ingest routes.
import { readConfiguredFile, resolveFrom } from '../common/config/load-config.js';
import type { Logger } from '../common/log.js';
import type { StoreConfig } from './config-schema.js';
import type { IngestStore } from './ingest-store.js';
import type { AuditEventInput } from './store/audit-row.js';
import { openStore } from './store/open-store.js';
import { insertRuleSnapshot } from './store/rule-snapshots.js';
import type { Store } from './store/store.js';

/** How long a ping may take before the store counts as unreachable. */
const PING_TIMEOUT_MS = 2000;

/**
 * Opens the store (migrations and retention included) that a config file's `store:` section names:
 * collector.yaml, or dashboard.yaml for a standalone dashboard (which has no ingest queue).
 */
export async function openConfiguredStore(config: { readonly store: StoreConfig; readonly queue?: { readonly max_rows: number } }, configFile: string, log: Logger): Promise<Store> {
  const s = config.store;
  const password = s.password_file ? readConfiguredFile(configFile, 'store.password_file', s.password_file).toString('utf8').trim() : undefined;
  return openStore({
    ...(s.url
      ? { url: s.url, username: s.username, database: s.database, ...(password !== undefined ? { password } : {}), ...(s.cluster ? { cluster: s.cluster } : {}) }
      : { dataDir: resolveFrom(configFile, s.data_dir) }),
    retention: {
      auditDays: s.retention_days.audit_events,
      tracesDays: s.retention_days.otel_traces,
      logsDays: s.retention_days.otel_logs,
      rollupDays: s.retention_days.rollups,
      checksDays: s.retention_days.backend_checks,
    },
    log,
    telemetryDelayMs: s.telemetry_batch_ms,
    auditIntervalMs: s.audit_commit_interval_ms,
    // The ingest queue admits at most queue.max_rows rows until their commit, so the store's own bound
    // is never the one that refuses; it stays as a second line.
    ...(config.queue ? { batch: { maxQueuedRows: config.queue.max_rows } } : {}),
  });
}

/** The ingest routes' view of the store. */
export function ingestStoreOf(store: Store): IngestStore {
  return {
    async insertAudit(events) {
      // The routes validated every event against audit-event-v1, which is what AuditEventInput promises.
      const result = await store.insertAuditEvents(events as unknown as readonly AuditEventInput[]);
      return { duplicates: result.duplicates, archived: result.archived };
    },
    async insertSpans(rows) {
      return { expired: (await store.insertSpans(rows)).expired };
    },
    async insertLogs(rows) {
      return { expired: (await store.insertLogs(rows)).expired };
    },
    // A snapshot is a few rows, rarely: straight through the client, not the batch writers.
    insertRuleSnapshot: (snapshot) => insertRuleSnapshot(store.client, snapshot),
    // Time-limited: a hung server must read as down within seconds (for /readyz too), not after the
    // client's 30 s request timeout.
    async ping() {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
      });
      try {
        return await Promise.race([store.client.ping().then((r) => r.success, () => false), late]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => store.close(),
  };
}
