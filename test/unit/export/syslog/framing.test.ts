import assert from 'node:assert/strict';
import { test } from 'node:test';
import { octetCountedFrames, truncateUtf8 } from '../../../../collector/export/syslog/framing.js';

test('octet counting prefixes each message with its length in bytes, not characters', () => {
  const out = octetCountedFrames(['<134>1 - - - - - -', 'ü\n日本😀']).toString('utf8');
  assert.equal(out, `18 <134>1 - - - - - -${Buffer.byteLength('ü\n日本😀')} ü\n日本😀`);
  assert.equal(Buffer.byteLength('ü\n日本😀'), 2 + 1 + 6 + 4);
});

test('truncation keeps messages that fit untouched', () => {
  const m = Buffer.from('short');
  assert.equal(truncateUtf8(m, 5), m);
});

test('truncation never splits a UTF-8 character', () => {
  const m = Buffer.from('ab日😀', 'utf8'); // 2 + 3 + 4 bytes
  assert.equal(truncateUtf8(m, 2).toString(), 'ab');
  assert.equal(truncateUtf8(m, 3).toString(), 'ab');
  assert.equal(truncateUtf8(m, 4).toString(), 'ab');
  assert.equal(truncateUtf8(m, 5).toString(), 'ab日');
  assert.equal(truncateUtf8(m, 8).toString(), 'ab日');
  assert.equal(truncateUtf8(m, 9).toString(), 'ab日😀');
  for (let n = 0; n <= m.length; n++) assert.ok(!truncateUtf8(m, n).toString('utf8').includes('\uFFFD'), `cut at ${n}`);
});
