// Progress on stderr for long commands: a line rewritten in place on a terminal, a line every few
// seconds otherwise (logs, CI), so nobody waits on a silent terminal.

export interface Progress {
  /** done and total in the same unit (bytes, say); extra is appended as is. */
  update(done: number, total: number, extra?: string): void;
  /** Prints the final line. */
  done(summary: string): void;
}

export function createProgress(label: string, options: { stream?: NodeJS.WriteStream; intervalMs?: number } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const interval = options.intervalMs ?? (tty ? 200 : 5000);
  const started = Date.now();
  let last = 0;
  let wrote = false;
  return {
    update(done, total, extra = '') {
      const now = Date.now();
      if (now - last < interval && done < total) return;
      last = now;
      const pct = total > 0 ? Math.min(100, (100 * done) / total) : 0;
      const elapsed = (now - started) / 1000;
      const eta = done > 0 && total > done ? ((elapsed * (total - done)) / done).toFixed(0) : '0';
      const width = 24;
      const filled = Math.round((pct / 100) * width);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      const text = `${label} ${bar} ${pct.toFixed(1)}% ${extra} ${elapsed.toFixed(0)}s elapsed, ~${eta}s left`;
      if (tty) stream.write(`\r${text.padEnd(110).slice(0, 160)}`);
      else stream.write(`${text}\n`);
      wrote = true;
    },
    done(summary) {
      if (tty && wrote) stream.write('\n');
      stream.write(`${label}: ${summary}\n`);
    },
  };
}
