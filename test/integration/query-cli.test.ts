// `tunnelwatch query` is read-only: on the embedded engine readonly=1 does not stop INTO OUTFILE (the
// engine writes the file itself), so the command refuses it, and several statements at once; an engine
// error is one line and exit 1, not a stack trace.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { refuseQuery, sqlKeywordsOnly } from '../../cli/commands/query.js';
import { run } from '../helpers/processes.js';
import { CLI } from '../helpers/tunnel-stack.js';

describe('refuseQuery', () => {
  test('refuses INTO OUTFILE in any spelling, and statements that are not read-only', () => {
    for (const sql of [
      "SELECT 1 INTO OUTFILE '/tmp/x'",
      "select 1 into\n  outfile '/tmp/x' TRUNCATE",
      "WITH 1 AS a SELECT a INTO /* c */ OUTFILE '/tmp/x'",
      "SELECT 'a' AS x INTO OUTFILE '/tmp/x' APPEND",
      'INSERT INTO findings SELECT * FROM findings',
      'DROP TABLE findings',
      'SELECT 1; DROP TABLE findings',
      "SELECT 1;\nSELECT 'two'",
    ]) assert.ok(refuseQuery(sql), `must be refused: ${sql}`);
  });

  test('lets the word through where it is data, a name or a comment', () => {
    for (const sql of [
      "SELECT 'INTO OUTFILE' AS x",
      'SELECT 1 AS `outfile`',
      'SELECT 1 AS "OUTFILE"',
      'SELECT 1 -- INTO OUTFILE here is a comment',
      'SELECT 1 /* INTO OUTFILE */',
      "SELECT 'it''s; fine' AS s;",
      'SELECT count() FROM audit_events FINAL GROUP BY ALL',
    ]) assert.equal(refuseQuery(sql), undefined, sql);
  });

  test('blanks literals and comments, keeps the keywords', () => {
    assert.equal(sqlKeywordsOnly("SELECT 'a;b' AS `c;d` -- e\nFROM t").replace(/\s+/g, ' ').trim(), 'SELECT AS FROM t');
  });
});

describe('tunnelwatch query', () => {
  let config = '';
  let dir = '';
  const tw = (...args: string[]) => run(process.execPath, [CLI, 'query', '--config', config, ...args], { timeoutMs: 60_000 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tw-query-'));
    config = join(dir, 'collector.yaml');
    await writeFile(config, `collector:\n  listen: 127.0.0.1:1\n  ingest_tokens: []\nstore:\n  data_dir: ${join(dir, 'store')}\n`);
  });

  test('prints rows, and NDJSON with --json', async () => {
    const table = await tw("SELECT 'hello' AS greeting, 2 AS n");
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /greeting\s+n\n-+\s+-+\nhello\s+2\n\(1 row\)/);
    const json = await tw('--json', "SELECT 'hello' AS greeting");
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout.trim()), { greeting: 'hello' });
  });

  test('refuses INTO OUTFILE and leaves the file alone', async () => {
    const victim = join(dir, 'victim.txt');
    await writeFile(victim, 'original\n');
    const r = await tw(`SELECT 'overwritten' AS x INTO OUTFILE '${victim}' TRUNCATE`);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /INTO OUTFILE is not allowed/);
    assert.equal(await readFile(victim, 'utf8'), 'original\n');
  });

  test('an engine error is one line and exit 1', async () => {
    const r = await tw('SELECT * FROM no_such_table');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tunnelwatch query: the engine refused the query: .*no_such_table/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});
