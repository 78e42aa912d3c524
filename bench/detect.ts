// `node dist/bench/detect.js`: how long a detection sweep takes over 10 million audit events (target: 5 s
// or less), on an embedded store filled inside the engine (bench/lib/query-data.ts: 40 subaccounts, Zipf
// sizes, no anomalies). Two sweeps: every window of the whole range (what `tunnelwatch replay` runs), and
// one live run (the last two hours judged against 14 days of baseline). Progress on stderr, the summary
// and per-detector times on stdout; exit code 1 when the full sweep misses the target.
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
import { withLoad } from './lib/machine-load.js';
import { progress, step } from './lib/progress.js';
import { fillAuditEvents } from './lib/query-data.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    days: { type: 'string', default: '30' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'string' },
  },
});
const rows = Number(args.rows);
const days = Number(args.days);
const runs = Number(args.runs);
for (const [name, value] of Object.entries({ rows, days, runs })) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive whole number`);
}
const TARGET_MS = 5000;

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
    { name: `full range (${from.toISOString().slice(0, 10)} .. ${to.toISOString().slice(0, 10)}, every window)`, range: { from, to } },
    { name: 'live run (last 2 h against 14 days)', range: { from: new Date(to.getTime() - 7_200_000), to } },
  ];
  const lines: string[] = [`${Number(span?.c).toLocaleString('en-US')} events; target: full sweep <= ${TARGET_MS} ms`];
  for (const sweep of sweeps) {
    const reports: { ms: number; report: DetectReport }[] = [];
    const { load } = await withLoad(async () => {
      for (let i = 0; i <= runs; i++) {
        const t0 = performance.now();
        const report = await detectRangeReport(store, sweep.range);
        // The first run warms the caches and is not counted.
        if (i > 0) reports.push({ ms: performance.now() - t0, report });
        progress(`${sweep.name}: run ${i} ${(performance.now() - t0).toFixed(0)} ms, ${report.findings.length} findings`);
      }
    });
    reports.sort((a, b) => a.ms - b.ms);
    const mid = reports[Math.floor(reports.length / 2)] as { ms: number; report: DetectReport };
    lines.push('', `${sweep.name}: median ${mid.ms.toFixed(0)} ms of ${runs} runs, ${mid.report.findings.length} findings; other load on the machine ${load.otherPct.toFixed(0)} % of a CPU${load.topOther.length ? ` (${load.topOther.join(', ')})` : ''}`);
    for (const t of mid.report.timings) lines.push(`  ${t.detector.padEnd(22)} ${t.ms.toFixed(0).padStart(6)} ms  ${t.findings} findings`);
    if (sweep === sweeps[0] && mid.ms > TARGET_MS) failed = true;
  }
  lines.push('', failed ? `FAIL: the full sweep took more than ${TARGET_MS} ms` : `ok: the full sweep took ${TARGET_MS} ms or less`);
  console.log(lines.join('\n'));
} finally {
  await store.close();
  if (!args.keep) await rm(dataDir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
