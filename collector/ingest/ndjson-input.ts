// NDJSON files of audit events as `tunnelwatch ingest` and `tunnelwatch replay` read them: plain, or
// gzip-compressed (recognised by its first two bytes, whatever the file is called), line by line.
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

/** Why `path` cannot be read as an input file, or undefined. */
export function inputFileProblem(path: string): string | undefined {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return `${path}: no such file`;
  }
  if (stat.isDirectory()) return `${path} is a directory: name the files in it (e.g. ${path}/*.ndjson)`;
  if (!stat.isFile()) return `${path} is not a regular file`;
  return undefined;
}

function isGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

export interface NdjsonInput {
  /** The lines, without their line ends (CRLF too). */
  readonly lines: AsyncIterable<string>;
  /** Bytes of the file read so far (compressed bytes for gzip), for progress against its size. */
  position(): number;
  readonly gzip: boolean;
}

export function ndjsonInput(path: string): NdjsonInput {
  const gzip = isGzip(path);
  const raw = createReadStream(path);
  const source = gzip ? raw.pipe(createGunzip()) : raw;
  // A corrupt gzip stream fails the iteration with zlib's error; the raw stream's errors reach it too.
  if (gzip) raw.on('error', (err) => source.destroy(err));
  return { lines: createInterface({ input: source, crlfDelay: Infinity }), position: () => raw.bytesRead, gzip };
}
