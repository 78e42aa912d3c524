// CPU used on the machine during a benchmark phase by processes that are not the benchmark's own (other
// people's builds and tests on a shared machine): figures measured next to such load are disturbed.
import { readdir, readFile } from 'node:fs/promises';

const TICKS_PER_S = 100; // USER_HZ on Linux

interface ProcStat {
  readonly ppid: number;
  readonly name: string;
  /** utime + stime in seconds. */
  readonly cpuS: number;
}

export interface LoadSample {
  readonly atMs: number;
  /** From /proc/stat: all CPUs, in ticks. */
  readonly busyTicks: number;
  readonly totalTicks: number;
  readonly procs: ReadonlyMap<number, ProcStat>;
}

export interface LoadReport {
  /** Busy share of all CPUs, 0-100. */
  readonly machineBusyPct: number;
  /** CPU used by processes outside the benchmark's process tree, in % of one CPU (a lower bound:
   * processes that started and ended inside the window are not seen). */
  readonly otherPct: number;
  /** The largest of those, e.g. "node (pid 123) 45%". */
  readonly topOther: string[];
}

async function readProc(pid: string): Promise<ProcStat | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/stat`, 'utf8');
    const close = raw.lastIndexOf(')');
    const f = raw.slice(close + 2).split(' ');
    // After "pid (comm) ": state ppid ... utime is the 12th field and stime the 13th from here.
    return { ppid: Number(f[1]), name: raw.slice(raw.indexOf('(') + 1, close), cpuS: (Number(f[11]) + Number(f[12])) / TICKS_PER_S };
  } catch {
    return undefined; // gone meanwhile
  }
}

export async function sampleLoad(): Promise<LoadSample> {
  const cpu = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const procs = new Map<number, ProcStat>();
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const p = await readProc(pid);
    if (p) procs.set(Number(pid), p);
  }
  return { atMs: Date.now(), busyTicks: total - idle, totalTicks: total, procs };
}

function chain(pid: number, procs: ReadonlyMap<number, ProcStat>): number[] {
  const out: number[] = [];
  for (let p: number | undefined = pid; p !== undefined && p > 1 && out.length < 64; p = procs.get(p)?.ppid) out.push(p);
  return out;
}

/** The benchmark's own: its descendants (servers, wrk) and its ancestors (npm, the shell). */
function isOurs(pid: number, procs: ReadonlyMap<number, ProcStat>, root: number, ancestors: ReadonlySet<number>): boolean {
  return ancestors.has(pid) || chain(pid, procs).includes(root);
}

export function loadBetween(a: LoadSample, b: LoadSample, root = process.pid): LoadReport {
  const seconds = Math.max(0.001, (b.atMs - a.atMs) / 1000);
  const other: { label: string; pct: number }[] = [];
  const ancestors = new Set(chain(root, b.procs));
  for (const [pid, after] of b.procs) {
    const before = a.procs.get(pid);
    if (!before || isOurs(pid, b.procs, root, ancestors)) continue;
    const pct = ((after.cpuS - before.cpuS) / seconds) * 100;
    if (pct > 0) other.push({ label: `${after.name} (pid ${pid})`, pct });
  }
  other.sort((x, y) => y.pct - x.pct);
  return {
    machineBusyPct: b.totalTicks > a.totalTicks ? ((b.busyTicks - a.busyTicks) / (b.totalTicks - a.totalTicks)) * 100 : 0,
    otherPct: other.reduce((s, o) => s + o.pct, 0),
    topOther: other.slice(0, 3).map((o) => `${o.label} ${o.pct.toFixed(0)}%`),
  };
}

/** CPU seconds a process used between two samples (0 if it is not in both). */
export function cpuSecondsOf(a: LoadSample, b: LoadSample, pid: number): number {
  const before = a.procs.get(pid);
  const after = b.procs.get(pid);
  return before && after ? Math.max(0, after.cpuS - before.cpuS) : 0;
}

/** Runs fn and reports the machine load around it. */
export async function withLoad<T>(fn: () => Promise<T>): Promise<{ value: T; load: LoadReport }> {
  const before = await sampleLoad();
  const value = await fn();
  return { value, load: loadBetween(before, await sampleLoad()) };
}
