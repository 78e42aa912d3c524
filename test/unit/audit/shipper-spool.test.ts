// The shipper's view of the audit files (positions, lines, limits), its cursor, and retention.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { parseRetryAfter } from '../../../common/audit/collector-client.js';
import { cursorPath, loadCursor, saveCursor } from '../../../common/audit/shipper-state.js';
import { positionAfterSeq, scanLines, seqEndingAt, seqOfLine, SPOOL_START, type SpoolPosition } from '../../../common/audit/spool-reader.js';
import { sweepShippedFiles } from '../../../common/audit/spool-retention.js';
import { createLogger } from '../../../common/log.js';

const line = (seq: number, extra = '') => `{"schema":"tunnelwatch.audit/1","event_id":"e${seq}","emitter_id":"c1","seq":${seq},"path":"/p${extra}"}\n`;
const name = (firstSeq: number) => `audit-c1-${String(firstSeq).padStart(12, '0')}.ndjson`;
const silent = createLogger({ name: 'test', level: 'silent' });

describe('spool reader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-spool-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Files of `perFile` events each, seq 1..n; returns their names. */
  function files(n: number, perFile: number): string[] {
    const names: string[] = [];
    for (let first = 1; first <= n; first += perFile) {
      let text = '';
      for (let s = first; s < first + perFile && s <= n; s++) text += line(s);
      writeFileSync(join(dir, name(first)), text);
      names.push(name(first));
    }
    return names;
  }

  async function collect(names: string[], from: SpoolPosition, limit = { file: names.at(-1) as string, size: Infinity }, max = Infinity) {
    const seqs: number[] = [];
    const result = await scanLines(dir, names, from, limit, (l) => {
      if (seqs.length >= max) return false;
      seqs.push(seqOfLine(l) as number);
      return true;
    });
    return { seqs, ...result };
  }

  it('reads the top-level seq of a line without parsing it, ignoring look-alikes in strings', () => {
    assert.equal(seqOfLine(Buffer.from(line(42))), 42);
    assert.equal(seqOfLine(Buffer.from('{"path":"\\"seq\\":7","seq":9}')), 9);
    assert.equal(seqOfLine(Buffer.from('not json')), undefined);
    assert.equal(seqOfLine(Buffer.from('{"seq":"x"}')), undefined);
  });

  it('reads lines across files in chain order and resumes exactly where a batch ended', async () => {
    const names = files(25, 10);
    const first = await collect(names, SPOOL_START, undefined, 12);
    assert.deepEqual(first.seqs, Array.from({ length: 12 }, (_, i) => i + 1));
    assert.equal(first.end.seq, 12);
    assert.equal(first.end.file, names[1]);
    const rest = await collect(names, first.end);
    assert.deepEqual(rest.seqs, Array.from({ length: 13 }, (_, i) => i + 13));
    assert.equal(rest.bytes + first.bytes, names.reduce((n, f) => n + readFileSync(join(dir, f)).length, 0));
  });

  it('stops at the limit of what the sink reported as kept, and at a line still being written', async () => {
    const names = files(5, 10);
    const path = join(dir, names[0] as string);
    const full = readFileSync(path);
    writeFileSync(path, Buffer.concat([full, Buffer.from('{"seq":6,"par')]));
    const keptThree = line(1).length + line(2).length + line(3).length;
    assert.deepEqual((await collect(names, SPOOL_START, { file: names[0] as string, size: keptThree })).seqs, [1, 2, 3]);
    assert.deepEqual((await collect(names, SPOOL_START, { file: names[0] as string, size: Infinity })).seqs, [1, 2, 3, 4, 5], 'the partial line waits');
    assert.deepEqual((await collect(names, SPOOL_START, { file: '', size: 0 })).seqs, [], 'nothing kept yet');
  });

  it('goes on with the next file when the cursor file is gone', async () => {
    const names = files(30, 10);
    rmSync(join(dir, names[0] as string));
    const r = await collect(names.slice(1), { file: names[0] as string, offset: 123, seq: 4 });
    assert.equal(r.seqs[0], 11);
  });

  it('finds the position after a seq by reading, for a cursor that does not match the files', () => {
    const names = files(30, 10);
    const p = positionAfterSeq(dir, 'c1', 15);
    assert.equal(p.file, names[1]);
    assert.equal(p.seq, 15);
    assert.equal(seqEndingAt(join(dir, p.file), p.offset), 15);
    assert.deepEqual(positionAfterSeq(dir, 'c1', 0), SPOOL_START);
    const end = positionAfterSeq(dir, 'c1', 999);
    assert.equal(end.seq, 30, 'a cursor ahead of the files resumes at their end');
  });

  it('parses Retry-After as seconds or as an HTTP date, and caps it', () => {
    assert.equal(parseRetryAfter('2'), 2000);
    assert.equal(parseRetryAfter(undefined), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
    const now = Date.parse('2030-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Tue, 01 Jan 2030 00:00:03 GMT', now), 3000);
    assert.equal(parseRetryAfter('86400'), 300_000);
  });
});

describe('shipper cursor and retention', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-cursor-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('saves the cursor atomically and reads it back; no file means the start', async () => {
    assert.deepEqual(loadCursor(dir, 'c1'), { ok: true, position: SPOOL_START });
    await saveCursor(dir, 'c1', { file: name(1), offset: 300, seq: 3 });
    assert.deepEqual(loadCursor(dir, 'c1'), { ok: true, position: { file: name(1), offset: 300, seq: 3 } });
    assert.deepEqual(readdirSync(dir), ['shipper-c1.cursor'], 'no temp file is left');
  });

  it('reports a corrupt cursor rather than guessing', () => {
    writeFileSync(cursorPath(dir, 'c1'), '{"seq": 3, "fi');
    const r = loadCursor(dir, 'c1');
    assert.equal(r.ok, false);
  });

  it('deletes only old files acknowledged in full, never one with dropped events, the cursor file or the newest', async () => {
    for (const first of [1, 11, 21, 31, 41]) writeFileSync(join(dir, name(first)), line(first));
    const old = Date.now() / 1000 - 10 * 86_400;
    for (const first of [1, 11, 21, 31, 41]) utimesSync(join(dir, name(first)), old, old);
    const deleted = await sweepShippedFiles({
      dir, emitterId: 'c1', keepDays: 7, log: silent,
      position: { file: name(31), offset: 5, seq: 33 },
      dropped: [{ ts: '', from_seq: 15, to_seq: 18, events: 4, bytes: 100 }],
    });
    assert.deepEqual(deleted, [name(1), name(21)]);
    assert.deepEqual(readdirSync(dir).sort(), [name(11), name(31), name(41)]);
    const none = await sweepShippedFiles({ dir, emitterId: 'c1', keepDays: 30, log: silent, position: { file: name(41), offset: 0, seq: 40 }, dropped: [] });
    assert.deepEqual(none, [], 'younger than keep_shipped_days');
  });
});
