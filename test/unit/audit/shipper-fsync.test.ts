// audit.fsync, as the file sink applies it: when written events count as kept (and may be shipped).
// fdatasync is counted through node:fs itself (syncBuiltinESMExports updates the sink's import).
import assert from 'node:assert/strict';
import fs, { mkdtempSync, rmSync, statSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AuditEmitter } from '../../../common/audit/emitter.js';
import { emptyCallRecord } from '../../../common/audit/event.js';
import { createFileSink, listAuditFiles, type FileSinkOptions, type KeptMark } from '../../../common/audit/file-sink.js';

const originalAsync = fs.fdatasync;
const originalSync = fs.fdatasyncSync;
let syncs = 0;
let failWith: string | undefined;

function spy(): void {
  fs.fdatasync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    syncs++;
    if (failWith) {
      const err = Object.assign(new Error(`${failWith}: i/o error, fdatasync`), { code: failWith });
      setImmediate(() => cb(err));
      return;
    }
    originalAsync(fd, cb);
  }) as typeof fs.fdatasync;
  fs.fdatasyncSync = ((fd: number) => {
    syncs++;
    originalSync(fd);
  }) as typeof fs.fdatasyncSync;
  syncBuiltinESMExports();
}

function unspy(): void {
  fs.fdatasync = originalAsync;
  fs.fdatasyncSync = originalSync;
  syncBuiltinESMExports();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const record = () => ({ ...emptyCallRecord(), ts: new Date().toISOString(), subaccount: 'acme' });

describe('file sink fsync policy', () => {
  let dir: string;
  let marks: KeptMark[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-fsync-'));
    marks = [];
    syncs = 0;
    failWith = undefined;
    spy();
  });
  afterEach(() => {
    unspy();
    rmSync(dir, { recursive: true, force: true });
  });

  function open(extra: Partial<FileSinkOptions>) {
    const sink = createFileSink({ dir, emitterId: 'c1', maxFileBytes: 1 << 20, onKept: (m) => marks.push({ ...m, syncsSoFar: syncs } as KeptMark), ...extra });
    const emitter = new AuditEmitter({ emitter: 'connector', emitterId: 'c1', sinks: [sink], chain: sink.recovered });
    return { sink, emitter };
  }

  it('batch: events count as kept only once an fdatasync covering them has finished', async () => {
    const { sink, emitter } = open({ fsync: 'batch' });
    for (let i = 0; i < 10; i++) emitter.emit(record());
    await sink.flush();
    assert.equal(marks.length, 0, 'written, but not yet synced');
    assert.equal(syncs, 1);
    await sleep(50);
    assert.equal(marks.at(-1)?.seq, 10);
    assert.ok(((marks.at(-1) as unknown as { syncsSoFar: number }).syncsSoFar) >= 1);
    for (let turn = 0; turn < 20; turn++) {
      emitter.emit(record());
      await new Promise((r) => setImmediate(r));
    }
    await emitter.close();
    assert.equal(marks.at(-1)?.seq, 30);
    assert.ok(syncs >= 2 && syncs <= 22, `one fdatasync per group commit at most, got ${syncs}`);
    for (let i = 1; i < marks.length; i++) assert.ok((marks[i] as KeptMark).total > (marks[i - 1] as KeptMark).total, 'marks only grow');
    const file = listAuditFiles(dir, 'c1')[0] as string;
    assert.equal(marks.at(-1)?.size, statSync(file).size);
  });

  it('interval: counts events as kept once written and fdatasyncs at most once per interval', async () => {
    const { sink, emitter } = open({ fsync: 'interval', fsyncIntervalMs: 200 });
    const started = Date.now();
    let n = 0;
    while (Date.now() - started < 1000) {
      emitter.emit(record());
      n++;
      await sink.flush();
      assert.equal(marks.at(-1)?.seq, n, 'kept at once');
      await sleep(5);
    }
    const elapsed = Date.now() - started;
    await emitter.close();
    // The policy's bound, not a rate: never more than one periodic sync per interval, plus the first
    // one (at once), the new file's directory, and the file and directory at close. A busy machine may
    // sync less often, never more.
    assert.ok(syncs >= 1 && syncs <= Math.floor(elapsed / 200) + 4, `at most one fdatasync per 200 ms over ${elapsed} ms, got ${syncs}`);
  });

  it('never: counts events as kept once written and never fdatasyncs', async () => {
    const { sink, emitter } = open({ fsync: 'never' });
    for (let i = 0; i < 5; i++) emitter.emit(record());
    await sink.flush();
    assert.equal(marks.at(-1)?.seq, 5);
    await emitter.close();
    assert.equal(syncs, 0);
  });

  it('batch: a rotation syncs the full file first, and the marks cover every byte of every file', async () => {
    const { emitter } = open({ fsync: 'batch', maxFileBytes: 4096 });
    for (let turn = 0; turn < 40; turn++) {
      for (let i = 0; i < 3; i++) emitter.emit(record());
      await new Promise((r) => setImmediate(r));
    }
    await emitter.close();
    const files = listAuditFiles(dir, 'c1');
    assert.ok(files.length >= 5);
    const total = files.reduce((n, f) => n + statSync(f).size, 0);
    assert.equal(marks.at(-1)?.total, total);
    assert.equal(marks.at(-1)?.seq, 120);
    for (let i = 1; i < marks.length; i++) {
      const [a, b] = [marks[i - 1] as KeptMark, marks[i] as KeptMark];
      assert.ok(b.file > a.file || (b.file === a.file && b.size > a.size), 'positions only move forward');
    }
  });

  it('a failing fdatasync makes the sink unhealthy (calls refused) until one succeeds', async () => {
    const failures: string[] = [];
    let recovered = 0;
    const { sink, emitter } = open({ fsync: 'batch', onFailure: (e) => failures.push(e.message), onRecovered: () => recovered++ });
    failWith = 'EIO';
    emitter.emit(record());
    await sink.flush();
    await sleep(20);
    assert.equal(emitter.healthy, false);
    assert.match(failures[0] ?? '', /EIO/);
    assert.equal(marks.length, 0, 'nothing counts as kept');
    failWith = undefined;
    await sleep(1200);
    assert.equal(emitter.healthy, true);
    assert.equal(recovered, 1);
    assert.equal(marks.at(-1)?.seq, 1);
    await emitter.close();
  });
});
