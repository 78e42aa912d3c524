import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTraceparent, parseTraceparent } from '../../../common/trace-context.js';
import { idOnlyTracer } from '../../../common/tracing/call-span.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

test('continues a valid version-00 traceparent, keeping the sampled flag', () => {
  assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-01`), { traceId: TRACE, parentSpanId: SPAN, sampled: true });
  assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-00`), { traceId: TRACE, parentSpanId: SPAN, sampled: false });
});

test('accepts a future version with extra fields, as W3C Trace Context asks', () => {
  assert.equal(parseTraceparent(`01-${TRACE}-${SPAN}-01-extra`)?.traceId, TRACE);
});

for (const [why, value] of [
  ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
  ['all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
  ['version ff', `ff-${TRACE}-${SPAN}-01`],
  ['extra fields on version 00', `00-${TRACE}-${SPAN}-01-extra`],
  ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
  ['a short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
  ['garbage', 'hello'],
] as const) {
  test(`ignores an invalid traceparent (${why}), so a new trace starts`, () => {
    assert.equal(parseTraceparent(value), undefined);
  });
}

test('ignores a repeated traceparent header', () => {
  assert.equal(parseTraceparent([`00-${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN}-01`]), undefined);
});

test('formats what it parses', () => {
  assert.equal(formatTraceparent(TRACE, SPAN, true), `00-${TRACE}-${SPAN}-01`);
});

test('with tracing off, spans still carry ids: the parent trace, or a new one', () => {
  const child = idOnlyTracer.start({ name: 'GET', kind: 'server', parent: { traceId: TRACE, parentSpanId: SPAN, sampled: true }, startTimeMs: Date.now() });
  assert.equal(child.traceId, TRACE);
  assert.match(child.spanId, /^[0-9a-f]{16}$/);
  assert.notEqual(child.spanId, SPAN);
  const root = idOnlyTracer.start({ name: 'GET', kind: 'server', startTimeMs: Date.now() });
  assert.match(root.traceId, /^[0-9a-f]{32}$/);
  assert.notEqual(root.traceId, TRACE);
});
