import { loadConfigFile } from '../../common/config/load-config.js';
import { createLogger } from '../../common/log.js';
import { CollectorConfigSchema } from '../../collector/config-schema.js';
import { openConfiguredStore } from '../../collector/store-adapter.js';
import { parseOptions, UsageError, type Command } from '../command.js';

// Read-only statements only; the engine is also told readonly=1, so nothing else could write anyway.
const READ_ONLY = /^\s*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXPLAIN|EXISTS)\b/i;

export const queryCommand: Command = {
  name: 'query',
  summary: 'run a read-only SQL query against the store (e.g. after the demo)',
  help: `Usage: tunnelwatch query --config collector.yaml [--json] "SELECT ..."

Opens the store that collector.yaml names and runs one read-only statement (SELECT, WITH, SHOW,
DESCRIBE, EXPLAIN, EXISTS) with readonly=1. On the embedded engine only one process may open the data
directory: stop the collector (or the demo) first, or query a ClickHouse server (store.url).

Read audit_events with FINAL for the exactly-once view (docs/store.md), for example:
  tunnelwatch query --config examples/quickstart/collector.yaml \\
    "SELECT subaccount, decision, count() AS calls FROM audit_events FINAL GROUP BY ALL ORDER BY calls DESC"

Options:
  -c, --config FILE   collector.yaml (for the store section)
  --json              one JSON object per row (NDJSON) instead of a table`,
  async run(args) {
    const { values, positionals } = parseOptions(args, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } }, true);
    if (!values.config) throw new UsageError('--config FILE is required');
    const sql = positionals.join(' ').trim();
    if (!sql) throw new UsageError('give the SQL statement to run');
    if (!READ_ONLY.test(sql)) throw new UsageError('only read-only statements (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, EXISTS) are allowed');
    const config = loadConfigFile(CollectorConfigSchema, values.config);
    const store = await openConfiguredStore(config, values.config, createLogger({ name: 'query', level: 'warn' }));
    try {
      const result = await store.client.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: { readonly: '1' } });
      const rows = (await result.json()) as Record<string, unknown>[];
      if (values.json) for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
      else printTable(rows);
      return 0;
    } finally {
      await store.close();
    }
  },
};

function printTable(rows: Record<string, unknown>[]): void {
  if (rows.length === 0) {
    console.log('(no rows)');
    return;
  }
  const columns = Object.keys(rows[0] as object);
  const cells = rows.map((r) => columns.map((c) => (typeof r[c] === 'object' ? JSON.stringify(r[c]) : String(r[c]))));
  const widths = columns.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((row) => (row[i] as string).length))));
  const line = (values: string[]): string => values.map((v, i) => v.slice(0, widths[i]).padEnd(widths[i] as number)).join('  ').trimEnd();
  console.log(line(columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of cells) console.log(line(row));
  console.log(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
}
