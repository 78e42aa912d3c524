// `tunnelwatch siem dead-letters list|replay`: the records an exporter could not deliver for good, and
// sending them again through that exporter once the cause is fixed (docs/siem.md, "Dead letters").
import { loadConfigFile } from '../../../common/config/load-config.js';
import { ERRORS, TunnelwatchError } from '../../../common/errors.js';
import { createLogger } from '../../../common/log.js';
import { CollectorConfigSchema, type CollectorConfig } from '../../../collector/config-schema.js';
import type { ExporterEntryConfig } from '../../../collector/export/config-schema.js';
import { storeDeadLetters, type StoredDeadLetter } from '../../../collector/export/dead-letters.js';
import { buildExporter } from '../../../collector/export/export-service.js';
import { replayDeadLetters } from '../../../collector/export/replay.js';
import { DEFAULT_RETRY } from '../../../collector/export/retry.js';
import { openConfiguredStore } from '../../../collector/store-adapter.js';
import type { Store } from '../../../collector/store/store.js';
import { parseOptions, UsageError } from '../../command.js';
import type { SiemSubcommand } from '../siem.js';

const HELP = `Usage:
  tunnelwatch siem dead-letters list   --config collector.yaml [--exporter NAME] [--replayed] [--limit N] [--json]
  tunnelwatch siem dead-letters replay --config collector.yaml --exporter NAME [--id ID ...] [--timeout-s S]

list    the records exporters could not deliver for good (a receiver's 400, a mapping error), oldest
        first, with the receiver's reason; --replayed lists those already replayed instead; --json
        prints one JSON object per line, the record included.
replay  sends the dead letters of one exporter (or only the given record ids) again through that
        exporter as collector.yaml configures it now, retrying for up to --timeout-s (default 60).
        Delivered ones are marked replayed; refused ones stay dead letters with the new reason.
        Exit code 1 when some were not delivered.

The embedded store (store.data_dir) can be opened by one process at a time and the running collector
holds it: stop the collector, run this, start the collector again. With a ClickHouse server
(store.url) this runs beside the collector. See docs/siem.md.`;

async function openStoreOf(config: CollectorConfig, file: string): Promise<Store> {
  try {
    return await openConfiguredStore(config, file, createLogger({ name: 'siem', level: 'warn' }));
  } catch (err) {
    if (err instanceof TunnelwatchError && err.code === 'TW_ERR_STORE_LOCKED') {
      const detail = err.message.slice(ERRORS.TW_ERR_STORE_LOCKED.message.length + 2);
      throw new TunnelwatchError('TW_ERR_STORE_LOCKED', `${detail}. A running collector holds its embedded store: stop it, run siem dead-letters, then start it again`, { cause: err });
    }
    throw err;
  }
}

function entryOf(config: CollectorConfig, name: string): ExporterEntryConfig {
  const entries = config.exporters as readonly ExporterEntryConfig[];
  const entry = entries.find((e) => e.name === name);
  if (!entry) throw new TunnelwatchError('TW_ERR_EXPORT_UNKNOWN_EXPORTER', `${name} (configured: ${entries.map((e) => e.name).join(', ') || 'none'})`);
  return entry;
}

function printTable(letters: readonly StoredDeadLetter[]): void {
  if (letters.length === 0) {
    console.log('(no dead letters)');
    return;
  }
  const rows = letters.map((l) => [l.exporter, l.stream, l.record_id, String(l.attempts), l.failed_at, l.state === 'replayed' ? `replayed ${l.replayed_at ?? ''}` : l.reason.replace(/\s+/g, ' ').slice(0, 120)]);
  const head = ['exporter', 'stream', 'record id', 'attempts', 'failed at', 'reason'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log(`(${letters.length} dead letter${letters.length === 1 ? '' : 's'})`);
}

async function list(args: string[]): Promise<number> {
  const { values } = parseOptions(args, { config: { type: 'string', short: 'c' }, exporter: { type: 'string' }, replayed: { type: 'boolean' }, limit: { type: 'string' }, json: { type: 'boolean' } });
  if (!values.config) throw new UsageError('--config FILE is required');
  const limit = values.limit === undefined ? 1000 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
  const config = loadConfigFile(CollectorConfigSchema, values.config);
  if (values.exporter !== undefined) entryOf(config, values.exporter);
  const store = await openStoreOf(config, values.config);
  try {
    const letters = await storeDeadLetters(store).list({ ...(values.exporter !== undefined ? { exporter: values.exporter } : {}), state: values.replayed ? 'replayed' : 'dead', limit });
    if (values.json) for (const l of letters) process.stdout.write(`${JSON.stringify(l)}\n`);
    else printTable(letters);
    return 0;
  } finally {
    await store.close();
  }
}

async function replay(args: string[]): Promise<number> {
  const { values } = parseOptions(args, { config: { type: 'string', short: 'c' }, exporter: { type: 'string' }, id: { type: 'string', multiple: true }, 'timeout-s': { type: 'string' } });
  if (!values.config) throw new UsageError('--config FILE is required');
  if (!values.exporter) throw new UsageError('--exporter NAME is required');
  const timeoutS = values['timeout-s'] === undefined ? 60 : Number(values['timeout-s']);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError('--timeout-s must be a positive number of seconds');
  const config = loadConfigFile(CollectorConfigSchema, values.config);
  const entry = entryOf(config, values.exporter);
  const store = await openStoreOf(config, values.config);
  try {
    const deadLetters = storeDeadLetters(store);
    const letters = await deadLetters.list({ exporter: entry.name, ...(values.id ? { ids: values.id } : {}), limit: 1_000_000 });
    if (letters.length === 0) {
      console.log(`no dead letters of ${entry.name}${values.id ? ' with those ids' : ''} to replay`);
      return 0;
    }
    const exporter = buildExporter(entry, values.config, createLogger({ name: 'siem', level: 'warn' }));
    const policy = { ...DEFAULT_RETRY, maxDelayMs: Math.min(config.export.retry_max_delay_ms, 10_000), attemptTimeoutMs: config.export.attempt_timeout_ms, deadlineMs: timeoutS * 1000 };
    const result = await replayDeadLetters(exporter, letters, deadLetters, policy);
    console.log(`${entry.name}: ${result.replayed} replayed, ${result.dead} refused again, ${result.pending} not delivered in ${timeoutS} s`);
    if (result.dead + result.pending === 0) return 0;
    const e = new TunnelwatchError('TW_ERR_EXPORT_REPLAY_INCOMPLETE', result.lastReason);
    console.error(`tunnelwatch siem: ${e.code}: ${e.message}`);
    return 1;
  } finally {
    await store.close();
  }
}

export const deadLettersSubcommand: SiemSubcommand = {
  name: 'dead-letters',
  summary: 'list dead-lettered records of an exporter, or replay them',
  async run(args) {
    const [action, ...rest] = args;
    if (action === 'list') return list(rest);
    if (action === 'replay') return replay(rest);
    if (action === undefined || action === '--help' || action === '-h') {
      console.log(HELP);
      return action === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown dead-letters action ${action}: use list or replay`);
  },
};
