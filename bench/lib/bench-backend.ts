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
  readonly status2xx: number;
}

export interface BenchBackend {
  readonly nginx: Nginx;
  /** Current end of the /small.txt access log: pass it to countSince after a run. */
  mark(): Promise<number>;
  /** Responses nginx logged for /small.txt since the mark, and how many of them were 2xx. */
  countSince(mark: number): Promise<StatusCount>;
  stop(): Promise<void>;
}

const STATUS_2XX = Buffer.from('"status":2');

async function sizeOf(path: string): Promise<number> {
  return stat(path).then((s) => s.size, () => 0);
}

/** Counts lines, and lines holding `"status":2`, from byte offset `from` (one status field per line). */
async function countLines(path: string, from: number): Promise<StatusCount> {
  let responses = 0;
  let status2xx = 0;
  let carry = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { start: from, highWaterMark: 1 << 20 })) {
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    const end = buf.lastIndexOf(0x0a) + 1;
    for (let i = buf.indexOf(0x0a); i !== -1 && i < end; i = buf.indexOf(0x0a, i + 1)) responses++;
    for (let i = buf.indexOf(STATUS_2XX); i !== -1 && i < end; i = buf.indexOf(STATUS_2XX, i + STATUS_2XX.length)) status2xx++;
    carry = Buffer.from(buf.subarray(end));
  }
  return { responses, status2xx };
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
