import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { AuditEmitter } from '../../../common/audit/emitter.js';
import { emptyCallRecord, type AuditEvent, type CallRecord } from '../../../common/audit/event.js';
import { computeEventHash } from '../../../common/audit/hash-chain.js';
import { createFileSink, listAuditFiles, type FileSinkOptions } from '../../../common/audit/file-sink.js';

function call(i: number): CallRecord {
  return { ...emptyCallRecord(), ts: new Date(1_800_000_000_000 + i).toISOString(), subaccount: 'acme', path: `/p/${i}`, status: 403, deny_reason: 'no_mapping' };
}

function readEvents(file: string): AuditEvent[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as AuditEvent);
}

/** Opens a sink and an emitter continuing from what the sink recovered, emits `n` events, closes. */
async function run(dir: string, n: number, extra: Partial<FileSinkOptions> = {}): Promise<ReturnType<typeof createFileSink>> {
  const sink = createFileSink({ dir, emitterId: 'connector-1', maxFileBytes: 1 << 20, ...extra });
  const emitter = new AuditEmitter({ emitter: 'connector', emitterId: 'connector-1', sinks: [sink], chain: sink.recovered });
  for (let i = 0; i < n; i++) emitter.emit(call(i));
  await emitter.close();
  return sink;
}

function allEvents(dir: string): AuditEvent[] {
  return listAuditFiles(dir, 'connector-1').flatMap(readEvents);
}

function assertChain(events: AuditEvent[]): void {
  let prev = '';
  events.forEach((e, i) => {
    assert.equal(e.seq, i + 1, `seq at index ${i}`);
    assert.equal(e.prev_hash, prev, `prev_hash of seq ${e.seq}`);
    assert.equal(e.hash, computeEventHash(e as unknown as Record<string, unknown>), `hash of seq ${e.seq}`);
    prev = e.hash;
  });
}

describe('createFileSink', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-file-sink-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('rotates once a file reaches maxFileBytes and names each file by its first seq', async () => {
    await run(dir, 20, { maxFileBytes: 2000 });
    const files = listAuditFiles(dir, 'connector-1');
    assert.ok(files.length >= 3, `expected several files, got ${files.length}`);
    for (const file of files) {
      const events = readEvents(file);
      assert.equal(basename(file), `audit-connector-1-${String(events[0]?.seq).padStart(12, '0')}.ndjson`);
      // A file is only rotated away from once it is full, so only the last event may cross the limit.
      const size = statSync(file).size;
      const lastLine = JSON.stringify(events.at(-1)).length + 1;
      assert.ok(size - lastLine < 2000, `${basename(file)} holds ${size} bytes`);
    }
    assertChain(allEvents(dir));
    assert.equal(allEvents(dir).length, 20);
  });

  it('starts an empty directory at seq 1 with nothing recovered', async () => {
    const sink = await run(dir, 1);
    assert.deepEqual(sink.recovered, { seq: 0, hash: '' });
    assert.deepEqual(readdirSync(dir), ['audit-connector-1-000000000001.ndjson']);
  });

  it('continues the chain after a restart by reading the tail, never reusing a seq', async () => {
    await run(dir, 5, { maxFileBytes: 2000 });
    const before = allEvents(dir);
    const sink = await run(dir, 5, { maxFileBytes: 2000 });
    assert.deepEqual(sink.recovered, { seq: 5, hash: before[4]?.hash });
    const events = allEvents(dir);
    assert.equal(events.length, 10);
    assertChain(events);
  });

  it('rotates on the first write after a restart when the file it resumes is already full', async () => {
    await run(dir, 3, { maxFileBytes: 1 << 20 });
    await run(dir, 1, { maxFileBytes: 500 });
    assert.deepEqual(readdirSync(dir).sort(), ['audit-connector-1-000000000001.ndjson', 'audit-connector-1-000000000004.ndjson']);
    assert.equal(readEvents(join(dir, 'audit-connector-1-000000000001.ndjson')).length, 3);
    assertChain(allEvents(dir));
  });

  it('cuts a torn last line left by a crash mid-write, reports it, and continues from the last whole event', async () => {
    await run(dir, 4);
    const [file] = listAuditFiles(dir, 'connector-1') as [string];
    const whole = statSync(file).size;
    const torn = '{"schema":"tunnelwatch.audit/1","event_id":"0192';
    appendFileSync(file, torn);
    const reports: [string, number][] = [];
    const sink = await run(dir, 2, { onTornTail: (f, bytes) => reports.push([f, bytes]) });
    assert.deepEqual(reports, [[file, torn.length]]);
    assert.equal(sink.recovered.seq, 4);
    assert.ok(statSync(file).size > whole);
    assertChain(allEvents(dir));
    assert.equal(allEvents(dir).length, 6);
  });

  it('walks back to the previous file when the torn line was the only one in the newest file', async () => {
    await run(dir, 3);
    const second = join(dir, 'audit-connector-1-000000000004.ndjson');
    const torn = '{"schema":"tunnelwatch.au';
    writeFileSync(second, torn);
    const reports: number[] = [];
    const sink = await run(dir, 1, { onTornTail: (_f, bytes) => reports.push(bytes) });
    assert.deepEqual(reports, [torn.length]);
    assert.equal(sink.recovered.seq, 3);
    assert.deepEqual(readEvents(second).map((e) => e.seq), [4], 'seq 4 lands in the file named for it');
    assertChain(allEvents(dir));
  });

  it('handles an empty newest file (a crash right after rotation) by recovering from the file before it', async () => {
    await run(dir, 3);
    const empty = join(dir, 'audit-connector-1-000000000004.ndjson');
    writeFileSync(empty, '');
    const sink = await run(dir, 2);
    assert.equal(sink.recovered.seq, 3);
    assert.deepEqual(readEvents(empty).map((e) => e.seq), [4, 5]);
    assertChain(allEvents(dir));
  });

  it('keeps the files of other emitters in the same directory apart', async () => {
    await run(dir, 2);
    const other = createFileSink({ dir, emitterId: 'connector-10', maxFileBytes: 1 << 20 });
    assert.deepEqual(other.recovered, { seq: 0, hash: '' }, 'connector-1 files are not mistaken for connector-10 ones');
    assert.deepEqual(listAuditFiles(dir, 'connector-10'), []);
    assert.equal(listAuditFiles(dir, 'connector-1').length, 1);
    assert.deepEqual(listAuditFiles(dir, 'connector'), [], 'nor for those of an emitter whose id is a prefix');
  });
});
