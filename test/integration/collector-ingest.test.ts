// Audit NDJSON and refusals against a spawned `tunnelwatch collector`: idempotent re-sends, malformed
// batches stored not at all, wrong token, overload with Retry-After, body limit.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, test } from 'node:test';
import { queryStore, startCollectorProcess, type CollectorProcess } from '../helpers/collector-process.js';
import { auditEvents, ndjson } from '../helpers/collector-fixtures.js';

const started: CollectorProcess[] = [];
after(async () => {
  await Promise.all(started.map((c) => c.stop()));
});

async function collector(options: Parameters<typeof startCollectorProcess>[0] = {}): Promise<CollectorProcess> {
  const c = await startCollectorProcess(options);
  started.push(c);
  return c;
}

function post(c: CollectorProcess, path: string, body: string | Buffer, headers: Record<string, string>, token = c.token): Promise<Response> {
  return fetch(`${c.url}${path}`, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, ...headers } });
}

const NDJSON = { 'content-type': 'application/x-ndjson' };
const NDJSON_GZIP = { ...NDJSON, 'content-encoding': 'gzip' };

test('audit events are stored exactly once however often they are sent; malformed input is refused and stores nothing', async () => {
  const c = await collector();
  const events = auditEvents(3000);

  // Three batches, then the middle one and an overlapping one again (as a shipper retrying after a timeout).
  const answers = [];
  for (const batch of [events.slice(0, 1000), events.slice(1000, 2000), events.slice(2000), events.slice(1000, 2000), events.slice(1500, 2500)]) {
    const r = await post(c, '/v1/audit', gzipSync(ndjson(batch)), NDJSON_GZIP);
    assert.equal(r.status, 200, await r.clone().text());
    answers.push(await r.json());
  }
  assert.deepEqual(answers, [
    { accepted: 1000, duplicates: 0 }, { accepted: 1000, duplicates: 0 }, { accepted: 1000, duplicates: 0 },
    { accepted: 1000, duplicates: 1000 }, { accepted: 1000, duplicates: 1000 },
  ]);

  // Malformed NDJSON: bad JSON, a missing field, a wrong enum. Each names its line; none is stored.
  const fresh = auditEvents(4, 'conn-malformed') as unknown as Record<string, unknown>[];
  const good = fresh.map((e) => JSON.stringify(e));
  const { path: _dropped, ...missingPath } = fresh[2] as Record<string, unknown>;
  const cases: [string, number, RegExp][] = [
    [`${good[0]}\n${good[1]}\n{"schema":"tunnelwatch.audit/1",\n`, 3, /^not JSON/],
    [`${good[0]}\n${good[1]}\n${JSON.stringify(missingPath)}\n${good[3]}\n`, 3, /missing field "path"/],
    [`${good[0]}\n${JSON.stringify({ ...fresh[1], decision: 'maybe' })}\n`, 2, /field "decision": expected one of "allow", "deny"/],
  ];
  for (const [body, line, reason] of cases) {
    const r = await post(c, '/v1/audit', body, NDJSON);
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('x-tunnel-error'), 'TW_ERR_INGEST_MALFORMED');
    const { error } = (await r.json()) as { error: { code: string; line: number; reason: string } };
    assert.equal(error.code, 'TW_ERR_INGEST_MALFORMED');
    assert.equal(error.line, line);
    assert.match(error.reason, reason);
  }

  // Malformed OTLP: JSON that is no request, bytes that are no protobuf. A valid span rides along in the JSON one.
  const span = { traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', spanId: 'bbbbbbbbbbbbbbbb', name: 'must-not-be-stored' };
  const otlpJson = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span, { ...span, spanId: 'not-hex' }] }] }] });
  const rj = await post(c, '/v1/traces', otlpJson, { 'content-type': 'application/json' });
  assert.equal(rj.status, 400);
  const status = (await rj.json()) as { code: number; message: string };
  assert.equal(status.code, 3);
  assert.match(status.message, /^TW_ERR_INGEST_MALFORMED: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]\.spanId: expected 16 hex digits/);
  const rp = await post(c, '/v1/traces', Buffer.from('definitely not protobuf'), { 'content-type': 'application/x-protobuf' });
  assert.equal(rp.status, 400);
  assert.equal(rp.headers.get('content-type'), 'application/x-protobuf');
  const rl = await post(c, '/v1/logs', '{"resourceLogs": "nope"}', { 'content-type': 'application/json' });
  assert.equal(rl.status, 400);
  assert.match(((await rl.json()) as { message: string }).message, /resourceLogs: expected an array/);

  await c.stop();
  const [counts, malformed, spans] = (await queryStore<Record<string, number>>(c.dataDir, [
    { sql: 'SELECT toUInt32(count()) AS n, toUInt32(count(DISTINCT event_id)) AS d FROM audit_events' },
    { sql: 'SELECT toUInt32(count()) AS n FROM audit_events WHERE event_id IN {ids:Array(String)}', params: { ids: fresh.map((e) => e.event_id) } },
    { sql: 'SELECT toUInt32(count()) AS n FROM otel_traces' },
  ])).map((rows) => rows[0]);
  assert.deepEqual(counts, { n: 3000, d: 3000 });
  assert.deepEqual(malformed, { n: 0 });
  assert.deepEqual(spans, { n: 0 });
});

test('ingest with a wrong or missing token gets 401 on every route', async () => {
  const c = await collector();
  const body = ndjson(auditEvents(1));
  assert.equal((await post(c, '/v1/audit', body, NDJSON, 'tw_wrong')).status, 401);
  const none = await fetch(`${c.url}/v1/audit`, { method: 'POST', body, headers: NDJSON });
  assert.equal(none.status, 401);
  assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'TW_ERR_INGEST_UNAUTHENTICATED');
  assert.equal((await post(c, '/v1/traces', '{}', { 'content-type': 'application/json' }, 'tw_wrong')).status, 401);
  assert.equal((await post(c, '/v1/logs', '{}', { 'content-type': 'application/json' }, 'tw_wrong')).status, 401);
  assert.equal((await fetch(`${c.url}/healthz`)).status, 200);
  assert.doesNotMatch(c.process.stderr() + c.process.stdout(), /tw_wrong|tw_test-ingest-token/, 'tokens never reach the log');
});

test('an overloaded collector answers 429 with Retry-After, and every batch lands once it is retried', async () => {
  const c = await collector({ queue: { max_rows: 2500, retry_after_s: 1 } });
  // Room for one batch at a time: the ones arriving while another waits for its commit are refused.
  const batches = Array.from({ length: 12 }, (_, i) => auditEvents(2000, `conn-${i}`));
  const statuses = await Promise.all(batches.map(async (b) => {
    const r = await post(c, '/v1/audit', gzipSync(ndjson(b)), NDJSON_GZIP);
    return { status: r.status, retryAfter: r.headers.get('retry-after'), code: r.status === 200 ? '' : ((await r.json()) as { error: { code: string } }).error.code };
  }));
  const refused = statuses.filter((s) => s.status === 429);
  assert.ok(refused.length > 0, `expected some 429s, got ${JSON.stringify(statuses.map((s) => s.status))}`);
  for (const s of refused) {
    assert.equal(s.retryAfter, '1');
    assert.equal(s.code, 'TW_ERR_INGEST_OVERLOADED');
  }
  assert.ok(statuses.every((s) => s.status === 200 || s.status === 429));
  // After Retry-After, send the refused ones again, one at a time, as each shipper would.
  await new Promise((r) => setTimeout(r, 1000));
  for (let i = 0; i < batches.length; i++) {
    if (statuses[i]?.status === 200) continue;
    const r = await post(c, '/v1/audit', gzipSync(ndjson(batches[i] ?? [])), NDJSON_GZIP);
    assert.equal(r.status, 200);
  }
  const health = (await (await fetch(`${c.url}/healthz`)).json()) as { ingest: { rejected_requests_total: { overloaded: number } } };
  assert.equal(health.ingest.rejected_requests_total.overloaded, refused.length);
  await c.stop();
  const [rows] = await queryStore<Record<string, number>>(c.dataDir, [{ sql: 'SELECT toUInt32(count()) AS n, toUInt32(count(DISTINCT event_id)) AS d FROM audit_events' }]);
  assert.deepEqual(rows?.[0], { n: 24_000, d: 24_000 });
});

test('a request larger than the body limit gets 413', async () => {
  const c = await collector({ collector: { max_body_bytes: 65_536 } });
  const body = ndjson(auditEvents(200));
  assert.ok(body.length > 65_536);
  const r = await post(c, '/v1/audit', body, NDJSON);
  assert.equal(r.status, 413);
  assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'TW_ERR_INGEST_TOO_LARGE');
  const zipped = gzipSync(body);
  assert.ok(zipped.length < 65_536);
  assert.equal((await post(c, '/v1/audit', zipped, NDJSON_GZIP)).status, 413, 'the limit holds after gunzip too');
  assert.equal((await post(c, '/v1/traces', Buffer.alloc(70_000), { 'content-type': 'application/x-protobuf' })).status, 413);
  assert.equal((await post(c, '/v1/audit', ndjson(auditEvents(20)), NDJSON)).status, 200);
});
