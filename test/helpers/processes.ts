// Child processes for system tests: start, wait until ready, stop, and never leak one past the test run.
//
// Every process starts in its own process group (detached), and signals go to the whole group, so what a
// process forks (nginx workers, a shell's children) stops with it. All live groups are SIGKILLed when the
// test process exits, also on SIGINT/SIGTERM (the test runner's cancellation).
import { spawn, type ChildProcess } from 'node:child_process';

export interface StartOptions {
  readonly cwd?: string;
  /** Added to (and overriding) this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Ready once stdout or stderr matches, or once the function resolves true (polled). Default: spawned. */
  readonly readyWhen?: RegExp | (() => Promise<boolean> | boolean);
  /** Time to become ready before the process is killed and start rejects. Default 15000 ms. */
  readonly timeoutMs?: number;
  /** How often a function readyWhen is polled. Default 50 ms. */
  readonly pollMs?: number;
}

export interface StartedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything the process wrote so far (the last 4 MiB). */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends signal (default SIGTERM) to the process group; SIGKILLs it after timeoutMs (default 5000). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  /** SIGKILLs the process group at once, as a crash would end it; resolves when it has exited. */
  kill9(): Promise<void>;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const OUTPUT_LIMIT = 4 * 1024 * 1024;
const live = new Set<number>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

function killAll(): void {
  for (const pid of live) killGroup(pid, 'SIGKILL');
  live.clear();
}

let cleanupInstalled = false;
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAll();
      process.removeListener(signal, onSignal);
      // Without other listeners this re-raise gets the default action: terminate, as without us.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function describe(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].join(' ');
}

function output(stdout: string, stderr: string): string {
  return `--- stdout ---\n${stdout.slice(-8000)}\n--- stderr ---\n${stderr.slice(-8000)}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts cmd and resolves once it is ready; on timeout or early exit it rejects with the captured output. */
export async function startProcess(cmd: string, args: readonly string[], options: StartOptions = {}): Promise<StartedProcess> {
  installCleanup();
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  const keep = (s: string) => (s.length > OUTPUT_LIMIT ? s.slice(-OUTPUT_LIMIT) : s);
  const onOutput = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out = keep(out + chunk);
    onOutput.forEach((f) => f());
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err = keep(err + chunk);
    onOutput.forEach((f) => f());
  });

  let hasExited = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      hasExited = true;
      if (child.pid !== undefined) {
        live.delete(child.pid);
        // The leader is gone; whatever it left in its group goes too.
        killGroup(child.pid, 'SIGKILL');
      }
      // 'close' follows once the pipes are drained, so the captured output is complete; a grandchild that
      // left the group could hold them open forever, hence the bound.
      const timer = setTimeout(() => resolve({ code, signal }), 1000);
      child.once('close', () => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e) => reject(new Error(`cannot start ${describe(cmd, args)}: ${e.message}`, { cause: e })));
  });
  const pid = child.pid as number;
  if (!hasExited) live.add(pid);

  const started: StartedProcess = {
    child,
    pid,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000) {
      if (hasExited) return;
      killGroup(pid, signal);
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
    async kill9() {
      if (hasExited) return;
      killGroup(pid, 'SIGKILL');
      await exited;
    },
  };

  const timeoutMs = options.timeoutMs ?? 15_000;
  const ready = options.readyWhen;
  if (!ready) return started;

  const failure = (why: string) => new Error(`${describe(cmd, args)} ${why}\n${output(out, err)}`);
  let settled = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(failure(`was not ready within ${timeoutMs} ms`)), timeoutMs);
      const finish = (e?: Error) => {
        clearTimeout(timer);
        if (e) reject(e);
        else resolve();
      };
      void exited.then(({ code, signal }) => finish(failure(`exited (code ${code}, signal ${signal}) before it was ready`)));
      if (ready instanceof RegExp) {
        const check = () => {
          if (ready.test(out) || ready.test(err)) finish();
        };
        onOutput.add(check);
        check();
      } else {
        void (async () => {
          while (!settled && !hasExited) {
            if (await Promise.resolve(ready()).catch(() => false)) return finish();
            await sleep(options.pollMs ?? 50);
          }
        })();
      }
    });
  } catch (e) {
    await started.kill9();
    throw e;
  } finally {
    settled = true;
    onOutput.clear();
  }
  return started;
}

/** Resolves with the first truthy value of predicate; rejects after timeoutMs (default 10000 ms). */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`${options.message ?? 'condition'} not met within ${timeoutMs} ms${why}`, { cause: lastError });
    }
    await sleep(options.intervalMs ?? 50);
  }
}

/**
 * Runs cmd to completion and resolves with its exit code and output, whatever the code; rejects only when
 * it cannot start or runs longer than timeoutMs (default 30000 ms; it is then killed).
 */
export async function run(
  cmd: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  if (options.input !== undefined) child.stdin?.end(options.input);
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise<RunResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${describe(cmd, args)} did not finish within ${timeoutMs} ms\n${output(stdout, stderr)}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${describe(cmd, args)}: ${e.message}`, { cause: e }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A process's JSON log lines (stderr, then stdout), parsed; other lines are skipped. */
export function jsonLogLines(p: StartedProcess | undefined): Record<string, unknown>[] {
  return `${p?.stderr() ?? ''}\n${p?.stdout() ?? ''}`.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}
