import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameBuilder, octetCountedFrames, truncateUtf8 } from '../../../../collector/export/syslog/framing.js';

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

test('a frame builder hands over its frames without holding a mostly empty buffer behind them', () => {
  const roomy = new FrameBuilder(1024 * 1024);
  roomy.addString('<134>1 - - - - - -');
  const taken = roomy.take();
  assert.equal(taken.toString('latin1'), '18 <134>1 - - - - - -');
  assert.ok(taken.buffer.byteLength < 1024 * 1024, 'copied out of the 1 MiB buffer');
  const snug = new FrameBuilder(64);
  for (let i = 0; i < 3; i++) snug.addString('x'.repeat(15));
  assert.equal(snug.take().toString(), '15 xxxxxxxxxxxxxxx15 xxxxxxxxxxxxxxx15 xxxxxxxxxxxxxxx');
  assert.equal(snug.count, 3);
});

test('frames filled in place have the length prefix of their size, whatever its number of digits', () => {
  const sizes = [1, 9, 10, 999, 1000, 9999, 10_000, 123_456];
  const inPlace = new FrameBuilder(16);
  const strings = new FrameBuilder(16);
  for (const [i, size] of sizes.entries()) {
    const message = String.fromCharCode(97 + i).repeat(size);
    strings.addString(message);
    const start = inPlace.openFrame(size);
    inPlace.buffer.write(message, start, 'latin1');
    inPlace.closeFrame(start + size);
  }
  // A frame opened and never closed (a writer that declined) leaves nothing behind.
  const start = inPlace.openFrame(50);
  inPlace.buffer.write('declined', start, 'latin1');
  assert.equal(inPlace.count, sizes.length);
  assert.ok(inPlace.take().equals(strings.take()));
});
