// `npm run bench:tunnel`: nginx directly, through Tunnelwatch (relay + connector) and through `ssh -R`,
// in one run: wrk for requests per second and latency, curl for bulk throughput. Writes the "Tunnel"
// section of docs/benchmarks.md; progress goes to stderr, the summary to stdout.
//
//   npm run bench:tunnel                          the full run (about 1.5 minutes on 2 cores)
//   npm run bench:tunnel -- --duration 5          shorter wrk runs
//   npm run bench:tunnel -- --profile [--profile-dir DIR]
//                                                 relay and connector under node --cpu-prof; prints the
//                                                 hot spots and leaves docs/benchmarks.md alone
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../test/helpers/tunnel-stack.js';
import { BIG_PATH, SMALL_BODY, SMALL_PATH, startBenchBackend, type BenchBackend } from './lib/bench-backend.js';
import { writeSection } from './lib/benchmarks-doc.js';
import { Cleanup } from './lib/cleanup.js';
import { formatProfile, summariseProfile } from './lib/cpu-profile.js';
import { bestOf, type DownloadOptions } from './lib/download.js';
import { expect200, probe, type ProbeTarget } from './lib/http-probe.js';
import { machineInfo } from './lib/machine.js';
import { progress, step } from './lib/progress.js';
import { startReverseTunnel } from './lib/ssh-reverse-tunnel.js';
import { startTunnel } from './lib/tunnel-processes.js';
import { markdownSection, targets, terminalSummary, type PathId, type PathResult, type TunnelReport } from './lib/tunnel-report.js';
import { runWrk, socketErrorCount, type WrkOptions } from './lib/wrk.js';

const VIRTUAL = 'bench.virtual:8000';
const TOKEN = 'tw_bench_0123456789abcdef0123456789abcdef';
const PROXY_AUTHORIZATION = `Bearer ${TOKEN}`;
const WRK = { threads: 2, connections: 32 } as const;
const WARMUP_S = 2;
const BULK_MIB = 200;
const BULK_ROUNDS = 3;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    profile: { type: 'boolean', default: false },
    'profile-dir': { type: 'string' },
    'no-doc': { type: 'boolean', default: false },
  },
});
const durationS = Number(args.duration);
if (!Number.isInteger(durationS) || durationS < 1) throw new Error(`--duration must be a whole number of seconds, got "${args.duration}"`);

interface Path {
  readonly id: PathId;
  readonly label: string;
  readonly wrk: Omit<WrkOptions, 'threads' | 'connections' | 'durationS' | 'scriptDir'>;
  readonly probe: ProbeTarget;
  readonly download: DownloadOptions;
}

async function measure(path: Path, backend: BenchBackend, scriptDir: string): Promise<Omit<PathResult, 'bulk'>> {
  const base = { ...path.wrk, ...WRK, scriptDir };
  await step(`${path.label}: wrk warm-up ${WARMUP_S}s`, () => runWrk({ ...base, durationS: WARMUP_S }, `${path.id}-warmup`));
  const mark = await backend.mark();
  const wrk = await step(`${path.label}: wrk -t${WRK.threads} -c${WRK.connections} -d${durationS}s`, () => runWrk({ ...base, durationS }, path.id));
  const logged = await backend.countSince(mark);
  // The path must still answer 200 after the load, not only before it.
  await expect200(`${path.label} after the wrk run`, path.probe, SMALL_BODY);
  const non2xx = wrk.statusErrors + logged.byClass[1] + logged.byClass[3];
  const result = { id: path.id, label: path.label, wrk, non2xx, socketErrors: socketErrorCount(wrk), backendResponses: logged.responses };
  progress(`  ${path.label}: ${Math.round(wrk.requestsPerSec)} req/s, p50 ${wrk.p50Ms.toFixed(3)} ms, p99 ${wrk.p99Ms.toFixed(3)} ms, ` +
    `non-2xx ${non2xx}, socket errors ${result.socketErrors}, nginx logged ${logged.responses} for ${wrk.requests} wrk requests`);
  return result;
}

async function main(): Promise<number> {
  const cleanup = new Cleanup();
  cleanup.onSignals();
  let tunnelLogs: (() => string) | undefined;
  const profileDir = args.profile ? (args['profile-dir'] ?? join(tmpdir(), `tunnelwatch-profile-${Date.now()}`)) : undefined;
  try {
    const machine = await machineInfo();
    progress(`machine: ${machine.cpus} CPUs, node ${machine.node}, nginx ${machine.tools.nginx}, ${machine.tools.wrk}, ${machine.tools.ssh}`);
    const dir = await mkdtemp(join(tmpdir(), 'tw-bench-tunnel-'));
    cleanup.add(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
    if (profileDir) await mkdir(profileDir, { recursive: true });

    const backend = await step(`nginx with ${BULK_MIB} MiB /big.bin`, () => startBenchBackend(join(dir, 'nginx'), BULK_MIB));
    cleanup.add('stop nginx', () => backend.stop());
    const nginxPort = backend.nginx.port;
    const direct: ProbeTarget = { port: nginxPort, path: SMALL_PATH };
    await expect200('nginx directly', direct, SMALL_BODY);

    const tunnel = await step(`relay + connector (log level warn${profileDir ? ', CPU profiler on' : ''})`, async () => {
      const t = await startTunnel({ dir: join(dir, 'tunnel'), virtual: VIRTUAL, internal: `127.0.0.1:${nginxPort}`, paths: [SMALL_PATH, BIG_PATH], token: TOKEN, profileDir });
      cleanup.add('stop relay and connector', () => t.stop());
      tunnelLogs = () => t.logs();
      return t;
    });
    const viaRelay: ProbeTarget = { port: tunnel.proxyPort, path: `http://${VIRTUAL}${SMALL_PATH}`, headers: { host: VIRTUAL, 'proxy-authorization': PROXY_AUTHORIZATION } };
    await tunnel.waitUntilRouted(async () => (await probe(viaRelay).catch(() => undefined))?.status === 200);
    await expect200('the relay', viaRelay, SMALL_BODY);

    const ssh = await step('sshd + ssh -R on loopback', async () => {
      const s = await startReverseTunnel({
        dir: join(dir, 'ssh'),
        targetPort: nginxPort,
        ready: async (port) => (await probe({ port, path: SMALL_PATH }).catch(() => undefined))?.status === 200,
      });
      cleanup.add('stop ssh and sshd', () => s.stop());
      return s;
    });
    const viaSsh: ProbeTarget = { port: ssh.forwardedPort, path: SMALL_PATH };
    await expect200('ssh -R', viaSsh, SMALL_BODY);

    const bulkBytes = BULK_MIB * 1024 * 1024;
    const paths: Path[] = [
      {
        id: 'direct', label: 'nginx direct', probe: direct,
        wrk: { url: backend.nginx.url, path: SMALL_PATH },
        download: { url: `${backend.nginx.url}${BIG_PATH}`, expectBytes: bulkBytes },
      },
      {
        id: 'tunnelwatch', label: 'Tunnelwatch', probe: viaRelay,
        wrk: { url: `http://127.0.0.1:${tunnel.proxyPort}`, proxy: { absoluteUrl: `http://${VIRTUAL}${SMALL_PATH}`, proxyAuthorization: PROXY_AUTHORIZATION } },
        download: { url: `http://${VIRTUAL}${BIG_PATH}`, proxy: { url: `http://127.0.0.1:${tunnel.proxyPort}`, authorization: PROXY_AUTHORIZATION }, expectBytes: bulkBytes },
      },
      {
        id: 'ssh', label: 'ssh -R', probe: viaSsh,
        wrk: { url: `http://127.0.0.1:${ssh.forwardedPort}`, path: SMALL_PATH },
        download: { url: `http://127.0.0.1:${ssh.forwardedPort}${BIG_PATH}`, expectBytes: bulkBytes },
      },
    ];

    const measured = new Map<PathId, Omit<PathResult, 'bulk'>>();
    for (const p of paths) measured.set(p.id, await measure(p, backend, dir));
    const bulk = new Map<PathId, { best: number; all: number[] }>();
    for (const p of paths) {
      const r = await step(`${p.label}: ${BULK_MIB} MiB download x${BULK_ROUNDS}`, () =>
        bestOf(BULK_ROUNDS, p.download, (d, i) => progress(`  round ${i + 1}: ${Math.round(d.mbPerSec)} MB/s (${d.seconds.toFixed(2)} s)`)));
      bulk.set(p.id, { best: r.mbPerSec, all: r.all });
    }

    const result = (id: PathId): PathResult => ({ ...(measured.get(id) as Omit<PathResult, 'bulk'>), bulk: bulk.get(id) as PathResult['bulk'] });
    const report: TunnelReport = {
      date: new Date(),
      machine,
      command: 'npm run bench:tunnel',
      wrkArgs: `-t${WRK.threads} -c${WRK.connections} -d${durationS}s --latency`,
      bulkMiB: BULK_MIB,
      bulkRounds: BULK_ROUNDS,
      sshCipher: ssh.cipher,
      paths: { direct: result('direct'), tunnelwatch: result('tunnelwatch'), ssh: result('ssh') },
      profiled: profileDir !== undefined,
    };

    // Stop relay and connector now, so that their CPU profiles are written before they are read.
    await step('stopping processes', () => cleanup.run());
    process.stdout.write(terminalSummary(report));

    if (profileDir) {
      for (const name of (await readdir(profileDir)).filter((n) => n.endsWith('.cpuprofile')).sort()) {
        process.stdout.write(`\n${formatProfile(name, await summariseProfile(join(profileDir, name)))}\n`);
      }
      process.stdout.write(`\nProfiles kept in ${profileDir} (open them in Chrome DevTools > Performance, or speedscope).\n`);
    }
    if (profileDir || args['no-doc']) {
      progress('docs/benchmarks.md left as it was (profiled run or --no-doc)');
    } else {
      const doc = join(REPO, 'docs', 'benchmarks.md');
      await writeSection(doc, 'tunnel', markdownSection(report));
      progress(`wrote the Tunnel section of ${doc}`);
    }
    const missed = targets(report).filter((t) => !t.met).length;
    progress(missed === 0 ? 'all targets met' : `${missed} of ${targets(report).length} targets missed`);
    return 0;
  } catch (err) {
    progress(`FAILED: ${(err as Error).stack ?? String(err)}`);
    if (tunnelLogs) progress(`relay and connector output:\n${tunnelLogs()}`);
    return 1;
  } finally {
    await cleanup.run();
  }
}

process.exitCode = await main();
