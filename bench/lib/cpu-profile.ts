// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time per function: the hot spots, by name.
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotSpot {
  readonly name: string;
  readonly where: string;
  readonly selfMs: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Time not idle, not garbage collection and not "(program)". */
  readonly busyMs: number;
  readonly gcMs: number;
  readonly idleMs: number;
  readonly top: HotSpot[];
  /** Self time grouped by source area (node internals, product folders, dependencies). */
  readonly byArea: { area: string; ms: number; share: number }[];
}

function shortUrl(url: string): string {
  if (!url) return '';
  const dist = url.indexOf('/dist/');
  if (dist !== -1) return url.slice(dist + 6);
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) return url.slice(nm + 14);
  return url.replace(/^file:\/\//, '');
}

function area(url: string, name: string): string {
  if (name === '(garbage collector)') return 'gc';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'program (native, outside JS)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[1] ?? url.slice(5)}`;
  const s = shortUrl(url);
  if (url.includes('/node_modules/')) return `dep:${s.split('/')[0] ?? s}`;
  if (s === '') return 'native/builtin';
  return s.split('/').slice(0, 2).join('/');
}

export async function summariseProfile(path: string, topN = 25): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Self time per node from samples x time deltas (hitCount alone ignores the sampling interval's jitter).
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, deltas[i + 1] ?? deltas[i] ?? 0));
  }
  const perFunction = new Map<string, { name: string; where: string; us: number }>();
  const perArea = new Map<string, number>();
  let total = 0;
  let gc = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    total += us;
    if (name === '(garbage collector)') gc += us;
    if (name === '(idle)') idle += us;
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const entry = perFunction.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    perFunction.set(key, entry);
    const a = area(url, name);
    perArea.set(a, (perArea.get(a) ?? 0) + us);
  }
  const busy = total - idle;
  const top = [...perFunction.values()]
    .filter((f) => f.name !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .slice(0, topN)
    .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, share: busy > 0 ? f.us / busy : 0 }));
  const byArea = [...perArea.entries()]
    .filter(([a]) => a !== 'idle')
    .sort((a, b) => b[1] - a[1])
    .map(([a, us]) => ({ area: a, ms: us / 1000, share: busy > 0 ? us / busy : 0 }));
  return { totalMs: total / 1000, busyMs: busy / 1000, gcMs: gc / 1000, idleMs: idle / 1000, top, byArea };
}

export function formatProfile(label: string, s: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    `${label}: ${s.totalMs.toFixed(0)} ms sampled, busy ${s.busyMs.toFixed(0)} ms (${pct(s.totalMs > 0 ? s.busyMs / s.totalMs : 0)}), gc ${s.gcMs.toFixed(0)} ms`,
    '  by area (share of busy time):',
    ...s.byArea.slice(0, 12).map((a) => `    ${pct(a.share).padStart(6)}  ${a.area}`),
    '  top functions by self time:',
    ...s.top.map((f) => `    ${pct(f.share).padStart(6)}  ${f.name}  ${f.where}`),
  ];
  return lines.join('\n');
}
