// What every phase of `npm run bench:export` records: wall time, this process's CPU (JS thread and the
// embedded engine's threads), the receiver's CPU when there is one, and what other processes on the
// shared machine used meanwhile.
import { loadBetween, sampleLoad, type LoadReport } from './machine-load.js';
import type { ReceiverProcess } from './export-receivers.js';

export interface Measured<T> {
  readonly value: T;
  readonly wallS: number;
  /** CPU seconds of this process. */
  readonly cpuS: number;
  /** CPU seconds of the receiver process (0 without one). */
  readonly receiverCpuS: number;
  readonly load: LoadReport;
}

export async function measured<T>(receiver: ReceiverProcess | undefined, fn: () => Promise<T>): Promise<Measured<T>> {
  const before = await sampleLoad();
  const r0 = receiver ? await receiver.cpuS() : 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const r1 = receiver ? await receiver.cpuS() : 0;
  return { value, wallS, cpuS: (cpu.user + cpu.system) / 1e6, receiverCpuS: r1 - r0, load: loadBetween(before, await sampleLoad()) };
}

/** One row of the report. */
export interface PhaseRow {
  readonly receiver: 'syslog' | 'elasticsearch' | 'none';
  /** exporter: through the runner; raw: the baseline; piece: one part alone, in this process. */
  readonly kind: 'exporter' | 'raw' | 'piece';
  readonly label: string;
  readonly events: number;
  readonly wallS: number;
  readonly cpuS: number;
  readonly receiverCpuS: number;
  readonly load: LoadReport;
  readonly note?: string;
}

export function row(receiver: PhaseRow['receiver'], kind: PhaseRow['kind'], label: string, events: number, m: Measured<unknown>, note?: string): PhaseRow {
  return { receiver, kind, label, events, wallS: m.wallS, cpuS: m.cpuS, receiverCpuS: m.receiverCpuS, load: m.load, ...(note ? { note } : {}) };
}
