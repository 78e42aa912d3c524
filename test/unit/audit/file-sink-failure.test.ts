// A disk that refuses writes (/dev/full answers ENOSPC): events are held, the emitter reports itself
// unhealthy so callers refuse calls, and once writes work again nothing is missing from the chain.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AuditEmitter } from '../../../common/audit/emitter.js';
import { emptyCallRecord, type AuditEvent } from '../../../common/audit/event.js';
import { createFileSink } from '../../../common/audit/file-sink.js';
import { verifyAuditFiles } from '../../../common/audit/verify.js';

test('holds events while the disk refuses writes, reports unhealthy, and writes them all once it recovers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-full-'));
  const file = join(dir, 'audit-c1-000000000001.ndjson');
  symlinkSync('/dev/full', file);
  const failures: string[] = [];
  let recovered = 0;
  const sink = createFileSink({ dir, emitterId: 'c1', maxFileBytes: 1 << 20, onFailure: (err) => failures.push(err.message), onRecovered: () => recovered++ });
  const emitter = new AuditEmitter({ emitter: 'connector', emitterId: 'c1', sinks: [sink], chain: sink.recovered });
  const record = { ...emptyCallRecord(), ts: new Date().toISOString(), subaccount: 'acme' };
  for (let i = 0; i < 5; i++) emitter.emit(record);
  await sink.flush();
  assert.equal(emitter.healthy, false, 'the emitter reports that it cannot keep events');
  assert.equal(failures.length, 1);
  assert.match(failures[0] as string, /ENOSPC|no space/i);

  // The disk comes back: a real file in place of /dev/full.
  rmSync(file);
  writeFileSync(file, '');
  for (let i = 0; i < 3; i++) emitter.emit(record);
  await sink.flush();
  assert.equal(emitter.healthy, true);
  assert.equal(recovered, 1);
  await emitter.close();
  const events = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
  assert.deepEqual(events.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
  const result = await verifyAuditFiles([dir]);
  assert.equal(result.ok, true);
});
