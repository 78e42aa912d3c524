// guardRowWriter: a row writer that throws declines (the exporter writes the record from its decoded event
// instead), and only the first throw is reported.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { guardRowWriter } from '../../../collector/export/row-binary.js';

describe('guardRowWriter', () => {
  it('passes answers through, turns a throw into the declined answer, and reports the first throw only', () => {
    const reported: unknown[] = [];
    const write = (n: number): string | undefined => {
      if (n < 0) throw new Error(`negative ${n}`);
      return n === 0 ? undefined : `row ${n}`;
    };
    const guarded = guardRowWriter(write, undefined, (err) => reported.push(err));
    assert.equal(guarded(3), 'row 3');
    assert.equal(guarded(0), undefined, 'a writer declining on its own still declines');
    assert.equal(guarded(-1), undefined);
    assert.equal(guarded(-2), undefined);
    assert.equal(guarded(4), 'row 4', 'rows after a throw are still written from their bytes');
    assert.equal(reported.length, 1);
    assert.match((reported[0] as Error).message, /negative -1/);
  });

  it('keeps the arguments of a writer with several', () => {
    const guarded = guardRowWriter((a: string, b: number[]) => (b.push(a.length), true), false, () => assert.fail('no throw expected'));
    const out: number[] = [];
    assert.equal(guarded('abc', out), true);
    assert.deepEqual(out, [3]);
  });
});
