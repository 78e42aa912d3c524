import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AUDIT_FIELDS, AUDIT_SCHEMA } from '../../../common/audit/event.js';
import { verifyAuditFiles } from '../../../common/audit/verify.js';
import { writeSimulation } from '../../../collector/detect/simulate/write-files.js';

const BIN = fileURLToPath(new URL('../../../../bin/tunnelwatch.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tw-sim-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('simulate: files and chains', () => {
  const files = { events: join(dir, 'events.ndjson'), labels: join(dir, 'labels.ndjson'), novelties: join(dir, 'novelties.ndjson') };
  const result = writeSimulation({ days: 9, subaccounts: 3, seed: 5, rateScale: 0.05, warmupDays: 6 }, files);

  it('writes one valid hash chain per emitter: two relays, one connector per subaccount and location', async () => {
    const verdict = await verifyAuditFiles([files.events]);
    assert.equal(verdict.ok, true, JSON.stringify(verdict.emitters.filter((e) => !e.ok)));
    assert.equal(verdict.lines, result.events);
    const ids = verdict.emitters.map((e) => e.emitterId);
    assert.deepEqual(ids, result.emitters.map((e) => e.emitterId));
    assert.ok(ids.includes('relay-1') && ids.includes('relay-2'));
    for (const sub of result.subaccounts) assert.ok(ids.includes(`cc-${sub.name}`), `connector of ${sub.name}`);
    for (const e of verdict.emitters) assert.equal(e.events, result.emitters.find((x) => x.emitterId === e.emitterId)?.events);
  });

  it('writes complete audit-event-v1 lines, in time order per emitter', () => {
    const lines = readFileSync(files.events, 'utf8').trimEnd().split('\n');
    const last = new Map<string, string>();
    for (const line of lines) {
      const e = JSON.parse(line) as Record<string, unknown>;
      assert.deepEqual(Object.keys(e), AUDIT_FIELDS);
      assert.equal(e.schema, AUDIT_SCHEMA);
      assert.match(e.ts as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok((last.get(e.emitter_id as string) ?? '') <= (e.ts as string));
      last.set(e.emitter_id as string, e.ts as string);
      // Only what the relay refused before knowing the caller has no subaccount.
      if (e.emitter === 'relay' && (e.deny_reason === 'unauthenticated' || e.deny_reason === 'malformed_request')) assert.equal(e.subaccount, '');
      else assert.match(e.subaccount as string, /^[a-z0-9][a-z0-9-]{0,63}$/);
      if (e.emitter === 'connector') assert.notEqual(e.deny_reason, 'unauthenticated');
    }
  });

  it('writes the labels and novelties it returns', () => {
    const labels = readFileSync(files.labels, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string });
    assert.deepEqual(labels.map((l) => l.id), result.labels.map((l) => l.id));
    const novelties = readFileSync(files.novelties, 'utf8').trim();
    assert.equal(novelties === '' ? 0 : novelties.split('\n').length, result.novelties.length);
  });

  it('tunnelwatch simulate writes the same files from the command line, and refuses bad options', () => {
    const out = join(dir, 'cli.ndjson');
    const labels = join(dir, 'cli-labels.ndjson');
    const r = spawnSync(process.execPath, [BIN, 'simulate', '--days', '9', '--subaccounts', '3', '--seed', '5', '--rate-scale', '0.05', '--warmup-days', '6', '--out', out, '--labels', labels], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /simulate: [\d,]+ events from \d+ emitters/);
    assert.equal(readFileSync(out, 'utf8').split('\n').length - 1, result.events);
    assert.equal(readFileSync(labels, 'utf8'), readFileSync(files.labels, 'utf8'));
    const bad = spawnSync(process.execPath, [BIN, 'simulate', '--out', out, '--labels', labels, '--scenarios', 'deny_burst,nonsense'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown scenario nonsense/);
    const none = spawnSync(process.execPath, [BIN, 'simulate', '--days', '2', '--warmup-days', '1', '--rate-scale', '0.02', '--scenarios', 'none', '--out', out, '--labels', labels], { encoding: 'utf8' });
    assert.equal(none.status, 0, none.stderr);
    assert.equal(readFileSync(labels, 'utf8'), '');
  });
});
