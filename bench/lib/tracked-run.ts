// Runs a command to completion as a tracked child (the process helper SIGKILLs tracked children on
// exit, Ctrl-C and SIGTERM), so an interrupted benchmark leaves no wrk or curl behind.
import { startProcess, type RunResult } from '../../test/helpers/processes.js';

export async function runTracked(cmd: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
  const p = await startProcess(cmd, args);
  const timer = setTimeout(() => void p.kill9(), timeoutMs);
  const { code, signal } = await p.exited;
  clearTimeout(timer);
  if (signal === 'SIGKILL') throw new Error(`${cmd} ${args.join(' ')} did not finish within ${timeoutMs} ms\n${p.stderr().slice(-2000)}`);
  return { code, signal, stdout: p.stdout(), stderr: p.stderr() };
}
