// The evaluation's figures as a terminal table and as the markdown section of docs/detection.md.
import type { Finding } from '../types.js';
import type { EvalReport } from './harness.js';
import { quantile, type Tally } from './score.js';
import { EVALUATION_SEEDS, SIZES, TARGETS, TUNING_SEEDS } from './sizes.js';

const MAX_LISTED = 25;

function pct(x: number | null): string {
  return x === null ? 'n/a' : x.toFixed(3);
}

function duration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function row(name: string, t: Tally): string[] {
  return [
    name, String(t.labels), String(t.detected), pct(t.recall), String(t.findings), String(t.truePositives), pct(t.precision),
    duration(quantile(t.delaysMs, 0.5)), duration(quantile(t.delaysMs, 0.9)),
  ];
}

const HEAD = ['detector', 'labels', 'detected', 'recall', 'findings', 'true pos.', 'precision', 'delay p50', 'delay p90'];

function markdownTable(head: readonly string[], rows: readonly (readonly string[])[], numericFrom = 1): string {
  const align = head.map((_, i) => (i >= numericFrom ? '---:' : '---'));
  return [head, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function textTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function detectorRows(report: EvalReport): string[][] {
  const rows = [...report.byDetector].map(([d, t]) => row(d, t));
  rows.push(row('overall', report.overall));
  return rows;
}

function intensityRows(report: EvalReport): string[][] {
  const intensities = ['blatant', 'moderate', 'subtle'];
  return [...report.byDetectorIntensity].sort(([a], [b]) => a.localeCompare(b)).map(([d, m]) => [d, ...intensities.map((i) => {
    const t = m.get(i);
    return t ? `${t.detected}/${t.labels}` : '-';
  })]).concat([['all', ...intensities.map((i) => {
    const t = report.byIntensity.get(i);
    return t ? `${t.detected}/${t.labels}` : '-';
  })]]);
}

function scenarioRows(report: EvalReport): string[][] {
  const intensities = ['blatant', 'moderate', 'subtle'];
  return [...report.byScenarioIntensity].sort(([a, x], [b, y]) => x.detector.localeCompare(y.detector) || a.localeCompare(b)).map(([scenario, { detector, tallies }]) => [scenario, detector, ...intensities.map((i) => {
    const t = tallies.get(i);
    return t ? `${t.detected}/${t.labels}` : '-';
  })]);
}

function causeRows(report: EvalReport): string[][] {
  const causes = [...new Set(report.falsePositives.map((f) => f.cause))].sort();
  const detectors = [...new Set(report.falsePositives.map((f) => f.finding.detector))].sort();
  return detectors.map((d) => [d, ...causes.map((c) => String(report.falsePositives.filter((f) => f.finding.detector === d && f.cause === c).length))]);
}

function describeFinding(f: Finding): string {
  return `${f.detector} ${f.severity} ${f.subaccount || '(all)'} ${f.entity_type}=${f.entity} ${f.window_start.slice(0, 16)}..${f.window_end.slice(11, 16)}`;
}

function missLines(report: EvalReport): string[] {
  return report.misses.slice(0, MAX_LISTED).map((m) => {
    const l = m.label;
    const instead = m.instead.length === 0 ? 'no finding in that subaccount and window' : `instead: ${m.instead.slice(0, 3).map(describeFinding).join('; ')}${m.instead.length > 3 ? `; +${m.instead.length - 3}` : ''}`;
    return `seed ${m.seed} ${l.id ?? l.detector} (${l.subaccount || 'several'}, ${l.entity_type || 'subaccount'}${l.entity ? `=${l.entity}` : ''}, ${l.window_start.slice(0, 16)}): ${l.description} — ${instead}`;
  });
}

/** A few examples of each detector and cause, rather than the first few of the busiest detector. */
function fpLines(report: EvalReport, perGroup = 2): string[] {
  const groups = new Map<string, typeof report.falsePositives[number][]>();
  for (const f of report.falsePositives) {
    const key = `${f.finding.detector} ${f.cause}`;
    const list = groups.get(key) ?? [];
    if (list.length < perGroup) list.push(f);
    groups.set(key, list);
  }
  return [...groups.keys()].sort().flatMap((k) => (groups.get(k) ?? []).map((f) => `seed ${f.seed} ${describeFinding(f.finding)} [${f.cause}${f.near ? `: ${f.near}` : ''}] ${f.finding.title}`));
}

function verdict(report: EvalReport): string[][] {
  return [
    [`recall ≥ ${TARGETS.recall}`, pct(report.overall.recall), report.met.recall ? 'yes' : '**no**'],
    [`precision ≥ ${TARGETS.precision}`, pct(report.overall.precision), report.met.precision ? 'yes' : '**no**'],
  ];
}

/** '2 seeds; seeds 101, 102 (evaluation seeds)': how many, which, and whether they are the ones that count. */
function seedsNote(report: EvalReport): string {
  const tuning = report.seeds.filter((s) => TUNING_SEEDS.includes(s));
  const evaluation = report.seeds.filter((s) => EVALUATION_SEEDS.includes(s));
  const kind = tuning.length === report.seeds.length ? 'TUNING seeds: not the figures that count'
    : tuning.length > 0 ? `mixed: ${tuning.join(', ')} are tuning seeds`
      : evaluation.length === report.seeds.length ? 'evaluation seeds' : 'not the evaluation seeds';
  const count = report.seeds.length;
  return `${count} seed${count === 1 ? '' : 's'}; seeds ${report.seeds.join(', ')} (${kind})`;
}

export function textReport(report: EvalReport): string {
  const events = report.perSeed.reduce((a, s) => a + s.events, 0);
  const causes = [...new Set(report.falsePositives.map((f) => f.cause))].sort();
  return [
    `eval:detect ${report.size}: ${SIZES[report.size].note}, ${seedsNote(report)}; ${events.toLocaleString('en-US')} events; ${(report.wallMs / 60_000).toFixed(1)} min`,
    '',
    textTable(HEAD, detectorRows(report)),
    '',
    'detected / labels by intensity:',
    textTable(['detector', 'blatant', 'moderate', 'subtle'], intensityRows(report)),
    '',
    'detected / labels by scenario:',
    textTable(['scenario', 'detector', 'blatant', 'moderate', 'subtle'], scenarioRows(report)),
    '',
    report.falsePositives.length === 0 ? 'false positives: none' : `false positives by cause:\n${textTable(['detector', ...causes], causeRows(report))}\n${fpLines(report).join('\n')}`,
    '',
    report.misses.length === 0 ? 'missed labels: none' : `missed labels (${report.misses.length}):\n${missLines(report).join('\n')}`,
    '',
    ...verdict(report).map(([t, m, ok]) => `${t}: ${m} ${ok === 'yes' ? 'met' : 'NOT MET'}`),
  ].join('\n');
}

export function markdownSection(report: EvalReport, when: Date): string {
  const events = report.perSeed.reduce((a, s) => a + s.events, 0);
  const causes = [...new Set(report.falsePositives.map((f) => f.cause))].sort();
  const perSeed = report.perSeed.map((s) => [String(s.seed), s.events.toLocaleString('en-US'), String(s.labels), String(s.findings), pct(s.score.overall.recall), pct(s.score.overall.precision), duration(s.simulateMs), duration(s.replayMs)]);
  return [
    `## ${report.size === 'small' ? 'Small (CI)' : 'Full'}`,
    '',
    `\`npm run eval:detect -- --size ${report.size}\` — ${when.toISOString().slice(0, 19)}Z`,
    '',
    `${SIZES[report.size].note}, ${seedsNote(report)}; the detectors are tuned on seeds ${TUNING_SEEDS.join(', ')} only. ${events.toLocaleString('en-US')} events in all; ${(report.wallMs / 60_000).toFixed(1)} min.`,
    '',
    markdownTable(HEAD, detectorRows(report)),
    '',
    'Recall grouped by the label\'s detector, precision by the finding\'s; delay = first matching finding\'s window_end − label window_start.',
    '',
    markdownTable(['labels detected', 'blatant', 'moderate', 'subtle'], intensityRows(report)),
    '',
    'By scenario (the injected shape; several may be expected of one detector):',
    '',
    markdownTable(['scenario', 'detector', 'blatant', 'moderate', 'subtle'], scenarioRows(report), 2),
    '',
    markdownTable(['target', 'measured', 'met'], verdict(report)),
    '',
    markdownTable(['seed', 'events', 'labels', 'findings', 'recall', 'precision', 'simulate', 'replay'], perSeed),
    '',
    report.falsePositives.length === 0 ? 'False positives: none.' : `False positives by cause (\`novelty:*\`: during a benign novelty of that subaccount; \`beside_label\`: during an injected anomaly but naming an identity it did not concentrate on; \`normal_traffic\`: anything else):\n\n${markdownTable(['detector', ...causes], causeRows(report))}\n\nExamples (one per detector and cause):\n\n${fpLines(report, 1).map((l) => `- ${l}`).join('\n')}`,
    '',
    report.misses.length === 0 ? 'Missed labels: none.' : `Missed labels (${report.misses.length}${report.misses.length > MAX_LISTED ? `, first ${MAX_LISTED}` : ''}):\n\n${missLines(report).map((l) => `- ${l}`).join('\n')}`,
  ].join('\n');
}
