// The benchmark's backend: the test helper's throwaway nginx serving a ~100-byte /small.txt and a sparse
// /big.bin, with its own access log for /small.txt so a run can count what nginx really answered.
import { createReadStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startNginx, type Nginx } from '../../test/helpers/nginx.js';

export const SMALL_PATH = '/small.txt';
export const BIG_PATH = '/big.bin';
/** 100 bytes: 99 printable characters and a newline. */
export const SMALL_BODY = `${'tunnelwatch benchmark payload '.repeat(4).slice(0, 99)}\n`;

export interface StatusCount {
  readonly responses: number;
  /** Responses per status class: index 1 = 1xx ... 5 = 5xx. */
  readonly byClass: readonly [number, number, number, number, number, number];
}

export interface BenchBackend {
  readonly nginx: Nginx;
  /** Current end of the /small.txt access log: pass it to countSince after a run. */
  mark(): Promise<number>;
  /** Responses nginx logged for /small.txt since the mark, by status class. */
  countSince(mark: number): Promise<StatusCount>;
  stop(): Promise<void>;
}

const STATUS_FIELD = Buffer.from('"status":');

async function sizeOf(path: string): Promise<number> {
  return stat(path).then((s) => s.size, () => 0);
}

/** Counts the lines from byte offset `from`, by the first digit of their one `"status":NNN` field. */
async function countLines(path: string, from: number): Promise<StatusCount> {
  const byClass: [number, number, number, number, number, number] = [0, 0, 0, 0, 0, 0];
  let responses = 0;
  let carry = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { start: from, highWaterMark: 1 << 20 })) {
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    // Only whole lines; the rest waits for the next chunk.
    const end = buf.lastIndexOf(0x0a) + 1;
    for (let i = buf.indexOf(0x0a); i !== -1 && i < end; i = buf.indexOf(0x0a, i + 1)) responses++;
    for (let i = buf.indexOf(STATUS_FIELD); i !== -1 && i < end; i = buf.indexOf(STATUS_FIELD, i + STATUS_FIELD.length)) {
      const digit = (buf[i + STATUS_FIELD.length] ?? 0) - 0x30;
      if (digit >= 1 && digit <= 5) byClass[digit] = (byClass[digit] ?? 0) + 1;
    }
    carry = Buffer.from(buf.subarray(end));
  }
  return { responses, byClass };
}

export async function startBenchBackend(dir: string, bigFileMb: number): Promise<BenchBackend> {
  const root = join(dir, 'site');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, SMALL_PATH.slice(1)), SMALL_BODY);
  const log = join(dir, 'small-access.log');
  // One log file for this location instead of the helper's two: nginx does the same work in every mode.
  const nginx = await startNginx({
    root,
    bigFileMb,
    extraConfig: `    location = ${SMALL_PATH} { access_log ${log} tw_json; }\n    location = ${BIG_PATH} { access_log off; }\n`,
  });
  return {
    nginx,
    mark: () => sizeOf(log),
    async countSince(mark) {
      // nginx logs a request after answering it: let the last answers of a run reach the file.
      let size = await sizeOf(log);
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const now = await sizeOf(log);
        if (now === size) break;
        size = now;
      }
      return countLines(log, mark);
    },
    stop: () => nginx.stop(),
  };
}
