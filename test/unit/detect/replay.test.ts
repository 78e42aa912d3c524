import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { AuditEvent } from '../../../common/audit/event.js';
import { replayEvents } from '../../../collector/detect/replay.js';
import { at, background, call, emit, spread } from './fixtures.js';

const burst = () => emit(spread(80, at(8, 10, 1), at(8, 10, 4), (ts, i) => call(ts, {
  cloud_app: 'analytics', principal: '', client_ip: `203.0.113.${1 + (i % 20)}`, decision: 'deny', deny_reason: 'path_not_allowed', status: 403, rule_id: '', path: `/admin/${i}`,
})));

describe('replayEvents', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-replay-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads an async iterable into a temporary store, finds the burst, reports progress and removes the store', async () => {
    async function* events(): AsyncIterable<AuditEvent> {
      yield* background(9);
      yield* burst();
      yield { ...background(1)[0]!, ts: 'yesterday' };
    }
    const progress: string[] = [];
    const findings = await replayEvents(events(), { tmpDir: dir, onProgress: (m) => progress.push(m), config: { detectors: { peer_deviation: { enabled: false } } } });
    assert.ok(findings.some((f) => f.detector === 'deny_burst' && f.entity === 'analytics' && f.window_start === new Date(at(8, 10)).toISOString()), JSON.stringify(findings.map((f) => f.title)));
    assert.ok(progress.some((m) => /skipped event \d+: .*ts/.test(m)), progress.join('\n'));
    assert.ok(progress.some((m) => /loaded 13,580 events/.test(m)), progress.join('\n'));
    assert.deepEqual(readdirSync(dir), [], 'the temporary store is gone');
  });

  it('reads an NDJSON file, keeps old timestamps (no archiving) and ignores duplicates', async () => {
    const file = join(dir, 'events.ndjson');
    // Timestamps years back: a retention would archive them away from the detectors.
    const shift = 3 * 365 * 86_400_000;
    const old = [...background(9), ...burst()].map((e) => ({ ...e, ts: new Date(Date.parse(e.ts) - shift).toISOString() }));
    writeFileSync(file, `${[...old, old[0]].map((e) => JSON.stringify(e)).join('\n')}\nnot json\n`);
    const progress: string[] = [];
    const findings = await replayEvents(file, { tmpDir: join(dir), onProgress: (m) => progress.push(m), config: { detectors: { peer_deviation: { enabled: false } } } });
    assert.ok(findings.some((f) => f.detector === 'deny_burst' && f.window_start === new Date(at(8, 10) - shift).toISOString()));
    assert.ok(progress.some((m) => /1 duplicates ignored, 1 malformed skipped/.test(m)), progress.join('\n'));
    assert.ok(progress.some((m) => /skipped line 13582: not JSON/.test(m)), progress.join('\n'));
  });
});
