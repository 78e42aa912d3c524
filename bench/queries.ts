// `npm run bench:queries`: server time of the dashboard's overview and calls-explorer API calls on an
// embedded store holding 10 million generated audit events, each beside the raw engine answering the
// naive query for the same view (straight from audit_events FINAL, no rollups) in the same run. Target:
// 300 ms or less per API call. Writes the "Queries" section of docs/benchmarks.md unless --no-doc;
// progress on stderr, the summary on stdout.
//
//   npm run bench:queries                               10M events (a few minutes to fill on 2 cores)
//   npm run bench:queries -- --rows 1000000             smaller
//   npm run bench:queries -- --keep DIR                 keep (and on the next run reuse) the filled store
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { openStore } from '../collector/store/open-store.js';
import { buildDashboardApp } from '../dashboard/app.js';
import { createDashboardContext } from '../dashboard/dashboard.js';
import { writeSection } from './lib/benchmarks-doc.js';
import { engineVersion, machineInfo } from './lib/machine.js';
import { withLoad } from './lib/machine-load.js';
import { progress, step } from './lib/progress.js';
import { fillAuditEvents } from './lib/query-data.js';
import { queryCases, type QueryCase } from './lib/query-cases.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    days: { type: 'string', default: '30' },
    runs: { type: 'string', default: '7' },
    'no-doc': { type: 'boolean', default: false },
    keep: { type: 'string' },
    // Only the cases whose name contains this text (for profiling one part; the doc is then not written).
    only: { type: 'string' },
  },
});
const rows = Number(args.rows);
const days = Number(args.days);
const runs = Number(args.runs);
for (const [name, value] of Object.entries({ rows, days, runs })) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive whole number`);
}
const TARGET_MS = 300;
/** The tables the views on audit_events fill (migrations 0006, 0007, 0011, 0015-0017). */
const ROLLUPS = ['audit_minute', 'audit_hour', 'audit_denied_1m', 'audit_series', 'audit_latency', 'audit_backends', 'audit_denied_resources'];

const dataDir = args.keep ? resolve(args.keep) : await mkdtemp(join(tmpdir(), 'tw-bench-queries-'));
const reuse = args.keep !== undefined && existsSync(join(dataDir, 'store'));
const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const machine = await machineInfo();
const chdbVersion = await engineVersion();
const store = await openStore({ dataDir: join(dataDir, 'store') });
const token = `tw_${randomBytes(24).toString('base64url')}`;

interface Timing {
  readonly c: QueryCase;
  readonly apiMs: number[];
  readonly rawMs: number[];
  readonly detail: string;
  readonly otherLoadPct: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const worst = (xs: number[]): number => Math.max(...xs);

try {
  const stored = Number((await store.query<{ c: string }>('SELECT count() AS c FROM audit_events'))[0]?.c ?? 0);
  // The generated events end at the fill time: reuse a kept store only when it holds enough of them.
  let end = new Date();
  if (reuse && stored >= rows) {
    const last = (await store.query<{ t: string }>('SELECT max(ts) AS t FROM audit_events'))[0]?.t ?? '';
    end = new Date(`${last.replace(' ', 'T')}Z`);
    progress(`reusing ${stored.toLocaleString('en-US')} events in ${dataDir}`);
  } else {
    // The rollups too: they would still count the events of the previous fill.
    if (stored > 0) for (const table of ['audit_events', ...ROLLUPS]) await store.client.command({ query: `TRUNCATE TABLE ${table}` });
    await step(`filling ${rows.toLocaleString('en-US')} events over ${days} days`, () =>
      fillAuditEvents(store, { rows, days, end, onChunk: (done) => progress(`  ${done.toLocaleString('en-US')} / ${rows.toLocaleString('en-US')} events`) }));
    // A bulk fill leaves many small parts that background merges would collapse over the next minutes:
    // merge them now, so the queries see the steady state a live store is in.
    await step('merging parts', async () => {
      for (const table of ROLLUPS) await store.client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
    });
  }

  const settings = {
    listen: '127.0.0.1:0',
    session: { idle_minutes: 30, max_hours: 12 },
    login_rate_limit: { max_attempts: 10, window_s: 300 },
    users: [],
    api_tokens: [{ name: 'bench', role: 'analyst' as const, sha256: createHash('sha256').update(token).digest('hex') }],
  };
  const ctx = await createDashboardContext(settings, store, join(dataDir, 'dashboard.yaml'), pino({ level: 'silent' }));
  const app = await buildDashboardApp(ctx);
  await app.ready();

  const timings: Timing[] = [];
  for (const c of queryCases(end).filter((q) => args.only === undefined || q.name.includes(args.only))) {
    const t = await step(c.name, async () => {
      const { value, load } = await withLoad(async () => {
        let detail = '';
        const call = async (): Promise<number> => {
          const t0 = performance.now();
          const r = await app.inject({ method: 'GET', url: c.url, headers: { authorization: `Bearer ${token}` } });
          const ms = performance.now() - t0;
          if (r.statusCode !== 200) throw new Error(`${c.url}: ${r.statusCode} ${r.body.slice(0, 300)}`);
          detail = c.describe(JSON.parse(r.body) as Record<string, unknown>);
          return ms;
        };
        const raw = async (): Promise<number> => {
          const t0 = performance.now();
          await store.query(c.raw.sql, c.raw.params);
          return performance.now() - t0;
        };
        await call();
        await raw();
        const apiMs: number[] = [];
        const rawMs: number[] = [];
        for (let i = 0; i < runs; i++) {
          apiMs.push(await call());
          rawMs.push(await raw());
        }
        return { apiMs, rawMs, detail };
      });
      return { c, ...value, otherLoadPct: load.otherPct };
    });
    progress(`  api median ${median(t.apiMs).toFixed(0)} ms, raw engine median ${median(t.rawMs).toFixed(0)} ms (${t.detail})`);
    timings.push(t);
  }
  await app.close();

  const eventsStored = Number((await store.query<{ c: string }>('SELECT count() AS c FROM audit_events'))[0]?.c ?? 0);
  const table = [
    '| API call | what it returns | server time median | worst of ' + runs + ' | raw engine, naive query (median) | API / raw | other load | ≤ 300 ms |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...timings.map((t) => {
      const api = median(t.apiMs);
      const raw = median(t.rawMs);
      return `| ${t.c.name} | ${t.detail} | ${api.toFixed(0)} ms | ${worst(t.apiMs).toFixed(0)} ms | ${raw.toFixed(0)} ms | ${(api / raw).toFixed(2)}× | ${t.otherLoadPct.toFixed(0)}% | ${api <= TARGET_MS ? 'yes' : '**no**'} |`;
    }),
  ];
  const met = timings.filter((t) => median(t.apiMs) <= TARGET_MS).length;
  const command = `npm run bench:queries${rows !== 10_000_000 ? ` -- --rows ${rows}` : ''}`;
  const section = [
    '## Queries',
    '',
    `\`${command}\` — ${startedAt}`,
    '',
    `Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGb} GB RAM, Node ${machine.node}, chDB ${chdbVersion} (embedded, in this process).`,
    '',
    `Store: ${eventsStored.toLocaleString('en-US')} generated audit events over ${days} days (40 subaccounts of Zipf-like sizes, ~7 % denied, ~2 % backend errors; bench/lib/query-data.ts), the rollups filled by their views as in production.`,
    `Server time is the dashboard's own handling of the request (fastify inject: routing, auth by API token, queries, serialisation; no network), ${runs} runs after one warm-up.`,
    'The baseline is the raw engine answering the same view the naive way, straight from `audit_events FINAL` without rollups, in the same run.',
    '',
    ...table,
    '',
    `${met} of ${timings.length} calls within the 300 ms target.`,
    `Peak RSS: ${Math.round(process.resourceUsage().maxRSS / 1024).toLocaleString('en-US')} MB.`,
    '',
  ].join('\n');
  console.log(section);
  if (!args['no-doc'] && args.only === undefined) {
    await writeSection(new URL('../../docs/benchmarks.md', import.meta.url).pathname, 'queries', section);
    console.log('wrote the Queries section of docs/benchmarks.md');
  }
} finally {
  await store.close();
  if (!args.keep) await rm(dataDir, { recursive: true, force: true });
}
