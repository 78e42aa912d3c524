// The streamed _bulk body (connection.ts): the NDJSON lines cut into buffers of about 64 KB, byte for byte
// what one joined string would be, whatever the line lengths and characters.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ndjsonChunks } from '../../../../collector/export/elasticsearch/connection.js';

const joined = (lines: readonly string[]): Buffer => Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');

describe('streamed bulk body', () => {
  it('is the lines joined by newlines, in pieces of about 64 KB', () => {
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ create: { _id: `id-${i}` } }) + (i % 2 ? '' : 'x'.repeat(i % 500)));
    const chunks = [...ndjsonChunks(lines)];
    assert.ok(chunks.length > 3, `${chunks.length} pieces`);
    for (const c of chunks.slice(0, -1)) assert.ok(c.length <= 64 * 1024 && c.length > 60 * 1024, `a piece of ${c.length} bytes`);
    assert.ok(Buffer.concat(chunks).equals(joined(lines)));
  });

  it('keeps multi-byte characters whole and takes a line longer than a piece', () => {
    const lines = ['{"a":"Grüße 日本 🙂"}', 'é'.repeat(40_000), '🙂'.repeat(30_000), '', '{"z":1}'];
    const chunks = [...ndjsonChunks(lines)];
    assert.ok(Buffer.concat(chunks).equals(joined(lines)));
    // Each piece ends on a line boundary, so every piece is valid UTF-8 on its own.
    for (const c of chunks) assert.equal(c[c.length - 1], 0x0a);
  });

  it('is empty for no lines', () => {
    assert.deepEqual([...ndjsonChunks([])], []);
  });
});
