// The _bulk body as one buffer (connection.ts): byte for byte the NDJSON lines joined by newlines, with a
// final newline, whatever the characters; its length is what the transport sends as Content-Length.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ndjsonBody } from '../../../../collector/export/elasticsearch/connection.js';

const joined = (lines: readonly string[]): Buffer => Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');

describe('bulk request body', () => {
  it('is the lines joined by newlines, each line ended', () => {
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ create: { _id: `id-${i}` } }) + (i % 2 ? '' : 'x'.repeat(i % 500)));
    const body = ndjsonBody(lines);
    assert.ok(body.equals(joined(lines)));
    assert.equal(body[body.length - 1], 0x0a, 'Elasticsearch refuses a bulk body without a final newline');
  });

  it('encodes multi-byte characters and lone surrogates as UTF-8 does, at their exact length', () => {
    const lines = ['{"a":"Grüße 日本 🙂"}', 'é'.repeat(40_000), '🙂'.repeat(30_000), '', JSON.stringify('\ud800'), '{"z":1}'];
    const body = ndjsonBody(lines);
    assert.ok(body.equals(joined(lines)));
    assert.equal(body.length, lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0));
  });

  it('takes a line that is already UTF-8 bytes as it is, between text lines', () => {
    const text = ['{"create":{"_id":"a"}}', '{"create":{"_id":"b"}}'];
    const docs = ['{"m":"Grüße 日本 🙂"}', '{"n":1}'];
    // Views into one larger buffer, as the row path's documents are views into a slab.
    const slab = Buffer.from(`xx${docs.join('')}yy`, 'utf8');
    const first = slab.subarray(2, 2 + Buffer.byteLength(docs[0] as string));
    const second = slab.subarray(first.byteOffset - slab.byteOffset + first.length, slab.length - 2);
    const body = ndjsonBody([text[0] as string, first, text[1] as string, second]);
    assert.ok(body.equals(joined([text[0] as string, docs[0] as string, text[1] as string, docs[1] as string])));
  });

  it('is empty for no lines', () => {
    assert.equal(ndjsonBody([]).length, 0);
  });
});
