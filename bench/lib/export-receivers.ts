// The two receivers of `npm run bench:export`, each a process of its own, so their CPU is theirs and can
// be reported: a real rsyslog (imtcp, octet counting) and the Elasticsearch wire stand-in
// (test/helpers/es-standin-main.ts, NOT Elasticsearch) with its mapping check off, keeping the _ids of
// the documents and not their sources (es-standin.ts, keepSources).
//
// rsyslog is set up to measure the exporter, not rsyslog's disk: an in-memory main queue between the TCP
// input and the output, and one short line per message ("<MSGID>\n", from rsyslog's own RFC 5424 parse of
// the header) into a file on tmpfs (/dev/shm when there is one). The file's size is then the count of
// messages received, readable at any moment with one stat().
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, isPortOpen } from '../../test/helpers/ports.js';
import { run, startProcess, type StartedProcess } from '../../test/helpers/processes.js';
import { RSYSLOGD_BIN } from '../../test/helpers/rsyslog.js';

/** Every message the exporters send here has MSGID "audit": one line is this many bytes. */
const LINE = 'audit\n'.length;

export interface ReceiverProcess {
  readonly pid: number;
  /** CPU seconds (user + system, all threads) the process has used so far. */
  cpuS(): Promise<number>;
  stop(): Promise<void>;
}

export interface BenchRsyslog extends ReceiverProcess {
  readonly port: number;
  readonly version: string;
  /** Messages written out so far. */
  received(): Promise<number>;
}

export interface BenchEsStandin extends ReceiverProcess {
  readonly url: string;
  /** Documents held in an index or data stream (GET <index>/_count). */
  count(index: string): Promise<number>;
}

export async function processCpuS(pid: number): Promise<number> {
  const raw = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function rsyslogConfig(dir: string, port: number): string {
  return `global(
  workDirectory="${dir}"
  maxMessageSize="256k"
  net.enableDNS="off"
)
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="${port}" maxFrameSize="262144" ruleset="bench")
template(name="msgid" type="string" string="%msgid%\\n")
# An in-memory queue decouples reading the socket from writing the file; the file is on tmpfs.
ruleset(name="bench" queue.type="LinkedList" queue.size="500000") {
  action(type="omfile" file="${join(dir, 'out.txt')}" template="msgid" ioBufferSize="256k" flushOnTXEnd="on")
}
`;
}

export async function startBenchRsyslog(): Promise<BenchRsyslog> {
  const dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tw-bench-rsyslog-'));
  const port = await freePort();
  const conf = join(dir, 'rsyslog.conf');
  const out = join(dir, 'out.txt');
  await writeFile(conf, rsyslogConfig(dir, port));
  await writeFile(out, '');
  let proc: StartedProcess;
  try {
    proc = await startProcess(RSYSLOGD_BIN, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { readyWhen: () => isPortOpen(port, '127.0.0.1', 500), timeoutMs: 15_000 });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const version = await run(RSYSLOGD_BIN, ['-v'], { timeoutMs: 5000 }).then((r) => /rsyslogd\s+(\S+)/.exec(r.stdout)?.[1] ?? 'unknown', () => 'unknown');
  return {
    pid: proc.pid,
    port,
    version,
    cpuS: () => processCpuS(proc.pid),
    received: async () => Math.floor((await stat(out)).size / LINE),
    async stop() {
      await proc.stop('SIGTERM', 10_000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startBenchEsStandin(): Promise<BenchEsStandin> {
  const main = new URL('../../test/helpers/es-standin-main.js', import.meta.url).pathname;
  // Room for two runs' documents, which the stand-in keeps parsed in memory.
  const proc = await startProcess(process.execPath, ['--max-old-space-size=6144', main, '--no-mapping-check', '--no-sources'], { readyWhen: /"msg":"es stand-in listening"/, timeoutMs: 15_000 });
  const line = proc.stdout().split('\n').find((l) => l.includes('es stand-in listening')) ?? '';
  const url = (JSON.parse(line) as { url: string }).url;
  return {
    pid: proc.pid,
    url,
    cpuS: () => processCpuS(proc.pid),
    async count(index) {
      const res = await fetch(`${url}/${encodeURIComponent(index)}/_count`);
      if (!res.ok) throw new Error(`stand-in _count ${index}: HTTP ${res.status}`);
      return (await res.json() as { count: number }).count;
    },
    stop: () => proc.stop('SIGTERM', 10_000),
  };
}

/** Polls until check() reaches target (or the deadline); resolves with the time it was first seen (ms). */
export async function waitUntil(check: () => Promise<number>, target: number, timeoutMs: number, what: string, pollMs = 10): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const got = await check();
    if (got >= target) return performance.now();
    if (performance.now() > deadline) throw new Error(`${what}: ${got} of ${target} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
