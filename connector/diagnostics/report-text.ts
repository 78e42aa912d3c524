// Check and doctor reports as text for people: one heading line, then a table of steps with their result,
// time and message, and the fix under every step that failed or warned.
import type { DoctorReport } from './doctor.js';
import type { CheckReport, StepOutcome } from './types.js';

interface TextStep {
  readonly step: string;
  readonly outcome: StepOutcome;
  readonly duration_ms: number;
  readonly message: string;
  readonly fix: string;
}

const RESULT: Record<StepOutcome, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skipped: 'skipped' };
const STATE: Record<CheckReport['state'], string> = { up: 'UP', degraded: 'DEGRADED', down: 'DOWN' };

function table(steps: readonly TextStep[]): string[] {
  const width = Math.max(4, ...steps.map((s) => s.step.length));
  const indent = ' '.repeat(2 + width + 2 + 7 + 2 + 8 + 2);
  const lines = [`  ${'step'.padEnd(width)}  ${'result'.padEnd(7)}  ${'time'.padStart(8)}  message`];
  for (const s of steps) {
    const time = s.outcome === 'skipped' ? '-' : `${s.duration_ms} ms`;
    lines.push(`  ${s.step.padEnd(width)}  ${RESULT[s.outcome].padEnd(7)}  ${time.padStart(8)}  ${s.message}`);
    if (s.fix) lines.push(`${indent}fix: ${s.fix}`);
  }
  return lines;
}

export function formatCheckReport(r: CheckReport): string {
  const verdict = r.state === 'up' ? `UP, ${r.summary}` : `${STATE[r.state]}, ${r.classification}`;
  return [`${r.subaccount}  ${r.virtual_host} -> ${r.internal_host} (${r.protocol}): ${verdict}`, ...table(r.steps)].join('\n');
}

export function formatDoctorReport(r: DoctorReport): string {
  const verdict = r.state === 'up' ? 'UP' : `${STATE[r.state]}, ${r.classification}`;
  const name = r.server_name === r.relay_address.replace(/:\d+$/, '') ? '' : `, server name ${r.server_name}`;
  return [`connector ${r.connector_id} -> relay ${r.relay_address}${name}: ${verdict}`, ...table(r.steps), '', r.summary].join('\n');
}

/** "3 mappings: 1 up, 1 degraded, 1 down". */
export function formatTotals(reports: readonly CheckReport[]): string {
  const count = (state: CheckReport['state']): number => reports.filter((r) => r.state === state).length;
  return `${reports.length} mapping${reports.length === 1 ? '' : 's'} checked: ${count('up')} up, ${count('degraded')} degraded, ${count('down')} down`;
}

/** The exit status of check and doctor: 0 all up, 1 any down, 2 degraded only. */
export function exitCodeOf(states: readonly CheckReport['state'][]): number {
  if (states.includes('down')) return 1;
  if (states.includes('degraded')) return 2;
  return 0;
}
