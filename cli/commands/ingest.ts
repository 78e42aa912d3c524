import { createCollectorClient, readTokenFile } from '../../common/audit/collector-client.js';
import { loadConfigFile } from '../../common/config/load-config.js';
import { createLogger } from '../../common/log.js';
import { Backoff } from '../../common/backoff.js';
import { CollectorConfigSchema } from '../../collector/config-schema.js';
import { ingestFiles, type IngestSink } from '../../collector/ingest/ingest-files.js';
import { inputFileProblem } from '../../collector/ingest/ndjson-input.js';
import { openConfiguredStore } from '../../collector/store-adapter.js';
import type { AuditEventInput } from '../../collector/store/open-store.js';
import { parseOptions, UsageError, type Command } from '../command.js';

export const ingestCommand: Command = {
  name: 'ingest',
  summary: 'load NDJSON audit files into the store, with a progress bar',
  help: `Usage: tunnelwatch ingest --config collector.yaml FILE...
       tunnelwatch ingest --collector URL --token-file FILE FILE...

Loads audit events (NDJSON, audit-event-v1; files plain or gzip-compressed) into the store, keeping
their timestamps. Each line is checked first: malformed lines are listed (file:line and why) and
skipped, the rest is loaded. Events
the store already holds (same event_id) are counted as duplicates, not loaded twice. Progress goes to
stderr. Exit code 0 when every line was loaded, 1 when some lines were skipped, 2 on usage errors.

  --config FILE       write straight into the store that collector.yaml names (on the embedded
                      engine the collector must be stopped: one process per data directory)
  --collector URL     send through a running collector (POST URL/v1/audit), with
  --token-file FILE   a file holding its ingest token`,
  async run(args) {
    const { values, positionals } = parseOptions(args, { config: { type: 'string', short: 'c' }, collector: { type: 'string' }, 'token-file': { type: 'string' } }, true);
    if (positionals.length === 0) throw new UsageError('name at least one NDJSON file');
    for (const f of positionals) {
      const unreadable = inputFileProblem(f);
      if (unreadable) throw new UsageError(unreadable);
    }
    if (!!values.config === !!values.collector) throw new UsageError('give either --config collector.yaml or --collector URL');
    let sink: IngestSink;
    let close: () => Promise<void>;
    if (values.config) {
      const config = loadConfigFile(CollectorConfigSchema, values.config);
      const store = await openConfiguredStore(config, values.config, createLogger({ name: 'ingest', level: 'warn' }));
      sink = { send: (events) => store.insertAuditEvents(events as unknown as AuditEventInput[]) };
      close = () => store.close();
    } else {
      const tokenFile = values['token-file'];
      if (!tokenFile) throw new UsageError('--collector needs --token-file');
      const token = readTokenFile(tokenFile);
      const client = createCollectorClient({ url: values.collector as string, token: () => token, timeoutMs: 60_000 });
      sink = { send: (_events, lines) => sendWithRetry(client, Buffer.from(`${lines.join('\n')}\n`)) };
      close = async () => client.close();
    }
    try {
      const report = await ingestFiles(positionals, sink);
      for (const s of report.skipped) console.error(s.file ? `${s.file}:${s.line}: ${s.reason}` : s.reason);
      return report.skipped.length > 0 ? 1 : 0;
    } finally {
      await close();
    }
  },
};

async function sendWithRetry(client: ReturnType<typeof createCollectorClient>, body: Buffer): Promise<{ inserted: number; duplicates: number }> {
  const backoff = new Backoff({ initialDelayMs: 250, maxDelayMs: 10_000, jitter: 0.3 });
  for (let attempt = 1; ; attempt++) {
    const r = await client.send(body);
    if (r.kind === 'ok') return { inserted: r.accepted - r.duplicates, duplicates: r.duplicates };
    if (r.kind === 'rejected') throw new UsageError(`the collector rejected a batch (${r.status}): ${r.reason}`);
    if (r.auth) throw new UsageError(`the collector refused the token (${r.status}): check --token-file`);
    if (attempt >= 30) throw new UsageError(`the collector did not take a batch after ${attempt} tries: ${r.reason}`);
    const wait = r.retryAfterMs ?? backoff.next();
    process.stderr.write(`\ningest: collector busy or unreachable (${r.reason}); retrying in ${wait} ms\n`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
