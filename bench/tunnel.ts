// `npm run bench:tunnel`: nginx directly, through Tunnelwatch (relay + connector) and through `ssh -R`,
// in one run: wrk for requests per second and latency, curl for bulk throughput. Writes the "Tunnel"
// section of docs/benchmarks.md; progress goes to stderr, the summary to stdout.
//
//   npm run bench:tunnel                          the full run (about a minute on 2 cores)
//   npm run bench:tunnel -- --duration 5          shorter wrk runs
//   npm run bench:tunnel -- --profile [--profile-dir DIR]
//                                                 relay and connector under node --cpu-prof; prints the
//                                                 hot spots and leaves docs/benchmarks.md alone
//   npm run bench:tunnel -- --cli OTHER/bin/tunnelwatch.js --no-doc
//                                                 relay and connector from another build, to measure a change
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, REPO } from '../test/helpers/tunnel-stack.js';
import { BIG_PATH, SMALL_BODY, SMALL_PATH, startBenchBackend, type BenchBackend } from './lib/bench-backend.js';
import { writeSection } from './lib/benchmarks-doc.js';
import { Cleanup } from './lib/cleanup.js';
import { formatProfile, summariseProfile } from './lib/cpu-profile.js';
import { bestOf, type DownloadOptions } from './lib/download.js';
import { expect200, probe, type ProbeTarget } from './lib/http-probe.js';
import { machineInfo } from './lib/machine.js';
import { loadBetween, sampleLoad, withLoad, type LoadReport } from './lib/machine-load.js';
import { progress, step } from './lib/progress.js';
import { startReverseTunnel } from './lib/ssh-reverse-tunnel.js';
import { startTunnel, type RunningTunnel } from './lib/tunnel-processes.js';
import { markdownSection, targets, terminalSummary, type PathId, type PathResult, type TunnelReport } from './lib/tunnel-report.js';
import { runWrk, socketErrorCount, type WrkOptions } from './lib/wrk.js';

const VIRTUAL = 'bench.virtual:8000';
const TOKEN = 'tw_bench_0123456789abcdef0123456789abcdef';
const PROXY_AUTHORIZATION = `Bearer ${TOKEN}`;
const WRK = { threads: 2, connections: 32 } as const;
const WARMUP_S = 2;
const BULK_MIB = 200;
const BULK_ROUNDS = 3;
/** Other processes' CPU (% of one CPU) from which a phase is flagged as disturbed. */
const OTHER_LOAD_WARN_PCT = 10;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    profile: { type: 'boolean', default: false },
    'profile-dir': { type: 'string' },
    cli: { type: 'string' },
    'no-doc': { type: 'boolean', default: false },
  },
});
const durationS = Number(args.duration);
if (!Number.isInteger(durationS) || durationS < 1) throw new Error(`--duration must be a whole number of seconds, got "${args.duration}"`);
const cli = args.cli ? resolve(args.cli) : CLI;

interface Path {
  readonly id: PathId;
  readonly label: string;
  readonly wrk: Omit<WrkOptions, 'threads' | 'connections' | 'durationS' | 'scriptDir'>;
  readonly probe: ProbeTarget;
  readonly download: DownloadOptions;
}

type Measured = Omit<PathResult, 'bulk'>;

async function measure(path: Path, backend: BenchBackend, scriptDir: string): Promise<Measured> {
  const base = { ...path.wrk, ...WRK, scriptDir };
  await step(`${path.label}: wrk warm-up ${WARMUP_S}s`, () => runWrk({ ...base, durationS: WARMUP_S }, `${path.id}-warmup`));
  const mark = await backend.mark();
  const { value: wrk, load } = await withLoad(() => step(`${path.label}: wrk -t${WRK.threads} -c${WRK.connections} -d${durationS}s`, () => runWrk({ ...base, durationS }, path.id)));
  warnIfLoaded(path.label, load);
  const logged = await backend.countSince(mark);
  const non2xx = wrk.statusErrors + logged.byClass[1] + logged.byClass[3];
  const notes: string[] = [];
  // The path must still answer 200 after the load, not only before it.
  await expect200('after the wrk run', path.probe, SMALL_BODY).catch((err: unknown) => notes.push((err as Error).message.split('\n')[0] as string));
  const result: Measured = { id: path.id, label: path.label, wrk, non2xx, socketErrors: socketErrorCount(wrk), backendResponses: logged.responses, notes, otherLoad: { wrk: load.otherPct, bulk: NaN } };
  progress(`  ${path.label}: ${Math.round(wrk.requestsPerSec)} req/s, p50 ${wrk.p50Ms.toFixed(3)} ms, p99 ${wrk.p99Ms.toFixed(3)} ms, ` +
    `non-2xx ${non2xx}, socket errors ${result.socketErrors}, nginx answered ${logged.responses} of ${wrk.requests} wrk requests`);
  for (const n of notes) progress(`  ${path.label}: ${n}`);
  return result;
}

/** Other people's processes on a shared machine take CPU from the benchmark: say so where it happened. */
function warnIfLoaded(label: string, load: LoadReport): void {
  if (load.otherPct >= OTHER_LOAD_WARN_PCT) progress(`  WARNING ${label}: other processes used ${load.otherPct.toFixed(0)}% of a CPU meanwhile (${load.topOther.join(', ')}); figures are disturbed`);
}

async function main(): Promise<number> {
  const cleanup = new Cleanup();
  cleanup.onSignals();
  let tunnel: RunningTunnel | undefined;
  const profileDir = args.profile ? (args['profile-dir'] ?? join(tmpdir(), `tunnelwatch-profile-${Date.now()}`)) : undefined;
  try {
    const machine = await machineInfo();
    progress(`machine: ${machine.cpus} CPUs, node ${machine.node}, nginx ${machine.tools.nginx}, ${machine.tools.wrk}, ${machine.tools.ssh}`);
    if (cli !== CLI) progress(`relay and connector from ${cli}`);
    const idle0 = await sampleLoad();
    await new Promise((r) => setTimeout(r, 1000));
    const idle = loadBetween(idle0, await sampleLoad());
    progress(`machine before the run: ${idle.machineBusyPct.toFixed(0)}% busy${idle.otherPct >= OTHER_LOAD_WARN_PCT ? ` (WARNING: ${idle.topOther.join(', ')}; figures will be disturbed)` : ''}`);
    const dir = await mkdtemp(join(tmpdir(), 'tw-bench-tunnel-'));
    cleanup.add(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
    if (profileDir) await mkdir(profileDir, { recursive: true });

    const backend = await step(`nginx with ${BULK_MIB} MiB /big.bin`, () => startBenchBackend(join(dir, 'nginx'), BULK_MIB));
    cleanup.add('stop nginx', () => backend.stop());
    const nginxPort = backend.nginx.port;
    const direct: ProbeTarget = { port: nginxPort, path: SMALL_PATH };
    await expect200('nginx directly', direct, SMALL_BODY);

    const twProbe = (t: RunningTunnel): ProbeTarget => ({ port: t.proxyPort, path: `http://${VIRTUAL}${SMALL_PATH}`, headers: { host: VIRTUAL, 'proxy-authorization': PROXY_AUTHORIZATION } });
    let starts = 0;
    const startTw = async (): Promise<RunningTunnel> => {
      starts++;
      const t = await step(`relay + connector (log level warn${profileDir ? ', CPU profiler on' : ''})`, () =>
        startTunnel({ dir: join(dir, `tunnel-${starts}`), cli, virtual: VIRTUAL, internal: `127.0.0.1:${nginxPort}`, paths: [SMALL_PATH, BIG_PATH], token: TOKEN, profileDir: profileDir && join(profileDir, `start-${starts}`) }));
      tunnel = t;
      cleanup.add('stop relay and connector', () => t.stop());
      await t.waitUntilRouted(async () => (await probe(twProbe(t)).catch(() => undefined))?.status === 200);
      await expect200('the relay', twProbe(t), SMALL_BODY);
      return t;
    };
    /** After a phase: a dead tunnel is a finding to report, then restarted so the next phase measures. */
    const checkTunnel = async (phase: string, notes: string[]): Promise<void> => {
      const t = tunnel as RunningTunnel;
      const ok = (await probe(twProbe(t)).catch(() => undefined))?.status === 200;
      if (ok) return;
      const exit = await Promise.race([t.connector.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 200))]);
      const why = `after ${phase} the tunnel was down (${exit ? `connector exited with code ${exit.code ?? exit.signal}` : 'connector still running'}); relay and connector were restarted for the next phase`;
      notes.push(why);
      progress(`  Tunnelwatch: ${why}\n${t.logs()}`);
      await t.stop();
      await startTw();
    };
    await startTw();

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
    const paths: Record<PathId, () => Path> = {
      direct: () => ({
        id: 'direct', label: 'nginx direct', probe: direct,
        wrk: { url: backend.nginx.url, path: SMALL_PATH },
        download: { url: `${backend.nginx.url}${BIG_PATH}`, expectBytes: bulkBytes },
      }),
      tunnelwatch: () => {
        const t = tunnel as RunningTunnel;
        return {
          id: 'tunnelwatch', label: 'Tunnelwatch', probe: twProbe(t),
          wrk: { url: `http://127.0.0.1:${t.proxyPort}`, proxy: { absoluteUrl: `http://${VIRTUAL}${SMALL_PATH}`, proxyAuthorization: PROXY_AUTHORIZATION } },
          download: { url: `http://${VIRTUAL}${BIG_PATH}`, proxy: { url: `http://127.0.0.1:${t.proxyPort}`, authorization: PROXY_AUTHORIZATION }, expectBytes: bulkBytes },
        };
      },
      ssh: () => ({
        id: 'ssh', label: 'ssh -R', probe: viaSsh,
        wrk: { url: `http://127.0.0.1:${ssh.forwardedPort}`, path: SMALL_PATH },
        download: { url: `http://127.0.0.1:${ssh.forwardedPort}${BIG_PATH}`, expectBytes: bulkBytes },
      }),
    };
    const order: PathId[] = ['direct', 'tunnelwatch', 'ssh'];

    const measured = new Map<PathId, Measured>();
    for (const id of order) {
      const m = await measure(paths[id](), backend, dir);
      if (id === 'tunnelwatch') await checkTunnel('the wrk run', m.notes as string[]);
      measured.set(id, m);
    }
    const bulk = new Map<PathId, PathResult['bulk']>();
    for (const id of order) {
      const p = paths[id]();
      try {
        const { value: r, load } = await withLoad(() => step(`${p.label}: ${BULK_MIB} MiB download x${BULK_ROUNDS}`, () =>
          bestOf(BULK_ROUNDS, p.download, (d, i) => progress(`  round ${i + 1}: ${Math.round(d.mbPerSec)} MB/s (${d.seconds.toFixed(2)} s)`))));
        warnIfLoaded(`${p.label} downloads`, load);
        const m = measured.get(id) as Measured;
        measured.set(id, { ...m, otherLoad: { ...m.otherLoad, bulk: load.otherPct } });
        bulk.set(id, { best: r.mbPerSec, all: r.all });
      } catch (err) {
        const why = `bulk download failed: ${(err as Error).message.split('\n')[0] as string}`;
        (measured.get(id)?.notes as string[]).push(why);
        progress(`  ${p.label}: ${why}`);
        bulk.set(id, undefined);
      }
      if (id === 'tunnelwatch') await checkTunnel('the downloads', measured.get(id)?.notes as string[]);
    }

    const result = (id: PathId): PathResult => ({ ...(measured.get(id) as Measured), bulk: bulk.get(id) });
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
      cli: cli === CLI ? undefined : cli,
      loadBefore: idle,
    };

    // Stop relay and connector now, so that their CPU profiles are written before they are read.
    await step('stopping processes', () => cleanup.run());
    process.stdout.write(terminalSummary(report));

    if (profileDir) await printProfiles(profileDir);
    if (profileDir || args['no-doc'] || report.cli) {
      progress('docs/benchmarks.md left as it was (profiled run, --cli or --no-doc)');
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
    if (tunnel) progress(`relay and connector output:\n${tunnel.logs()}`);
    return 1;
  } finally {
    await cleanup.run();
  }
}

async function printProfiles(profileDir: string): Promise<void> {
  for (const sub of (await readdir(profileDir)).sort()) {
    const files = (await readdir(join(profileDir, sub)).catch(() => [] as string[])).filter((n) => n.endsWith('.cpuprofile')).sort();
    for (const name of files) process.stdout.write(`\n${formatProfile(`${sub}/${name}`, await summariseProfile(join(profileDir, sub, name)))}\n`);
  }
  process.stdout.write(`\nProfiles kept in ${profileDir} (open them in Chrome DevTools > Performance, or speedscope).\n`);
}

process.exitCode = await main();
