import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERRORS } from '../../common/errors.js';

const doc = readFileSync(new URL('../../../docs/error-codes.md', import.meta.url), 'utf8');

test('docs/error-codes.md lists every error code with its HTTP status', () => {
  for (const [code, spec] of Object.entries(ERRORS)) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    assert.ok(row, `${code} is missing from docs/error-codes.md`);
    assert.equal(row.split('|')[2]?.trim(), spec.status ? String(spec.status) : '-', `${code} has the wrong status in the docs`);
  }
});

test('docs/error-codes.md lists no code that the code base does not have', () => {
  const documented = [...doc.matchAll(/^\| `(TW_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  for (const code of documented) assert.ok(code && code in ERRORS, `${code} is documented but not defined in common/errors.ts`);
});
