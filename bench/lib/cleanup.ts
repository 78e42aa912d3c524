// Teardown for a benchmark run: undo steps run last-in first-out, once, also on Ctrl-C.
import { progress } from './progress.js';

export class Cleanup {
  private readonly steps: { label: string; undo: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;

  /** Registers an undo step; steps run in reverse order of registration. */
  add(label: string, undo: () => Promise<void> | void): void {
    this.steps.push({ label, undo });
  }

  /** Runs every step even when some fail; failures are reported, not thrown. */
  run(): Promise<void> {
    this.running ??= (async () => {
      for (const s of this.steps.reverse()) {
        try {
          await s.undo();
        } catch (err) {
          progress(`cleanup: ${s.label} failed: ${(err as Error).message}`);
        }
      }
    })();
    return this.running;
  }

  /**
   * On SIGINT/SIGTERM: clean up, then exit 130/143. Registered before any child process is started, so
   * the process helper's own handler (which SIGKILLs every child group) sees a listener and does not re-raise.
   */
  onSignals(): void {
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      // `on`, not `once`: the listener must still be there when the process helper counts listeners.
      process.on(signal, () => {
        progress(`${signal}: cleaning up`);
        void this.run().finally(() => process.exit(code));
      });
    }
  }
}
