import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutSyslogMessage, FrameBuilder, octetCountedFrames, truncateUtf8 } from '../../../../collector/export/syslog/framing.js';

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

// RFC 5424 section 6: HEADER SP STRUCTURED-DATA [SP MSG]; an SD-PARAM value escapes ", \ and ] with \.
const RFC5424 = /^<\d{1,3}>1 \S+ \S+ \S+ \S+ \S+ (-|(\[[^ =\]"]+( [^ =\]"]+="([^"\\\]]|\\[\s\S])*")*\])+)( [\s\S]*)?$/;

test('a message cut for UDP still parses: the structured data is closed, no escape is cut in half', () => {
  const sd = '[tunnelwatch@32473 event_id="01a2" path="/a\\]b\\"c\\\\d" user_agent="caf\u00e9 \u65e5\u672c \\\\\\"x\\]"][second@1 k="v"]';
  const message = Buffer.from(`<134>1 2026-11-29T12:00:00.000Z relay-1 tunnelwatch - audit ${sd} tail`, 'utf8');
  assert.match(message.toString(), RFC5424, 'the uncut message is valid');
  const header = message.indexOf('[');
  for (let n = header + 3; n < message.length; n++) {
    const cut = cutSyslogMessage(message, n);
    const text = cut.toString('utf8');
    assert.ok(cut.length <= n, `at most ${n} bytes, got ${cut.length}`);
    assert.ok(!text.includes('\uFFFD'), `no split character at ${n}`);
    assert.match(text, RFC5424, `cut at ${n}: ${text}`);
  }
  assert.equal(cutSyslogMessage(message, message.length), message, 'a message that fits is untouched');
});

test('a CEF or LEEF body cut for UDP never ends in half an escape', () => {
  const message = Buffer.from('<134>1 2026-11-29T12:00:00.000Z relay-1 tunnelwatch - audit - CEF:0|Tunnelwatch|Relay|1|allow|call|3|request=/a\\=b\\\\c\\nd suser=x\\\\', 'utf8');
  for (let n = 70; n < message.length; n++) {
    const text = cutSyslogMessage(message, n).toString('utf8');
    const run = /\\*$/.exec(text)?.[0].length ?? 0;
    assert.equal(run % 2, 0, `cut at ${n} ends in a lone backslash: ${text}`);
  }
});
