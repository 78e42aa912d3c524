// `node dist/bench/detect.js`: how long a detection sweep takes over 10 million audit events (target: 5 s
// or less), on an embedded store filled inside the engine (bench/lib/query-data.ts: 40 subaccounts, Zipf
// sizes, no anomalies). Two sweeps: every window of the whole range (what `tunnelwatch replay` runs), and
// one live run (the last two hours judged against 14 days of baseline), each next to the raw engine's
// plain scan of the same columns in the same run. Progress on stderr, the section on stdout; writes the
// "Detection sweep" section of docs/benchmarks.md unless --no-doc; exit code 1 when the full sweep
// misses the target.
//
//   node dist/bench/detect.js                          10M events over 30 days (a few minutes to fill)
//   node dist/bench/detect.js --rows 1000000           smaller
//   node dist/bench/detect.js --keep DIR               keep (and reuse next time) the filled store
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { detectRangeReport, type DetectReport } from '../collector/detect/run.js';
import { openStore } from '../collector/store/open-store.js';
import { writeSection } from './lib/benchmarks-doc.js';
import { detectSection, type SweepResult } from './lib/detect-report.js';
import { engineVersion, machineInfo } from './lib/machine.js';
import { withLoad } from './lib/machine-load.js';
import { progress, step } from './lib/progress.js';
import { fillAuditEvents } from './lib/query-data.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    days: { type: 'string', default: '30' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'string' },
    'no-doc': { type: 'boolean', default: false },
  },
});
const rows = Number(args.rows);
const days = Number(args.days);
const runs = Number(args.runs);
for (const [name, value] of Object.entries({ rows, days, runs })) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive whole number`);
}
const TARGET_MS = 5000;
/**
 * The baseline: one plain scan of every column the detectors read, grouped by subaccount and day (the
 * cheapest grouping that still reads them all), so the sweep's cost reads as a multiple of touching the data once.
 */
const BASELINE_SQL = 'SELECT subaccount, toDate(ts) AS day, count(), countIf(decision = \'deny\'), sum(bytes_out), sum(status), ' +
  'sum(length(cloud_app) + length(principal) + length(client_ip) + length(user_agent) + length(path) + length(virtual_host) + length(rule_id) + length(deny_reason) + length(error_type)), sum(virtual_port) ' +
  'FROM audit_events GROUP BY subaccount, day';
const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const machine = await machineInfo();
const chdbVersion = await engineVersion();
const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

const dataDir = args.keep ? resolve(args.keep) : await mkdtemp(join(tmpdir(), 'tw-bench-detect-'));
const reuse = args.keep !== undefined && existsSync(join(dataDir, 'store'));
const store = await openStore({ dataDir: join(dataDir, 'store'), retention: { auditDays: 0, rollupDays: 0 } });
let failed = false;
try {
  const stored = Number((await store.query<{ c: string }>('SELECT count() AS c FROM audit_events'))[0]?.c ?? 0);
  if (!(reuse && stored >= rows)) {
    if (stored > 0) await store.client.command({ query: 'TRUNCATE TABLE audit_events' });
    await step(`filling ${rows.toLocaleString('en-US')} events over ${days} days`, () =>
      fillAuditEvents(store, { rows, days, end: new Date(), onChunk: (done) => progress(`  ${done.toLocaleString('en-US')} / ${rows.toLocaleString('en-US')} events`) }));
    // Merge the many parts of a bulk fill, as background merges would on a live store.
    await step('merging parts', async () => {
      for (const table of ['audit_events', 'audit_minute', 'audit_hour', 'audit_denied_1m']) await store.client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
    });
  } else {
    progress(`reusing ${stored.toLocaleString('en-US')} events in ${dataDir}`);
  }
  const [span] = await store.query<{ a: string; b: string; c: string }>('SELECT toUnixTimestamp64Milli(min(ts)) AS a, toUnixTimestamp64Milli(max(ts)) AS b, count() AS c FROM audit_events');
  const from = new Date(Number(span?.a));
  const to = new Date(Number(span?.b) + 1);
  const sweeps = [
    { name: 'full range', range: { from, to } },
    { name: 'live run', range: { from: new Date(to.getTime() - 7_200_000), to } },
  ];
  const baseline = await withLoad(async () => {
    const samples: { ms: number; cpuMs: number }[] = [];
    for (let i = 0; i <= runs; i++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await store.query(BASELINE_SQL);
      if (i > 0) samples.push({ ms: performance.now() - t0, cpuMs: cpuMs(c0) });
    }
    samples.sort((a, b) => a.ms - b.ms);
    return samples[Math.floor(samples.length / 2)] as { ms: number; cpuMs: number };
  });
  progress(`baseline (one plain scan): ${baseline.value.ms.toFixed(0)} ms, ${baseline.value.cpuMs.toFixed(0)} ms CPU`);
  const results: SweepResult[] = [];
  for (const sweep of sweeps) {
    const reports: { ms: number; cpuMs: number; report: DetectReport }[] = [];
    const { load } = await withLoad(async () => {
      for (let i = 0; i <= runs; i++) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        const report = await detectRangeReport(store, sweep.range);
        // The first run warms the caches and is not counted.
        if (i > 0) reports.push({ ms: performance.now() - t0, cpuMs: cpuMs(c0), report });
        progress(`${sweep.name}: run ${i} ${(performance.now() - t0).toFixed(0)} ms, ${cpuMs(c0).toFixed(0)} ms CPU, ${report.findings.length} findings`);
      }
    });
    reports.sort((a, b) => a.ms - b.ms);
    const mid = reports[Math.floor(reports.length / 2)] as { ms: number; cpuMs: number; report: DetectReport };
    results.push({
      name: sweep.name, ms: mid.ms, cpuMs: mid.cpuMs, worstMs: reports.at(-1)?.ms ?? mid.ms, findings: mid.report.findings.length,
      timings: mid.report.timings, otherLoadPct: load.otherPct,
    });
    if (sweep === sweeps[0] && mid.ms > TARGET_MS) failed = true;
  }
  const command = `node dist/bench/detect.js${rows !== 10_000_000 ? ` --rows ${rows}` : ''}${days !== 30 ? ` --days ${days}` : ''}${runs !== 3 ? ` --runs ${runs}` : ''}`;
  const section = detectSection({
    command, startedAt, machine, chdb: chdbVersion, events: Number(span?.c), days, runs, targetMs: TARGET_MS, sweeps: results,
    baseline: { ...baseline.value, sql: BASELINE_SQL, otherLoadPct: baseline.load.otherPct }, maxRssMb: process.resourceUsage().maxRSS / 1024,
  });
  console.log(section);
  if (!args['no-doc']) {
    await writeSection(new URL('../../docs/benchmarks.md', import.meta.url).pathname, 'detect', section);
    console.log('wrote the Detection sweep section of docs/benchmarks.md');
  }
} finally {
  await store.close();
  if (!args.keep) await rm(dataDir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
