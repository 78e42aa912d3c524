// Writes a simulation to NDJSON files: events streamed in chunks (bounded memory), labels and benign
// novelties once the events are done.
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import type { SimulateOptions } from './options.js';
import { simulate, type SimulationResult } from './simulate.js';

const CHUNK_BYTES = 4 * 1024 * 1024;

export interface SimulationFiles {
  readonly events: string;
  readonly labels: string;
  /** Benign novelties (release, month-end, holiday), if wanted. */
  readonly novelties?: string;
}

export interface WriteProgress {
  readonly minutesDone: number;
  readonly minutesTotal: number;
  readonly events: number;
}

export function ndjson(rows: readonly unknown[]): string {
  return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
}

export function writeSimulation(options: SimulateOptions, files: SimulationFiles, onProgress?: (p: WriteProgress) => void): SimulationResult {
  const fd = openSync(files.events, 'w');
  let chunk: string[] = [];
  let bytes = 0;
  const flush = () => {
    if (chunk.length === 0) return;
    writeSync(fd, chunk.join(''));
    chunk = [];
    bytes = 0;
  };
  let result: SimulationResult;
  try {
    result = simulate(options, {
      onEvent(_event, line) {
        chunk.push(line);
        bytes += line.length;
        if (bytes >= CHUNK_BYTES) flush();
      },
      ...(onProgress ? { onProgress } : {}),
    });
    flush();
  } finally {
    closeSync(fd);
  }
  writeFileSync(files.labels, ndjson(result.labels));
  if (files.novelties) writeFileSync(files.novelties, ndjson(result.novelties));
  return result;
}
