// Live detection against replay on the same data (run after `npm run build`): loads the independent
// traffic of test/helpers/independent-traffic.ts (30 days, ~310,000 events) into a temporary embedded
// store, steps a live detector through it as its clock advances (one run every --step minutes, from
// --from-day on, default 60 and 4), then runs one full-range sweep (what `tunnelwatch replay` does) and
// compares the findings: in both (same detector and entity, overlapping windows), only in one, and those
// whose severity differs. Progress on stderr. About 1.4 s a live run here, ~15 minutes at the defaults.
//   node scripts/live-vs-replay.mjs [--step 60] [--from-day 4]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const dist = (p) => import(new URL(`../dist/${p}`, import.meta.url).href);
const { openStore } = await dist('collector/store/open-store.js');
const { createLiveDetector } = await dist('collector/detect/live.js');
const { detectRange } = await dist('collector/detect/run.js');
const { readFindings } = await dist('collector/detect/findings-store.js');
const { independentTraffic, INDEPENDENT_START } = await dist('test/helpers/independent-traffic.js');
const { emit } = await dist('test/unit/detect/fixtures.js');

const { values } = parseArgs({ options: { step: { type: 'string', default: '60' }, 'from-day': { type: 'string', default: '4' } } });
const stepMs = Number(values.step) * 60_000;
const fromDay = Number(values['from-day']);
const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'tw-live-vs-replay-'));
const store = await openStore({ dataDir: dir, retention: { auditDays: 0, rollupDays: 0 } });
try {
  const events = emit(independentTraffic(23).records, 'connector-independent');
  for (let i = 0; i < events.length; i += 10_000) await store.insertAuditEvents(events.slice(i, i + 10_000));
  await store.flush();
  console.error(`loaded ${events.length.toLocaleString('en-US')} events`);
  const start = INDEPENDENT_START + fromDay * DAY;
  const end = INDEPENDENT_START + 30 * DAY;
  let clock = start;
  const live = createLiveDetector({ store, now: () => clock, settleMs: 0 });
  const t0 = performance.now();
  let runs = 0;
  for (; clock <= end; clock += stepMs) {
    await live.runOnce();
    if (++runs % 24 === 0) console.error(`live: ${new Date(clock).toISOString()}, ${runs} runs, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const liveFindings = await readFindings(store, { from: new Date(start), to: new Date(end), limit: 100_000 });
  const replayFindings = (await detectRange(store, { from: new Date(INDEPENDENT_START), to: new Date(end) })).filter((f) => Date.parse(f.window_end) > start);
  const key = (f) => `${f.detector} ${f.subaccount} ${f.entity_type}=${f.entity}`;
  const same = (a, b) => key(a) === key(b) && Date.parse(a.window_start) < Date.parse(b.window_end) && Date.parse(a.window_end) > Date.parse(b.window_start);
  const line = (f) => `  ${f.severity.padEnd(8)} ${key(f)} ${f.window_start.slice(0, 16)}..${f.window_end.slice(11, 16)}: ${f.title}`;
  const both = replayFindings.filter((r) => liveFindings.some((l) => same(l, r)));
  const onlyReplay = replayFindings.filter((r) => !liveFindings.some((l) => same(l, r)));
  const onlyLive = liveFindings.filter((l) => !replayFindings.some((r) => same(l, r)));
  const severity = both.flatMap((r) => liveFindings.filter((l) => same(l, r) && l.severity !== r.severity).map((l) => [r, l]));
  console.log(`${runs} live runs every ${values.step} min from day ${fromDay}; replay ${replayFindings.length} findings, live ${liveFindings.length}: in both ${both.length}, only in replay ${onlyReplay.length}, only live ${onlyLive.length}, severity differs ${severity.length}`);
  if (onlyReplay.length) console.log(`only in replay:\n${onlyReplay.map(line).join('\n')}`);
  if (onlyLive.length) console.log(`only live:\n${onlyLive.map(line).join('\n')}`);
  for (const [r, l] of severity) console.log(`severity: replay ${r.severity}, live ${l.severity}\n${line(r)}`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
