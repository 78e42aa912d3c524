// `tunnelwatch replay` as a user runs it: a real process, an NDJSON file in, findings out.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { Finding } from '../../collector/detect/types.js';
import { run } from '../helpers/processes.js';
import { CLI } from '../helpers/tunnel-stack.js';
import { at, background, call, emit, spread } from '../unit/detect/fixtures.js';

describe('tunnelwatch replay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-replay-cli-'));
  const file = join(dir, 'audit.ndjson');
  before(() => {
    const events = [
      ...background(9),
      ...emit(spread(60, at(8, 14, 2), at(8, 14, 4), (ts, i) => call(ts, {
        subaccount: '', cloud_app: '', principal: '', client_ip: '198.51.100.66', decision: 'deny', deny_reason: 'unauthenticated', status: 407, rule_id: '', path: `/x/${i}`,
      }))),
    ];
    writeFileSync(file, `${events.map((e) => JSON.stringify(e)).join('\n')}\n{"broken": \n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the findings as NDJSON on stdout and its progress on stderr', async () => {
    const r = await run('node', [CLI, 'replay', '--input', file, '--json'], { timeoutMs: 120_000, env: { TMPDIR: dir } });
    assert.equal(r.code, 0, r.stderr);
    const findings = r.stdout.trim().split('\n').map((line) => JSON.parse(line) as Finding);
    const auth = findings.filter((f) => f.detector === 'auth_failure_burst');
    assert.equal(auth.length, 1, r.stdout);
    assert.deepEqual([auth[0]?.subaccount, auth[0]?.entity, auth[0]?.window_start], ['', '198.51.100.66', new Date(at(8, 14)).toISOString()]);
    for (const f of findings) {
      assert.match(f.finding_id, /^[0-9a-f]{32}$/);
      assert.ok(['low', 'medium', 'high', 'critical'].includes(f.severity));
      assert.ok(f.score >= 0 && f.score <= 100);
      assert.ok(f.explanation.includes('Threshold') || f.explanation.includes('Baseline'), f.explanation);
    }
    assert.match(r.stderr, /replay: skipped line 13561: not JSON/);
    assert.match(r.stderr, /replay: loaded 13,560 events/);
    assert.match(r.stderr, /replay: \d+ findings in [\d.]+ s/);
  });

  it('prints a table without --json, and refuses a missing input with exit code 2', async () => {
    const r = await run('node', [CLI, 'replay', '--input', file, '--min-severity', 'medium'], { timeoutMs: 120_000, env: { TMPDIR: dir } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^SEVERITY\s+SCORE\s+DETECTOR\s+SUBACCOUNT\s+ENTITY\s+WINDOW \(UTC\)\s+TITLE$/m);
    assert.match(r.stdout, /auth_failure_burst\s+-\s+client_ip:198\.51\.100\.66\s+2026-10-13 14:00 - 14:15/);
    const missing = await run('node', [CLI, 'replay', '--input', join(dir, 'nope.ndjson')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.ndjson: no such file/);
  });

  it('reads a gzip-compressed file as it is, and refuses a directory with exit code 2', async () => {
    // Named .ndjson on purpose: the first two bytes say gzip, not the name.
    const gz = join(dir, 'compressed.ndjson');
    writeFileSync(gz, gzipSync(readFileSync(file)));
    const r = await run('node', [CLI, 'replay', '--input', gz, '--json'], { timeoutMs: 120_000, env: { TMPDIR: dir } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /replay: loaded 13,560 events/);
    const auth = r.stdout.trim().split('\n').map((line) => JSON.parse(line) as Finding).filter((f) => f.detector === 'auth_failure_burst');
    assert.deepEqual(auth.map((f) => f.entity), ['198.51.100.66']);
    const badOption = await run('node', [CLI, 'replay', '--input', gz, '--baseline-days', '0']);
    assert.equal(badOption.code, 2);
    assert.match(badOption.stderr, /^tunnelwatch replay: --baseline-days must be a whole number from 1 to 365, got 0/);
    assert.doesNotMatch(badOption.stderr, /loaded/, 'refused before loading the input');
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    const refused = await run('node', [CLI, 'replay', '--input', sub]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /a-directory is a directory: name the files in it/);
  });
});
