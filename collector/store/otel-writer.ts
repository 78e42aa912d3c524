// Commits batches of spans and logs. Telemetry older than its table's retention would be deleted by the TTL
// at insert; it is left out on purpose here, counted, logged once per burst and reported to the caller
// (outcome `expired`), so an old OTLP replay is visibly refused rather than silently gone.
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import type { RowOutcomes } from './batch-writer.js';
import type { PreparedOtelRow } from './otel-rows.js';
import { expiryCutoffMs } from './retention.js';

export const OTEL_OUTCOME = { inserted: 0, expired: 1 } as const;

export interface OtelCounters {
  inserted: number;
  expired: number;
}

export function createOtelFlush(
  table: 'otel_traces' | 'otel_logs',
  deps: { client: ClickHouseClient; days: number; counters: OtelCounters; log?: Logger },
): (rows: PreparedOtelRow[]) => Promise<RowOutcomes> {
  let expiring = false;
  return async (rows) => {
    const outcomes = new Uint8Array(rows.length);
    const cutoff = expiryCutoffMs(deps.days);
    let body = '';
    let kept = 0;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as PreparedOtelRow;
      if (row.tsMs < cutoff) {
        outcomes[i] = OTEL_OUTCOME.expired;
        continue;
      }
      body += row.line + '\n';
      kept++;
    }
    if (kept > 0) {
      const result = await deps.client.exec({
        // The table name is one of the two literals of the signature, never input.
        query: `INSERT INTO ${table} FORMAT JSONEachRow`,
        values: Readable.from([body], { objectMode: false, encoding: 'utf8' }),
      });
      for await (const chunk of result.stream) void chunk;
    }
    const expired = rows.length - kept;
    if (expired > 0 && !expiring) deps.log?.warn({ table, rows: expired, retention_days: deps.days }, 'telemetry older than the retention was not stored (it would expire at insert)');
    expiring = expired > 0;
    deps.counters.inserted += kept;
    deps.counters.expired += expired;
    return outcomes;
  };
}
