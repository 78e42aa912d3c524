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

  it('is empty for no lines', () => {
    assert.equal(ndjsonBody([]).length, 0);
  });
});
