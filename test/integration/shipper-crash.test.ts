// kill -9 of a process that emits and ships audit events, mid-stream, then a restart: every event in
// its files reaches the collector, and the only duplicates are those of the one batch in flight.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { listAuditFiles } from '../../common/audit/file-sink.js';
import { verifyAuditFiles } from '../../common/audit/verify.js';
import { startProcess, waitFor } from '../helpers/processes.js';
import { FakeCollector } from './shipper-collector.js';

const CHILD = fileURLToPath(new URL('./shipper-child.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tw-shipper-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('kill -9 while shipping loses nothing, and duplicates only the batch in flight', async () => {
  const collector = await new FakeCollector().start();
  // Requests stay open a while before their commit, so the kill likely finds one in flight.
  collector.commitDelayMs = 20;
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, collector.token);
  const auditDir = join(dir, 'audit');
  try {
    const first = await startProcess(process.execPath, [CHILD, auditDir, collector.url, tokenFile, '20000'], { readyWhen: /ready/ });
    await waitFor(() => collector.stored.size >= 4000, { timeoutMs: 20_000, message: '4000 events at the collector' });
    assert.doesNotMatch(first.stdout(), /emitted/, 'the kill comes mid-stream, while events are still emitted');
    await first.kill9();
    await new Promise((r) => setTimeout(r, 100)); // a commit in progress at the kill still lands
    const firstRun = collector.accepted();
    const lastBatch = new Set(firstRun.at(-1)?.ids);
    const beforeRestart = collector.stored.size;

    const second = await startProcess(process.execPath, [CHILD, auditDir, collector.url, tokenFile, '0'], { readyWhen: /ready/ });
    await waitFor(() => second.stdout().includes('drained'), { timeoutMs: 30_000, message: 'the restarted process drained its spool' });
    await second.stop();

    const lines = listAuditFiles(auditDir, 'c1').flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l !== ''));
    const ids = lines.map((l) => (JSON.parse(l) as { event_id: string }).event_id);
    assert.ok(ids.length > beforeRestart, `the first process had kept more (${ids.length}) than it had shipped (${beforeRestart})`);
    assert.deepEqual([...collector.stored.keys()].sort(), [...ids].sort(), 'the collector holds exactly the events in the files');
    const duplicated = [...collector.stored].filter(([, n]) => n > 1).map(([id]) => id);
    for (const id of duplicated) assert.ok(lastBatch.has(id), `${id} was sent twice but was not in the batch in flight at the kill`);
    assert.ok(duplicated.length <= 500, 'at most one batch');
    for (const [, n] of collector.stored) assert.ok(n <= 2);
    const chain = await verifyAuditFiles(listAuditFiles(auditDir, 'c1'));
    assert.equal(chain.ok, true, 'the chain survived the kill');
  } finally {
    await collector.stop();
  }
});
