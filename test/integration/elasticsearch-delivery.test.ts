// The Elasticsearch exporter against the wire stand-in (test/helpers/es-standin.ts; not a real
// Elasticsearch, which cannot be installed here): every record ends up indexed exactly once by _id through
// per-item 429s and 400s, dropped connections, timeouts and resends of the same batch.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { createLogger } from '../../common/log.js';
import { auditToEcs, findingToEcs } from '../../collector/export/elasticsearch/ecs.js';
import { elasticsearchExporter } from '../../collector/export/elasticsearch/index.js';
import { setUpElasticsearch } from '../../collector/export/elasticsearch/setup.js';
import type { DeadLetter, Exporter, ExportOutcome, ExportRecord } from '../../collector/export/types.js';
import { startEsStandin, type EsStandin } from '../helpers/es-standin.js';
import { auditRecords, esExporterConfig, findingRecords } from '../helpers/es-standin-records.js';

const AUDIT = 'logs-tunnelwatch.audit-default';
const FINDINGS = 'logs-tunnelwatch.finding-default';
const context = { configFile: '/nonexistent/collector.yaml', log: createLogger({ name: 'test', level: 'silent' }) };

/** Sends as the runner does: what is pending again, until nothing is (without its backoff sleeps). */
async function deliver(exporter: Exporter, records: readonly ExportRecord[], maxSends = 30) {
  const outcomes: ExportOutcome[] = [];
  const dead: DeadLetter[] = [];
  let pending = records;
  while (pending.length > 0 && outcomes.length < maxSends) {
    const o = await exporter.send(pending, new AbortController().signal);
    outcomes.push(o);
    assert.notEqual(o.status, 'failure', o.status === 'failure' ? o.reason : '');
    if (o.status !== 'failure') dead.push(...(o.dead ?? []));
    if (o.status === 'retryable') {
      const ids = new Set(o.pending ?? pending.map((r) => r.id));
      pending = pending.filter((r) => ids.has(r.id));
    } else {
      pending = [];
    }
  }
  return { outcomes, dead, pending };
}

describe('Elasticsearch exporter delivery (wire stand-in)', () => {
  let es: EsStandin;
  let exporter: Exporter;
  before(async () => {
    es = await startEsStandin();
    const admin = new Client({ node: es.url, maxRetries: 0 });
    await setUpElasticsearch(admin, { namespace: 'default', streams: ['audit', 'findings'] });
    await admin.close();
    // Small flush_bytes: one send becomes several bulk requests, two at a time.
    exporter = elasticsearchExporter.create(esExporterConfig({ nodes: [es.url], flush_bytes: 150_000, concurrency: 2, request_timeout_ms: 1000 }), context);
    await exporter.start?.();
  });
  after(async () => {
    await exporter.close();
    await es.close();
  });

  it('indexes every record exactly once by _id through 429s, 400s and dropped connections, 400s as dead letters', async () => {
    const audit = auditRecords(1500, 11);
    const findings = findingRecords();
    const records: ExportRecord[] = [...audit, ...findings];
    const poisoned = [audit[10], audit[700], findings[2]].map((r) => (r as ExportRecord).id);
    es.failIds(poisoned, 400);
    es.failNextItems(40, 429);
    es.dropNextConnections(1, 'after');
    es.dropNextConnections(1, 'before');

    const { outcomes, dead, pending } = await deliver(exporter, records);
    assert.deepEqual(pending, []);
    // Every _bulk asked for the items' status and error only (the reasons below came through that filter).
    const bulks = es.requestLog.filter((q) => q.path.includes('_bulk'));
    assert.ok(bulks.length > 0 && bulks.every((q) => new URL(q.path, 'http://x').searchParams.get('filter_path') === 'errors,items.*.error,items.*.status'));
    assert.ok(outcomes.length >= 2 && outcomes[0]?.status === 'retryable', 'the first send could not deliver everything');
    assert.deepEqual(dead.map((d) => d.id).sort(), [...poisoned].sort());
    for (const d of dead) assert.match(d.reason, /^Elasticsearch 400 document_parsing_exception: .*failed to parse field/);

    const counts = es.idCounts();
    for (const r of records) assert.equal(counts.get(r.id) ?? 0, poisoned.includes(r.id) ? 0 : 1, `record ${r.id}`);
    assert.equal(es.documents(AUDIT).size, audit.length - 2);
    assert.equal(es.documents(FINDINGS).size, findings.length - 1);
    assert.ok((es.stats.itemStatuses[429] ?? 0) >= 40);
    assert.ok((es.stats.itemStatuses[409] ?? 0) > 0, 'records indexed before the dropped answer came back as 409 and counted as delivered');
    assert.equal(es.stats.droppedConnections, 2);

    const sample = audit[321] as Extract<ExportRecord, { stream: 'audit' }>;
    assert.deepEqual(es.documents(AUDIT).get(sample.id), auditToEcs(sample.event, 'default'));
    const finding = findings[0] as Extract<ExportRecord, { stream: 'findings' }>;
    assert.deepEqual(es.documents(FINDINGS).get(finding.id), findingToEcs(finding.finding, finding.id, 'default'));
  });

  it('answers a resend of a delivered batch with 409s and counts it delivered', async () => {
    const records = auditRecords(300, 12);
    assert.deepEqual(await exporter.send(records, new AbortController().signal), { status: 'success' });
    const conflictsBefore = es.stats.itemStatuses[409] ?? 0;
    assert.deepEqual(await exporter.send(records, new AbortController().signal), { status: 'success' });
    assert.equal((es.stats.itemStatuses[409] ?? 0) - conflictsBefore, 300);
    for (const r of records) assert.equal(es.idCounts().get(r.id), 1);
  });

  it('retries the whole batch when the answer breaks off mid-response, a 503 comes back, or it times out', async () => {
    es.clearFaults();
    for (const [i, induce] of [
      () => es.dropNextConnections(1, 'mid-response'),
      () => es.failNextRequests(1, 503, 'unavailable_shards_exception'),
      () => es.delayBulk(1500),
    ].entries()) {
      const records = auditRecords(50, 100 + i);
      induce();
      const first = await exporter.send(records, new AbortController().signal);
      es.delayBulk(0);
      assert.equal(first.status, 'retryable', `case ${i}`);
      assert.equal((first as { pending?: string[] }).pending?.length, 50, `case ${i}: no item answer, so all pending`);
      assert.match((first as { reason: string }).reason, /^TW_ERR_ES_UNREACHABLE/);
      const { pending } = await deliver(exporter, records);
      assert.deepEqual(pending, []);
      for (const r of records) assert.equal(es.idCounts().get(r.id), 1, `case ${i}: ${r.id}`);
    }
  });

  it('lets a send in flight finish on its client when start() builds a new one', async () => {
    // With two sends in flight, the runner restarts the exporter after one of them failed for good while
    // the other may still be answered: that one must not be cut off when start() closes its client
    // (the client's close lets requests already sent finish; an abort or destroy there would fail this).
    es.delayBulk(400);
    const records = auditRecords(20, 250);
    const inFlight = exporter.send(records, new AbortController().signal);
    await new Promise((r) => setTimeout(r, 100));
    await exporter.start?.();
    const o = await inFlight;
    es.delayBulk(0);
    assert.deepEqual(o, { status: 'success' });
    for (const r of records) assert.equal(es.idCounts().get(r.id), 1, r.id);
    // The new client works too.
    const next = auditRecords(5, 251);
    assert.deepEqual(await exporter.send(next, new AbortController().signal), { status: 'success' });
  });

  it('leaves an aborted send pending, with no error of the receiver as reason', async () => {
    es.delayBulk(300);
    const records = auditRecords(20, 200);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('the collector is stopping')), 50).unref();
    const o = await exporter.send(records, ac.signal);
    es.delayBulk(0);
    assert.equal(o.status, 'retryable');
    assert.equal((o as { pending?: string[] }).pending?.length, 20);
    assert.match((o as { reason: string }).reason, /send aborted/);
  });

  it('fails on a missing ingest pipeline without dead-lettering, and delivers once it exists, gzip-compressed', async () => {
    const config = esExporterConfig({ nodes: [es.url], pipeline: 'tw-enrich', compression: true });
    const piped = elasticsearchExporter.create(config, context);
    try {
      const records = auditRecords(10, 300);
      const missing = await piped.send(records, new AbortController().signal);
      assert.equal(missing.status, 'failure');
      assert.match((missing as { reason: string }).reason, /^TW_ERR_ES_NOT_SET_UP: .*pipeline with id \[tw-enrich\] does not exist/);
      const admin = new Client({ node: es.url, maxRetries: 0 });
      await admin.ingest.putPipeline({ id: 'tw-enrich', processors: [] });
      await admin.close();
      assert.deepEqual(await piped.send(records, new AbortController().signal), { status: 'success' });
      assert.match(es.requestLog.at(-1)?.path ?? '', /pipeline=tw-enrich/);
      assert.equal(es.requestLog.at(-1)?.encoding, 'gzip');
      for (const r of records) assert.equal(es.idCounts().get(r.id), 1);
    } finally {
      await piped.close();
    }
  });

  it('indexes a later version of a finding as a document of its own', async () => {
    const v1 = findingRecords(Date.parse('2026-03-03T10:00:00Z'), 1000)[1] as ExportRecord;
    const v2 = findingRecords(Date.parse('2026-03-03T10:05:00Z'), 2000)[1] as ExportRecord;
    assert.deepEqual(await exporter.send([v1, v2], new AbortController().signal), { status: 'success' });
    const docs = es.documents(FINDINGS);
    assert.ok(docs.has(v1.id) && docs.has(v2.id) && v1.id !== v2.id);
  });
});

describe('Elasticsearch exporter before siem setup', () => {
  it('fails start() with TW_ERR_ES_NOT_SET_UP when the index templates are missing', async () => {
    const es = await startEsStandin();
    const exporter = elasticsearchExporter.create(esExporterConfig({ nodes: [es.url] }), context);
    try {
      await assert.rejects(exporter.start?.() ?? Promise.resolve(), (e: Error & { code?: string }) =>
        e.code === 'TW_ERR_ES_NOT_SET_UP' && /logs-tunnelwatch\.audit, logs-tunnelwatch\.finding/.test(e.message));
    } finally {
      await exporter.close();
      await es.close();
    }
  });
});
