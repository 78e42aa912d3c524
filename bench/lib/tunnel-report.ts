// The tunnel benchmark's results: the terminal summary and the docs/benchmarks.md section.
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
  /** Best of the bulk downloads (MB/s, 1 MB = 10^6 bytes), and every round. */
  readonly bulk: { readonly best: number; readonly all: readonly number[] };
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
}

export interface Target {
  readonly name: string;
  readonly measured: string;
  readonly met: boolean;
}

export const TARGETS = { rpsVsSsh: 1.5, p99Ms: 5, bulkVsDirect: 0.6 } as const;

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number) => (n < 1 ? `${(n * 1000).toFixed(0)} µs` : `${n.toFixed(2)} ms`);
const fmtX = (n: number) => `${n.toFixed(2)}×`;

export function ratios(r: TunnelReport): { rpsVsSsh: number; rpsVsDirect: number; sshRpsVsDirect: number; bulkVsDirect: number; sshBulkVsDirect: number; bulkVsSsh: number } {
  const { direct, tunnelwatch: tw, ssh } = r.paths;
  return {
    rpsVsSsh: tw.wrk.requestsPerSec / ssh.wrk.requestsPerSec,
    rpsVsDirect: tw.wrk.requestsPerSec / direct.wrk.requestsPerSec,
    sshRpsVsDirect: ssh.wrk.requestsPerSec / direct.wrk.requestsPerSec,
    bulkVsDirect: tw.bulk.best / direct.bulk.best,
    sshBulkVsDirect: ssh.bulk.best / direct.bulk.best,
    bulkVsSsh: tw.bulk.best / ssh.bulk.best,
  };
}

export function targets(r: TunnelReport): Target[] {
  const x = ratios(r);
  const tw = r.paths.tunnelwatch;
  const clean = tw.non2xx === 0 && tw.socketErrors === 0;
  return [
    { name: `req/s ≥ ${TARGETS.rpsVsSsh}× ssh -R`, measured: `${fmtX(x.rpsVsSsh)} (${fmtInt(tw.wrk.requestsPerSec)} vs ${fmtInt(r.paths.ssh.wrk.requestsPerSec)})${clean ? '' : ', with errors'}`, met: clean && x.rpsVsSsh >= TARGETS.rpsVsSsh },
    { name: `p99 < ${TARGETS.p99Ms} ms at -c32`, measured: fmtMs(tw.wrk.p99Ms), met: clean && tw.wrk.p99Ms < TARGETS.p99Ms },
    { name: `bulk ≥ ${TARGETS.bulkVsDirect}× direct`, measured: `${fmtX(x.bulkVsDirect)} (${fmtInt(tw.bulk.best)} vs ${fmtInt(r.paths.direct.bulk.best)} MB/s)`, met: x.bulkVsDirect >= TARGETS.bulkVsDirect },
  ];
}

function rows(r: TunnelReport): string[][] {
  const x = ratios(r);
  const vsDirect = { direct: 1, tunnelwatch: x.rpsVsDirect, ssh: x.sshRpsVsDirect };
  const bulkVsDirect = { direct: 1, tunnelwatch: x.bulkVsDirect, ssh: x.sshBulkVsDirect };
  return (['direct', 'tunnelwatch', 'ssh'] as const).map((id) => {
    const p = r.paths[id];
    return [
      p.label,
      fmtInt(p.wrk.requestsPerSec),
      fmtX(vsDirect[id]),
      fmtMs(p.wrk.p50Ms),
      fmtMs(p.wrk.p99Ms),
      `${p.non2xx} / ${p.socketErrors}`,
      fmtInt(p.bulk.best),
      fmtX(bulkVsDirect[id]),
    ];
  });
}

const HEAD = ['path', 'req/s', 'vs direct', 'p50', 'p99', 'non-2xx / socket err', 'bulk MB/s', 'vs direct'];

function textTable(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function mdTable(head: string[], body: string[][], rightFrom = 1): string {
  const sep = head.map((_, i) => (i >= rightFrom ? '---:' : '---'));
  return [head, sep, ...body].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

export function terminalSummary(r: TunnelReport): string {
  const x = ratios(r);
  const t = targets(r);
  return [
    '',
    `Tunnel benchmark: wrk ${r.wrkArgs}, ${r.bulkMiB} MiB download best of ${r.bulkRounds}${r.profiled ? '  (CPU PROFILER ON: figures are not comparable)' : ''}`,
    '',
    textTable(HEAD, rows(r)),
    '',
    `Tunnelwatch vs ssh -R: req/s ${fmtX(x.rpsVsSsh)}, bulk ${fmtX(x.bulkVsSsh)}; bulk rounds (MB/s): ` +
      (['direct', 'tunnelwatch', 'ssh'] as const).map((id) => `${id} ${r.paths[id].bulk.all.map(fmtInt).join('/')}`).join(', '),
    '',
    textTable(['target', 'measured', 'met'], t.map((g) => [g.name, g.measured, g.met ? 'yes' : 'NO'])),
    '',
  ].join('\n');
}

export function markdownSection(r: TunnelReport): string {
  const m = r.machine;
  const t = targets(r);
  const x = ratios(r);
  return `## Tunnel

\`${r.command}\` — ${r.date.toISOString().replace(/\.\d+Z$/, 'Z')}

Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGb} GB RAM, Node ${m.node}, nginx ${m.tools.nginx}, ${m.tools.wrk}, ${m.tools.ssh}, ${m.tools.curl}.

nginx (one worker) serves a 100-byte file; \`wrk ${r.wrkArgs}\` loads it directly, through Tunnelwatch
(relay and connector as real processes, log level warn, audit files on, one allow rule per path) and
through \`ssh -R\` on loopback (a throwaway sshd, cipher ${r.sshCipher}). The proxied run sends
absolute-form requests with \`Proxy-Authorization\` to the relay's proxy port. Each path gets a 2 s
warm-up first. Bulk: a ${r.bulkMiB} MiB file with curl to /dev/null, best of ${r.bulkRounds}; MB = 10^6 bytes.
wrk, nginx, relay, connector and ssh share the same ${m.cpus} CPUs.

${mdTable(HEAD, rows(r))}

Tunnelwatch vs \`ssh -R\`: ${fmtX(x.rpsVsSsh)} the requests per second, ${fmtX(x.bulkVsSsh)} the bulk throughput.
Non-2xx counts wrk's responses ≥ 400 plus any 1xx/3xx in nginx's log of the benchmark path.

| target | measured | met |
| --- | --- | --- |
${t.map((g) => `| ${g.name} | ${g.measured} | ${g.met ? 'yes' : '**no**'} |`).join('\n')}
`;
}
