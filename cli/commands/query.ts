import { loadConfigFile } from '../../common/config/load-config.js';
import { createLogger } from '../../common/log.js';
import { CollectorConfigSchema } from '../../collector/config-schema.js';
import { openConfiguredStore } from '../../collector/store-adapter.js';
import { parseOptions, UsageError, type Command } from '../command.js';

// Read-only statements only; the engine is also told readonly=1. That does not cover INTO OUTFILE, which
// the embedded engine (clickhouse-local) carries out itself: a SELECT ... INTO OUTFILE '/any/path' TRUNCATE
// would overwrite any file this process may write. It is refused here, outside string literals,
// quoted identifiers and comments.
const READ_ONLY = /^\s*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXPLAIN|EXISTS)\b/i;

/** The SQL with its string literals, quoted identifiers and comments blanked out, so that keywords can be searched. */
export function sqlKeywordsOnly(sql: string): string {
  return sql.replace(/'(?:[^'\\]|\\.|'')*'?|"(?:[^"\\]|\\.|"")*"?|`(?:[^`\\]|\\.|``)*`?|--[^\n]*|#[^\n]*|\/\*[\s\S]*?(?:\*\/|$)/g, ' ');
}

/** Why a statement may not run, or undefined: only one read-only statement that writes no file. */
export function refuseQuery(sql: string): string | undefined {
  if (!READ_ONLY.test(sql)) return 'only read-only statements (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, EXISTS) are allowed';
  const bare = sqlKeywordsOnly(sql);
  if (/\bOUTFILE\b/i.test(bare)) return 'INTO OUTFILE is not allowed: the result is printed (use --json for NDJSON, and redirect it)';
  if (/;\s*\S/.test(bare)) return 'one statement at a time';
  return undefined;
}

export const queryCommand: Command = {
  name: 'query',
  summary: 'run a read-only SQL query against the store (e.g. after the demo)',
  help: `Usage: tunnelwatch query --config collector.yaml [--json] "SELECT ..."

Opens the store that collector.yaml names and runs one read-only statement (SELECT, WITH, SHOW,
DESCRIBE, EXPLAIN, EXISTS) with readonly=1; INTO OUTFILE and several statements are refused. It exits 1
when the engine refuses the query (its message is printed). On the embedded engine only one process may open the data
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
    const refused = refuseQuery(sql);
    if (refused) throw new UsageError(refused);
    const config = loadConfigFile(CollectorConfigSchema, values.config);
    const store = await openConfiguredStore(config, values.config, createLogger({ name: 'query', level: 'warn' }));
    try {
      let rows: Record<string, unknown>[];
      try {
        const result = await store.client.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: { readonly: '1' } });
        rows = (await result.json()) as Record<string, unknown>[];
      } catch (err) {
        // The engine's own message (unknown table, syntax error, a refused setting), without a stack.
        console.error(`tunnelwatch query: the engine refused the query: ${String((err as Error).message ?? err).split('\n')[0]?.slice(0, 500)}`);
        return 1;
      }
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
