import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLASSIFICATIONS, classificationInfo, DOCTOR_CLASSIFICATIONS, RELAY_FIXES } from '../../../connector/diagnostics/classifications.js';

test('every classification but ok has a title, a cause and a fix written as sentences', () => {
  for (const [id, info] of [...Object.entries(CLASSIFICATIONS), ...Object.entries(DOCTOR_CLASSIFICATIONS)]) {
    if (id === 'ok') {
      assert.equal(info.fix, '');
      continue;
    }
    assert.match(id, /^[a-z]+(_[a-z]+)+$/, `${id} is a stable snake_case id`);
    assert.ok(info.title.length > 2 && !info.title.endsWith('.'), `${id} title`);
    assert.match(info.cause, /^[A-Za-z].*\.$/, `${id} cause is a sentence`);
    assert.match(info.fix, /^[A-Z`].*[.)]$/, `${id} fix is a sentence`);
    // The doc tables are Markdown: a pipe would split a row.
    assert.ok(!`${info.title}${info.cause}${info.fix}`.includes('|'), `${id} has no pipe`);
  }
});

test('doctor ids do not shadow backend ids, and relay fixes only cover ids doctor shares with checks', () => {
  for (const id of Object.keys(DOCTOR_CLASSIFICATIONS)) assert.ok(!(id in CLASSIFICATIONS), id);
  for (const id of Object.keys(RELAY_FIXES)) assert.match(id, /^(dns|tcp|tls)_/, id);
});

test('classificationInfo finds an entry of either catalogue', () => {
  assert.equal(classificationInfo('tcp_refused'), CLASSIFICATIONS.tcp_refused);
  assert.equal(classificationInfo('clock_skew'), DOCTOR_CLASSIFICATIONS.clock_skew);
});
