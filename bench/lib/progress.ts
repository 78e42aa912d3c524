// Progress lines on stderr, so a long benchmark never leaves a silent terminal; stdout keeps the summary.
const started = Date.now();

function stamp(): string {
  return `[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`;
}

export function progress(message: string): void {
  process.stderr.write(`${stamp()} ${message}\n`);
}

/** Runs a step, with a heartbeat line every heartbeatMs while it runs and its duration when it ends. */
export async function step<T>(label: string, fn: () => Promise<T>, heartbeatMs = 5000): Promise<T> {
  const t0 = Date.now();
  progress(`${label} ...`);
  const beat = setInterval(() => progress(`  ... ${label}: ${((Date.now() - t0) / 1000).toFixed(0)}s`), heartbeatMs);
  beat.unref();
  try {
    const value = await fn();
    progress(`${label}: done in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return value;
  } finally {
    clearInterval(beat);
  }
}
