// The ingest benchmark's table: rows/s (wall) and rows per CPU-second (robust on a shared machine, since
// chDB runs inside this process), each against the engine's own INSERT ... SELECT in the same run.
import type { MachineInfo } from './machine.js';
import type { PhaseResult } from './ingest-phases.js';

export const TARGET_ROWS_PER_S = 150_000;

const n = (x: number): string => Math.round(x).toLocaleString('en-US');
const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}×` : '-');

export interface IngestReport {
  readonly startedAt: string;
  readonly machine: MachineInfo;
  readonly chdb: string;
  readonly phases: readonly PhaseResult[];
  readonly maxRssMb: number;
}

function rate(p: PhaseResult): number {
  return p.rows / p.wallS;
}
function cpuRate(p: PhaseResult): number {
  return p.rows / p.cpuS;
}

/**
 * The baseline: the faster of the engine's own INSERT ... SELECT phases (one statement, or 100,000-row
 * statements), so that a slow run of one of them never flatters the ratios.
 */
function engineBaseline(phases: readonly PhaseResult[]): PhaseResult | undefined {
  const runs = phases.filter((p) => p.id === 'engine' || p.id === 'engine-batches');
  return runs.length === 0 ? undefined : runs.reduce((a, b) => (rate(b) > rate(a) ? b : a));
}

export function markdownSection(report: IngestReport, command: string): string {
  const engine = engineBaseline(report.phases);
  const naive = report.phases.find((p) => p.id === 'format-naive');
  const store = report.phases.find((p) => p.id === 'store');
  const http = report.phases.find((p) => p.id === 'http');
  const lines = [
    '## Ingest',
    '',
    `\`${command}\` — ${report.startedAt}`,
    '',
    `Machine: ${report.machine.cpus} CPUs (${report.machine.cpuModel}), ${report.machine.memoryGb} GB RAM, Node ${report.machine.node}, chDB ${report.chdb} (embedded, in this process).`,
    '',
    'Every phase writes realistic audit events into the same embedded store (audit_events with its rollup views), tables emptied in between. The store and HTTP phases send from 16 concurrent callers, as the shippers of that many relays and connectors would; the store commits them in groups of up to 100,000 rows.',
    '"rows/CPU-s" divides by the CPU this process used (JS thread and engine threads): it moves less than wall time when other processes share the machine.',
    `"vs engine" compares with the faster of the engine's own INSERT ... SELECT phases in this run${engine ? ` (here: ${engine.label})` : ''}.`,
    '',
    '| phase | rows | rows/s | vs engine | rows/CPU-s | vs engine | peak RSS | other load | note |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const p of report.phases) {
    lines.push(
      `| ${p.label} | ${n(p.rows)} | ${n(rate(p))} | ${engine ? ratio(rate(p), rate(engine)) : '-'} | ${n(cpuRate(p))} | ${engine ? ratio(cpuRate(p), cpuRate(engine)) : '-'} | ${n(p.peakRssMb)} MB | ${p.load.otherPct.toFixed(0)}% | ${p.note ?? ''} |`,
    );
  }
  lines.push('', `Peak RSS of the whole run: ${n(report.maxRssMb)} MB.`);
  if (store && engine && naive) {
    lines.push(
      '',
      '| target | measured | met |',
      '| --- | --- | --- |',
      `| store path ≥ ${n(TARGET_ROWS_PER_S)} events/s sustained | ${n(rate(store))} events/s (${ratio(rate(store), rate(engine))} the engine's best INSERT ... SELECT, ${ratio(rate(store), rate(naive))} the naive path) | ${rate(store) >= TARGET_ROWS_PER_S ? 'yes' : '**no**'} |`,
    );
    if (http) {
      lines.push(`| collector HTTP ingest ≥ ${n(TARGET_ROWS_PER_S)} events/s sustained | ${n(rate(http))} events/s (${ratio(rate(http), rate(engine))} the engine's best INSERT ... SELECT) | ${rate(http) >= TARGET_ROWS_PER_S ? 'yes' : '**no**'} |`);
    }
  }
  return lines.join('\n');
}

export function terminalSummary(report: IngestReport): string {
  const width = Math.max(...report.phases.map((p) => p.label.length));
  const engine = engineBaseline(report.phases);
  const rows = report.phases.map(
    (p) =>
      `${p.label.padEnd(width)}  ${n(rate(p)).padStart(9)} rows/s  ${(engine ? ratio(rate(p), rate(engine)) : '').padStart(6)}  ${n(cpuRate(p)).padStart(9)} rows/CPU-s  rss ${n(p.peakRssMb).padStart(5)} MB  other load ${p.load.otherPct.toFixed(0).padStart(3)}%  ${p.note ?? ''}`,
  );
  return [...rows, `peak RSS of the run: ${n(report.maxRssMb)} MB`].join('\n');
}
