// `npm run bench:export` (= build && node dist/bench/export.js): the export rate, events per second, of
// the syslog exporter over TCP into a real rsyslog and of the Elasticsearch exporter into the wire
// stand-in (a process of its own; NOT Elasticsearch), each through the framework's runner from an empty
// cursor over a store filled with realistic audit events, against a raw baseline into the same receiver
// in the same run, plus the parts alone (store read, formatting). Target: 50,000 events/s or more each
// (issue 6). Writes the "Export" section of docs/benchmarks.md unless --no-doc; progress on stderr, the
// summary on stdout.
//
//   npm run bench:export                                 200,000 events, syslog format rfc5424
//   npm run bench:export -- --events 50000 --runs 2      shorter, best of two runs per phase
//   npm run bench:export -- --format cef --only syslog   one receiver, another body format
//   npm run bench:export -- --read-size 50000            larger store reads (export.read_size)
//   npm run bench:export -- --no-doc                     leave docs/benchmarks.md alone
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@elastic/elasticsearch';
import { validateConfig } from '../common/config/load-config.js';
import { ExportConfigSchema, type ExporterEntryConfig, type ExportSettings } from '../collector/export/config-schema.js';
import { dataStreamName } from '../collector/export/elasticsearch/ecs.js';
import { setUpElasticsearch } from '../collector/export/elasticsearch/setup.js';
import { openStore } from '../collector/store/open-store.js';
import type { Store } from '../collector/store/store.js';
import { writeSection } from './lib/benchmarks-doc.js';
import { Cleanup } from './lib/cleanup.js';
import { measured, row, type PhaseRow } from './lib/export-measure.js';
import { bulkBodies, formatMessages, frameBatches, mapEcs, mapEcsRows, readAll, rowFrameBatches, totalBytes, type AuditRecord } from './lib/export-pieces.js';
import { rawBulkPosts, rawSyslogWrites } from './lib/export-raw.js';
import { startBenchEsStandin, startBenchRsyslog, waitUntil } from './lib/export-receivers.js';
import { findings, markdownSection, terminalSummary, type ExportReport } from './lib/export-report.js';
import { runExporter } from './lib/export-run.js';
import { generateEvents } from './lib/ingest-events.js';
import { loadBetween, sampleLoad } from './lib/machine-load.js';
import { engineVersion, machineInfo } from './lib/machine.js';
import { progress, step } from './lib/progress.js';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '1' },
    format: { type: 'string', default: 'rfc5424' },
    only: { type: 'string' },
    // export.read_size (default: the schema's); a larger page means fewer passes over a merged backlog.
    'read-size': { type: 'string' },
    'no-doc': { type: 'boolean', default: false },
  },
});
const events = Number(args.events);
const runs = Number(args.runs);
for (const [name, value] of Object.entries({ events, runs })) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive whole number`);
}
const format = args.format as 'rfc5424' | 'cef' | 'leef';
if (!['rfc5424', 'cef', 'leef'].includes(format)) throw new Error('--format must be rfc5424, cef or leef');
if (args.only !== undefined && !['syslog', 'elasticsearch'].includes(args.only)) throw new Error('--only must be syslog or elasticsearch');
const readSize = args['read-size'] === undefined ? undefined : Number(args['read-size']);
if (readSize !== undefined && (!Number.isInteger(readSize) || readSize < 1)) throw new Error('--read-size must be a positive whole number');
const doSyslog = args.only !== 'elasticsearch';
const doEs = args.only !== 'syslog';
const timeoutMs = Math.max(120_000, events * 2);
const fmt = (x: number): string => x.toLocaleString('en-US');

/** The `export:` settings and one entry as collector.yaml would give them, defaults filled in by the schema. */
function entryOf(keys: Record<string, unknown>): { entry: ExporterEntryConfig; settings: ExportSettings } {
  const exportSection = readSize === undefined ? {} : { read_size: readSize };
  const config = validateConfig(ExportConfigSchema, { export: exportSection, exporters: [{ streams: ['audit'], ...keys }] }, 'bench:export', { env: {} });
  return { entry: config.exporters[0] as ExporterEntryConfig, settings: config.export };
}

async function fill(store: Store): Promise<void> {
  const chunk = 20_000;
  const spanMs = 600_000;
  const start = Date.now() - spanMs;
  for (let done = 0; done < events; done += chunk) {
    const count = Math.min(chunk, events - done);
    const endMs = start + Math.round(((done + count) / events) * spanMs);
    await store.insertAuditEvents(generateEvents(count, { startSeq: done + 1, endMs, spanMs: Math.max(1, Math.round((count / events) * spanMs)) }));
    progress(`  ${fmt(done + count)} / ${fmt(events)} events stored`);
  }
}

const cleanup = new Cleanup();
cleanup.onSignals();
const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const loadStart = await sampleLoad();
const machine = await machineInfo();
await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - loadStart.atMs))));
const loadBefore = loadBetween(loadStart, await sampleLoad());
progress(`machine before the run: ${loadBefore.machineBusyPct.toFixed(0)}% busy, other processes ${loadBefore.otherPct.toFixed(0)}% of a CPU${loadBefore.topOther.length ? ` (${loadBefore.topOther.join(', ')})` : ''}`);
const chdbVersion = await engineVersion();
const dataDir = await mkdtemp(join(tmpdir(), 'tw-bench-export-'));
cleanup.add('data directory', () => rm(dataDir, { recursive: true, force: true }));
const rows: PhaseRow[] = [];
let rsyslogVersion = 'not run';
try {
  const store = await openStore({ dataDir });
  cleanup.add('store', () => store.close());
  await step(`storing ${fmt(events)} audit events`, () => fill(store));
  // One part per table, as background merges would leave a live store after a while: audit_events and
  // the rollups its views filled. Left to the background, merging the rollups' parts ran during the
  // first exporter runs and was counted as their CPU (the first runs cost up to twice the last).
  await step('merging parts', async () => {
    const tables = await store.query<{ table: string }>(
      'SELECT table FROM system.parts WHERE database = currentDatabase() AND active GROUP BY table HAVING count() > 1 ORDER BY table');
    for (const { table } of tables) await store.client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
  });
  const settings = entryOf({ name: 'x', type: 'syslog', host: '127.0.0.1' }).settings;
  // Readable only once older than the settle margin: wait that out, as an exporter would.
  await new Promise((r) => setTimeout(r, settings.settle_ms + 200));

  // Records, messages and documents are held only while the parts and the raw baselines need them: a
  // runner measured beside 200,000 live records (and their messages or documents) pays for that heap in
  // every garbage collection, which the collector does not.
  let records: AuditRecord[] | undefined = await (async () => {
    const read = await step('source: reading every event from the store', () => measured(undefined, () => readAll(store, settings.settle_ms, settings.read_size)));
    if (read.value.length !== events) throw new Error(`the source read ${read.value.length} events, ${events} were stored`);
    rows.push(row('none', 'piece', `source: store read in pages of ${fmt(settings.read_size)} (chDB query + records with their ids; events decoded only when used)`, events, read));
    return read.value;
  })();
  const allRecords = async (): Promise<AuditRecord[]> => (records ??= await readAll(store, settings.settle_ms, settings.read_size));

  if (doSyslog) {
    const syslogBatch = entryOf({ name: 'x', type: 'syslog', host: '127.0.0.1' }).entry.batch_size;
    // The records live only inside this function: the string path decodes (and keeps) every event, a
    // heap the exporter runs below must not carry through their garbage collections.
    const msgs = await (async () => {
      const all = await allRecords();
      records = undefined;
      const fromRows = await step('syslog: frames from stored rows', () => measured(undefined, async () => rowFrameBatches(all, format, syslogBatch)));
      if (fromRows.value) {
        rows.push(row('none', 'piece', `syslog: ${format} frames straight from the stored rows (the exporter's path), batches of ${fmt(syslogBatch)}`, events, fromRows));
        fromRows.value.length = 0;
      }
      const formatted = await step('syslog: formatting', () => measured(undefined, async () => formatMessages(all, format)));
      rows.push(row('none', 'piece', `syslog: ${format} messages from decoded events (createFormatter: ${fromRows.value ? 'findings, and rows the row path declines' : 'the exporter\'s path'})`, events, formatted));
      return formatted;
    })();
    const frames = await step('syslog: framing', () => measured(undefined, async () => frameBatches(msgs.value, syslogBatch)));
    rows.push(row('none', 'piece', `syslog: octet-counted frames, batches of ${fmt(syslogBatch)}`, events, frames, `${(totalBytes(frames.value) / events).toFixed(0)} bytes per framed message`));
    msgs.value.length = 0;

    const rsyslog = await step('starting rsyslog', () => startBenchRsyslog());
    cleanup.add('rsyslog', () => rsyslog.stop());
    rsyslogVersion = rsyslog.version;
    for (let run = 1; run <= runs; run++) {
      let before = await rsyslog.received();
      const raw = await step(`syslog raw baseline, run ${run}`, () => measured(rsyslog, async () => {
        await rawSyslogWrites(rsyslog.port, frames.value);
        await waitUntil(() => rsyslog.received(), before + events, timeoutMs, 'rsyslog (raw)');
      }));
      rows.push(row('syslog', 'raw', 'raw: pre-formatted frames written to one TCP connection', events, raw));
      before = await rsyslog.received();
      const { entry } = entryOf({ name: `bench-syslog-${run}`, type: 'syslog', host: '127.0.0.1', port: rsyslog.port, transport: 'tcp', format });
      const ex = await step(`syslog exporter through the runner, run ${run}`, () => measured(rsyslog, () =>
        runExporter(store, entry, settings, events, timeoutMs, async () => void (await waitUntil(() => rsyslog.received(), before + events, timeoutMs, 'rsyslog (exporter)')))));
      const got = (await rsyslog.received()) - before;
      const r = ex.value;
      const wallS = (r.heldAt - r.startedAt) / 1000;
      rows.push({
        ...row('syslog', 'exporter', `exporter: runner + syslog exporter (tcp, ${format})`, events, ex),
        wallS,
        note: `${r.sends} sends; ${((r.inSendS / wallS) * 100).toFixed(0)}% of the time inside send(); delivered ${((r.deliveredAt - r.startedAt) / 1000).toFixed(2)} s, all in rsyslog ${wallS.toFixed(2)} s; ${fmt(got)} received${got > events ? ` (${fmt(got - events)} duplicates)` : ''}${r.retryable ? `; ${r.retryable} sends not delivered at once (${r.lastProblem ?? ''})` : ''}`,
      });
    }
  }

  if (doEs) {
    let all = await allRecords();
    records = undefined;
    const docs = await step('elasticsearch: ECS mapping from the stored rows', () => measured(undefined, async () => mapEcsRows(all, 'raw1')));
    rows.push(row('none', 'piece', 'elasticsearch: ECS documents straight from the stored rows (the exporter\'s path)', events, docs));
    const strings = await step('elasticsearch: ECS mapping from decoded events', () => measured(undefined, async () => mapEcs(all, 'raw1')));
    rows.push(row('none', 'piece', 'elasticsearch: ECS documents as JSON text from decoded events (auditEcsJson: rows the row path declines)', events, strings));
    strings.value.length = 0;
    // The string path decoded (and the records keep) every event: read the records again, rows only,
    // for the raw baselines' bodies, so that the exporter runs do not carry 200,000 decoded events
    // through their garbage collections (they had cost the runs before the last up to twice the CPU).
    all = await readAll(store, settings.settle_ms, settings.read_size);
    const esBatch = entryOf({ name: 'x', type: 'elasticsearch', nodes: ['http://127.0.0.1:9200'] }).entry.batch_size;
    const bodies = await step('elasticsearch: bulk bodies', () => measured(undefined, async () => bulkBodies(all, docs.value, 'raw1', esBatch)));
    docs.value.length = 0;
    rows.push(row('none', 'piece', `elasticsearch: _bulk NDJSON bodies of ${fmt(esBatch)} (action lines joined to the documents)`, events, bodies, `${(totalBytes(bodies.value) / events).toFixed(0)} bytes per document with its action line`));

    const es = await step('starting the Elasticsearch stand-in', () => startBenchEsStandin());
    cleanup.add('stand-in', () => es.stop());
    const admin = new Client({ node: es.url, maxRetries: 0 });
    for (let run = 1; run <= runs; run++) {
      for (const namespace of [`raw${run}`, `bench${run}`]) await setUpElasticsearch(admin, { namespace, streams: ['audit'] });
      const body = run === 1 ? bodies.value : bulkBodies(all, mapEcsRows(all, `raw${run}`), `raw${run}`, esBatch);
      const raw = await step(`elasticsearch raw baseline, run ${run}`, () => measured(es, async () => {
        await rawBulkPosts(es.url, body, 2);
        await waitUntil(() => es.count(dataStreamName('audit', `raw${run}`)), events, timeoutMs, 'stand-in (raw)', 50);
      }));
      rows.push(row('elasticsearch', 'raw', `raw: pre-serialised _bulk bodies of ${fmt(esBatch)}, 2 in flight`, events, raw));
      if (run === runs) {
        all.length = 0;
        bodies.value.length = 0;
        body.length = 0;
      }
      const { entry } = entryOf({ name: `bench-es-${run}`, type: 'elasticsearch', nodes: [es.url], namespace: `bench${run}` });
      const index = dataStreamName('audit', `bench${run}`);
      const ex = await step(`elasticsearch exporter through the runner, run ${run}`, () => measured(es, () =>
        runExporter(store, entry, settings, events, timeoutMs, async () => void (await waitUntil(() => es.count(index), events, timeoutMs, 'stand-in (exporter)', 50)))));
      const r = ex.value;
      const wallS = (r.heldAt - r.startedAt) / 1000;
      rows.push({
        ...row('elasticsearch', 'exporter', 'exporter: runner + elasticsearch exporter (client helpers.bulk)', events, ex),
        wallS,
        note: `${r.sends} sends; ${((r.inSendS / wallS) * 100).toFixed(0)}% of the time inside send(); ${fmt(await es.count(index))} documents held${r.retryable ? `; ${r.retryable} sends not delivered at once (${r.lastProblem ?? ''})` : ''}${r.dead ? `; ${r.dead} dead letters` : ''}`,
      });
    }
    await admin.close();
  }
} finally {
  await cleanup.run();
}

const report: ExportReport = {
  startedAt,
  command: `npm run bench:export${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  machine,
  chdb: chdbVersion,
  rsyslog: rsyslogVersion,
  events,
  format,
  rows,
  loadBefore,
  notes: findings(rows),
};
console.log(terminalSummary(report));
if (!args['no-doc']) {
  await writeSection(new URL('../../docs/benchmarks.md', import.meta.url).pathname, 'export', markdownSection(report));
  console.log('wrote the Export section of docs/benchmarks.md');
}
