// The tunnel benchmark's results: the terminal summary and the docs/benchmarks.md section.
import type { LoadReport } from './machine-load.js';
import type { MachineInfo } from './machine.js';
import type { WrkResult } from './wrk.js';

export type PathId = 'direct' | 'tunnelwatch' | 'ssh';

export interface PathResult {
  readonly id: PathId;
  readonly label: string;
  readonly wrk: WrkResult;
  /** Responses that were not 2xx: wrk's count of >= 400 plus the 1xx/3xx nginx logged. */
  readonly non2xx: number;
  readonly socketErrors: number;
  /** Responses nginx logged for the benchmark path during the measured run. */
  readonly backendResponses: number;
  /** Best of the bulk downloads (MB/s, 1 MB = 10^6 bytes) and every round; undefined when they failed. */
  readonly bulk: { readonly best: number; readonly all: readonly number[] } | undefined;
  /** CPU that processes outside the benchmark used meanwhile, in % of one CPU: wrk run and downloads. */
  readonly otherLoad: { readonly wrk: number; readonly bulk: number };
  /** What went wrong on this path (a dead tunnel, a failed download), in the order it happened. */
  readonly notes: readonly string[];
}

export interface TunnelReport {
  readonly date: Date;
  readonly machine: MachineInfo;
  readonly command: string;
  readonly wrkArgs: string;
  readonly bulkMiB: number;
  readonly bulkRounds: number;
  readonly sshCipher: string;
  readonly paths: Record<PathId, PathResult>;
  readonly profiled: boolean;
  /** Another build's entry point, when relay and connector did not come from this checkout. */
  readonly cli: string | undefined;
  /** The machine over one second just before the run. */
  readonly loadBefore: LoadReport;
}

export interface Target {
  readonly name: string;
  readonly measured: string;
  readonly met: boolean;
}

export const TARGETS = { rpsVsSsh: 1.5, p99Ms: 5, bulkVsDirect: 0.6 } as const;

const ORDER: readonly PathId[] = ['direct', 'tunnelwatch', 'ssh'];
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number) => (n < 1 ? `${(n * 1000).toFixed(0)} µs` : `${n.toFixed(2)} ms`);
const fmtX = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : 'n/a');
const fmtPct = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)}%` : 'n/a');
const bulkOf = (p: PathResult) => p.bulk?.best ?? NaN;

export function ratios(r: TunnelReport): { rpsVsSsh: number; rpsVsDirect: number; sshRpsVsDirect: number; bulkVsDirect: number; sshBulkVsDirect: number; bulkVsSsh: number } {
  const { direct, tunnelwatch: tw, ssh } = r.paths;
  return {
    rpsVsSsh: tw.wrk.requestsPerSec / ssh.wrk.requestsPerSec,
    rpsVsDirect: tw.wrk.requestsPerSec / direct.wrk.requestsPerSec,
    sshRpsVsDirect: ssh.wrk.requestsPerSec / direct.wrk.requestsPerSec,
    bulkVsDirect: bulkOf(tw) / bulkOf(direct),
    sshBulkVsDirect: bulkOf(ssh) / bulkOf(direct),
    bulkVsSsh: bulkOf(tw) / bulkOf(ssh),
  };
}

/** Errors void the request targets: requests per second of 503s are not throughput. */
function clean(p: PathResult): boolean {
  return p.non2xx === 0 && p.socketErrors === 0;
}

export function targets(r: TunnelReport): Target[] {
  const x = ratios(r);
  const tw = r.paths.tunnelwatch;
  const errors = clean(tw) ? '' : `; void: ${fmtInt(tw.non2xx)} non-2xx, ${fmtInt(tw.socketErrors)} socket errors`;
  return [
    { name: `req/s ≥ ${TARGETS.rpsVsSsh}× ssh -R`, measured: `${fmtX(x.rpsVsSsh)} (${fmtInt(tw.wrk.requestsPerSec)} vs ${fmtInt(r.paths.ssh.wrk.requestsPerSec)})${errors}`, met: clean(tw) && x.rpsVsSsh >= TARGETS.rpsVsSsh },
    { name: `p99 < ${TARGETS.p99Ms} ms at -c32`, measured: `${fmtMs(tw.wrk.p99Ms)}${errors}`, met: clean(tw) && tw.wrk.p99Ms < TARGETS.p99Ms },
    { name: `bulk ≥ ${TARGETS.bulkVsDirect}× direct`, measured: tw.bulk ? `${fmtX(x.bulkVsDirect)} (${fmtInt(tw.bulk.best)} vs ${fmtInt(bulkOf(r.paths.direct))} MB/s)` : 'download failed', met: x.bulkVsDirect >= TARGETS.bulkVsDirect },
  ];
}

const HEAD = ['path', 'req/s', 'vs direct', 'p50', 'p99', 'non-2xx / socket err', 'bulk MB/s', 'vs direct', 'other load (wrk / bulk)'];

function rows(r: TunnelReport): string[][] {
  const x = ratios(r);
  const vsDirect = { direct: 1, tunnelwatch: x.rpsVsDirect, ssh: x.sshRpsVsDirect };
  const bulkVsDirect = { direct: 1, tunnelwatch: x.bulkVsDirect, ssh: x.sshBulkVsDirect };
  return ORDER.map((id) => {
    const p = r.paths[id];
    return [
      p.label,
      fmtInt(p.wrk.requestsPerSec),
      fmtX(vsDirect[id]),
      fmtMs(p.wrk.p50Ms),
      fmtMs(p.wrk.p99Ms),
      `${fmtInt(p.non2xx)} / ${fmtInt(p.socketErrors)}`,
      p.bulk ? fmtInt(p.bulk.best) : 'failed',
      fmtX(bulkVsDirect[id]),
      `${fmtPct(p.otherLoad.wrk)} / ${fmtPct(p.otherLoad.bulk)}`,
    ];
  });
}

function notes(r: TunnelReport): string[] {
  return ORDER.flatMap((id) => r.paths[id].notes.map((n) => `${r.paths[id].label}: ${n}`));
}

function textTable(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function mdTable(head: string[], body: string[][]): string {
  const sep = head.map((_, i) => (i === 0 ? '---' : '---:'));
  return [head, sep, ...body].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

export function terminalSummary(r: TunnelReport): string {
  const x = ratios(r);
  const caveats = [r.profiled ? 'CPU PROFILER ON: figures not comparable' : '', r.cli ? `relay and connector from ${r.cli}` : ''].filter(Boolean);
  return [
    '',
    `Tunnel benchmark: wrk ${r.wrkArgs}, ${r.bulkMiB} MiB download best of ${r.bulkRounds}${caveats.length ? `  (${caveats.join('; ')})` : ''}`,
    '',
    textTable(HEAD, rows(r)),
    '',
    `Tunnelwatch vs ssh -R: req/s ${fmtX(x.rpsVsSsh)}, bulk ${fmtX(x.bulkVsSsh)}. Bulk rounds (MB/s): ` +
      ORDER.map((id) => `${id} ${r.paths[id].bulk?.all.map(fmtInt).join('/') ?? 'failed'}`).join(', '),
    ...notes(r).map((n) => `NOTE ${n}`),
    '',
    textTable(['target', 'measured', 'met'], targets(r).map((g) => [g.name, g.measured, g.met ? 'yes' : 'NO'])),
    '',
  ].join('\n');
}

export function markdownSection(r: TunnelReport): string {
  const m = r.machine;
  const x = ratios(r);
  const n = notes(r);
  return `## Tunnel

\`${r.command}\` — ${r.date.toISOString().replace(/\.\d+Z$/, 'Z')}

Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGb} GB RAM, Node ${m.node}, nginx ${m.tools.nginx}, ${m.tools.wrk}, ${m.tools.ssh}, ${m.tools.curl}.
Just before the run the machine was ${r.loadBefore.machineBusyPct.toFixed(0)}% busy (other processes: ${fmtPct(r.loadBefore.otherPct)} of a CPU).

nginx (one worker) serves a 100-byte file; \`wrk ${r.wrkArgs}\` loads it directly, through Tunnelwatch
(relay and connector as real processes, log level warn, audit files on, one allow rule per path) and
through \`ssh -R\` on loopback (a throwaway sshd, cipher ${r.sshCipher}). The proxied run sends
absolute-form requests with \`Proxy-Authorization\` to the relay's proxy port. Each path gets a 2 s
warm-up first. Bulk: a ${r.bulkMiB} MiB file with curl to /dev/null, best of ${r.bulkRounds}; MB = 10^6 bytes.
wrk, nginx, relay, connector and ssh share the same ${m.cpus} CPUs.

${mdTable(HEAD, rows(r))}

Tunnelwatch vs \`ssh -R\`: ${fmtX(x.rpsVsSsh)} the requests per second, ${fmtX(x.bulkVsSsh)} the bulk throughput.
Non-2xx counts wrk's responses ≥ 400 plus any 1xx/3xx in nginx's log of the benchmark path; a run
with errors does not meet the request targets. "Other load" is the CPU (% of one CPU) that processes
outside the benchmark used during that phase; above ~10% the figures of that row are disturbed.
${n.length > 0 ? `\nWhat went wrong in this run:\n\n${n.map((s) => `- ${s}`).join('\n')}\n` : ''}
| target | measured | met |
| --- | --- | --- |
${targets(r).map((g) => `| ${g.name} | ${g.measured} | ${g.met ? 'yes' : '**no**'} |`).join('\n')}
`;
}
