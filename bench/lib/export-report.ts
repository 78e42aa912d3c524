// The Export section of docs/benchmarks.md and the terminal summary: events/s of each exporter through
// the runner against the raw baseline of the same receiver in the same run, the parts measured alone,
// and the CPU of both ends.
import type { LoadReport } from './machine-load.js';
import type { MachineInfo } from './machine.js';
import type { PhaseRow } from './export-measure.js';

export const TARGET_EVENTS_PER_S = 50_000;

export interface ExportReport {
  readonly startedAt: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly chdb: string;
  readonly rsyslog: string;
  readonly events: number;
  readonly format: string;
  readonly rows: readonly PhaseRow[];
  /** Load just before the run. */
  readonly loadBefore: LoadReport;
  readonly notes: readonly string[];
}

const n = (x: number): string => Math.round(x).toLocaleString('en-US');
const rate = (r: PhaseRow): number => r.events / r.wallS;
const us = (s: number, events: number): string => (events > 0 ? `${((s * 1e6) / events).toFixed(1)} µs` : '-');
const other = (l: LoadReport): string => `${l.otherPct.toFixed(0)}%`;
/** Other processes' CPU, and how busy the whole machine was (short-lived processes show only in the latter). */
const otherAndBusy = (l: LoadReport): string => `${other(l)} (machine ${l.machineBusyPct.toFixed(0)}% busy)`;

function best(rows: readonly PhaseRow[], receiver: PhaseRow['receiver'], kind: PhaseRow['kind']): PhaseRow | undefined {
  return rows.filter((r) => r.receiver === receiver && r.kind === kind).sort((a, b) => rate(b) - rate(a))[0];
}

export function verdicts(report: ExportReport): { receiver: string; exporter: PhaseRow | undefined; raw: PhaseRow | undefined; met: boolean }[] {
  return (['syslog', 'elasticsearch'] as const).map((receiver) => {
    const exporter = best(report.rows, receiver, 'exporter');
    return { receiver, exporter, raw: best(report.rows, receiver, 'raw'), met: exporter !== undefined && rate(exporter) >= TARGET_EVENTS_PER_S };
  }).filter((v) => v.exporter !== undefined || v.raw !== undefined);
}

const cpuUs = (r: PhaseRow | undefined): string => (r ? us(r.cpuS, r.events) : '-');

/** Where the time goes, from the rows: the parts' CPU per event next to each whole run's. */
export function findings(rows: readonly PhaseRow[]): string[] {
  const piece = (text: string) => rows.find((r) => r.kind === 'piece' && r.label.includes(text));
  const out: string[] = [];
  const read = piece('source');
  for (const receiver of ['syslog', 'elasticsearch'] as const) {
    const e = best(rows, receiver, 'exporter');
    const raw = best(rows, receiver, 'raw');
    if (!e) continue;
    const parts = receiver === 'syslog'
      ? piece('stored rows')
        ? `store read ${cpuUs(read)}, frames from the stored rows ${cpuUs(piece('stored rows'))}`
        : `store read ${cpuUs(read)}, messages ${cpuUs(piece('messages'))}, frames ${cpuUs(piece('octet-counted'))}`
      : `store read ${cpuUs(read)}, ECS documents from the stored rows ${cpuUs(piece('ECS documents straight'))}, _bulk bodies ${cpuUs(piece('_bulk'))}`;
    out.push(`${receiver}: CPU of this process per event, parts alone: ${parts}; the whole run through the runner: ${cpuUs(e)} (the parts, plus the runner, garbage collection and the ${receiver === 'syslog' ? 'socket' : 'client\'s request and answer handling'}), and the receiver ${us(e.receiverCpuS, e.events)}.`);
    if (raw && raw.receiverCpuS > 0) {
      const ceiling = raw.events / raw.receiverCpuS;
      if (ceiling < TARGET_EVENTS_PER_S * 1.5) {
        out.push(`${receiver}: the receiver alone needs ${us(raw.receiverCpuS, raw.events)} of CPU per event in the raw baseline, i.e. at most ~${n(ceiling)} events/s per core it gets: with ${receiver === 'elasticsearch' ? 'the stand-in (JSON.parse of every action and document, and its answer)' : 'rsyslog'} as the receiver the ${n(TARGET_EVENTS_PER_S)}/s target cannot be met on this machine whatever the exporter does; the ratio to raw is the exporter's share.`);
      }
    }
  }
  return out;
}

export function markdownSection(report: ExportReport): string {
  const m = report.machine;
  const disturbed = report.rows.some((r) => r.load.otherPct > 10) || report.loadBefore.otherPct > 10;
  const lines = [
    '## Export',
    '',
    `\`${report.command}\` — ${report.startedAt}`,
    '',
    `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGb} GB RAM, Node ${m.node}, chDB ${report.chdb} (embedded, in this process), rsyslog ${report.rsyslog}.`,
    `Just before the run the machine was ${report.loadBefore.machineBusyPct.toFixed(0)}% busy (other processes: ${other(report.loadBefore)} of a CPU${report.loadBefore.topOther.length ? `: ${report.loadBefore.topOther.join(', ')}` : ''}).`,
    '',
    `${n(report.events)} realistic audit events (bench/lib/ingest-events.ts) are stored in an embedded store; each exporter then runs under the framework's runner (collector/export/runner.ts, with the store's cursors, dead letters and export source, default \`export:\` settings) from an empty cursor until the receiver holds every event.`,
    `- **syslog**: \`transport: tcp\`, \`format: ${report.format}\`, defaults otherwise (batch_size 5000, confirm_ms 20), into a real rsyslog (imtcp, octet counting) that writes one short line per message (its MSGID) to a file on tmpfs behind an in-memory queue: the receiver's disk is not measured, its parsing of every message is. Raw baseline: the same frames, pre-formatted, written over one TCP connection as fast as the socket takes them.`,
    '- **elasticsearch**: defaults (batch_size 2000, flush_bytes 5 MB, concurrency 2) into the wire stand-in (test/helpers/es-standin.ts, **not Elasticsearch**) in a process of its own with its mapping check off; it parses every action and document, and keeps their _ids but not their sources (memory touched for the first time costs ~3 ms of CPU per MB on this VM, ~6 µs per document kept, which is the stand-in\'s storage and not the exporter\'s work). Raw baseline: the same documents as pre-serialised _bulk bodies of 2000, two requests in flight.',
    '- "done" is when the receiver holds every event (rsyslog has written N lines; the stand-in\'s _count is N). The parts are measured alone, in this process, on the same events; the store read keeps every record for the parts after it. With `format: rfc5424` the exporter writes audit records straight from their stored row bytes (collector/export/syslog/rfc5424-rows.ts) and never decodes them; the string path (decode, createFormatter, frames) is measured beside it because CEF, LEEF and findings take it. The records, messages and documents of the parts are released before each exporter runs, so its garbage collection is its own. The runner reads the next page while it sends the current one.',
    '- CPU: "this process" includes the embedded engine\'s threads; the receiver\'s CPU is its own process. "Other load" is CPU (% of one CPU) used meanwhile by processes outside the benchmark (a lower bound: processes that started and ended within the phase are not seen, but they do show in how busy the machine was); above ~10% the figures of that row are disturbed.',
    '',
    '| receiver | phase | events | events/s | vs raw | CPU this process / event | receiver CPU / event | other load | note |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of report.rows) {
    const raw = r.kind === 'exporter' ? best(report.rows, r.receiver, 'raw') : undefined;
    lines.push(`| ${r.receiver === 'none' ? '-' : r.receiver} | ${r.label} | ${n(r.events)} | ${n(rate(r))} | ${raw ? `${(rate(r) / rate(raw)).toFixed(2)}×` : r.kind === 'raw' ? '1.00×' : '-'} | ${us(r.cpuS, r.events)} | ${r.kind === 'piece' ? '-' : us(r.receiverCpuS, r.events)} | ${otherAndBusy(r.load)} | ${r.note ?? ''} |`);
  }
  lines.push('', '| target | measured | met |', '| --- | --- | --- |');
  for (const v of verdicts(report)) {
    const e = v.exporter;
    lines.push(`| ${v.receiver} export ≥ ${n(TARGET_EVENTS_PER_S)} events/s | ${e ? `${n(rate(e))} events/s${v.raw ? ` (${(rate(e) / rate(v.raw)).toFixed(2)}× raw, ${n(rate(v.raw))} events/s)` : ''}` : 'not run'} | ${v.met ? 'yes' : '**no**'} |`);
  }
  if (report.notes.length > 0) lines.push('', ...report.notes.map((x) => `- ${x}`));
  if (disturbed) lines.push('', '**Disturbed:** other processes used more than 10% of a CPU during part of this run (see "other load"); on 2 shared cores these figures are lower than the exporters can do on a quiet machine.');
  return lines.join('\n');
}

export function terminalSummary(report: ExportReport): string {
  const width = Math.max(...report.rows.map((r) => r.label.length + r.receiver.length + 3));
  const out = report.rows.map((r) => {
    const raw = r.kind === 'exporter' ? best(report.rows, r.receiver, 'raw') : undefined;
    return `${`${r.receiver}: ${r.label}`.padEnd(width)}  ${n(rate(r)).padStart(9)} events/s  ${raw ? `${(rate(r) / rate(raw)).toFixed(2)}× raw` : ''.padEnd(8)}  cpu ${us(r.cpuS, r.events).padStart(9)}/ev  receiver ${r.kind === 'piece' ? '       -' : us(r.receiverCpuS, r.events).padStart(9)}/ev  other load ${other(r.load).padStart(4)}, machine ${r.load.machineBusyPct.toFixed(0).padStart(3)}% busy  ${r.note ?? ''}`;
  });
  for (const v of verdicts(report)) out.push(`${v.receiver}: target ${n(TARGET_EVENTS_PER_S)} events/s ${v.met ? 'met' : 'NOT met'}`);
  out.push(...report.notes);
  return out.join('\n');
}
