// The line diff behind the configuration change history (dashboard/web/src/lib/diff.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

// Browser code, built by dashboard/web/tsconfig.json into dist/dashboard/web (outside this project).
interface DiffLine { kind: 'same' | 'added' | 'removed'; text: string }
const { diffLines, prettyJson } = (await import(new URL('../../../dashboard/web/lib/diff.js', import.meta.url).href)) as {
  diffLines(before: string, after: string): DiffLine[];
  prettyJson(text: string): string;
};

describe('configuration diff', () => {
  it('marks removed, added and unchanged lines in order', () => {
    const d = diffLines('a\nb\nc\nd', 'a\nc\nx\nd');
    assert.deepEqual(d.map((l) => `${l.kind[0]}${l.text}`), ['sa', 'rb', 'sc', 'ax', 'sd']);
  });

  it('diffs JSON by value, not by key order', () => {
    const before = prettyJson('{"b":1,"a":{"y":[1,2],"x":"old"}}');
    const after = prettyJson('{"a":{"x":"new","y":[1,2]},"b":1}');
    const changed = diffLines(before, after).filter((l) => l.kind !== 'same').map((l) => `${l.kind}:${l.text.trim()}`);
    assert.deepEqual(changed, ['removed:"x": "old",', 'added:"x": "new",']);
  });

  it('shows a first version as all added, and a text that is not JSON as is', () => {
    assert.deepEqual(diffLines('', 'x\ny').map((l) => l.kind), ['added', 'added']);
    assert.equal(prettyJson('not json'), 'not json');
  });
});
