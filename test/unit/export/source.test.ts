// The export source on a real embedded store: stable order, records as the contract shapes them, and a
// cursor that never skips a row, whether rows commit late or arrive while pages are being read.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { writeFindings } from '../../../collector/detect/findings-store.js';
import { AUDIT_PAGE_SQL } from '../../../collector/export/audit-source.js';
import { createExportSource, type ExportSource } from '../../../collector/export/source.js';
import type { ExportRecord } from '../../../collector/export/types.js';
import { trafficEvents } from '../../helpers/audit-traffic.js';
import { openTestStore, type TestStore } from '../../helpers/dashboard.js';
import { craftedFindings } from '../../helpers/findings.js';

const chTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let ts: TestStore;

/** Reads a stream to its end from `position`, page by page; returns the ids and the final position. */
async function drain(source: ExportSource, stream: 'audit' | 'findings', position: string | undefined, page = 500): Promise<{ records: ExportRecord[]; position: string | undefined }> {
  const records: ExportRecord[] = [];
  for (;;) {
    const got = await source.read(stream, position, page);
    if (got.length === 0) return { records, position };
    records.push(...got.map((p) => p.record));
    position = got.at(-1)?.position;
  }
}

/** An event inserted as if its insert had started `agoMs` ago and committed only now. */
async function insertLate(eventId: string, agoMs: number): Promise<void> {
  const [e] = trafficEvents({ count: 1, from: new Date(Date.now() - 60_000), to: new Date(), seed: 99 });
  const event = { ...e, event_id: eventId } as Record<string, unknown>;
  await ts.store.client.insert({
    table: 'audit_events',
    format: 'JSONEachRow',
    values: [{ ...event, ts: chTime(Date.parse(String(event.ts))), extra: '', ingested_at: chTime(Date.now() - agoMs) }],
  });
}

describe('export source', () => {
  before(async () => {
    ts = await openTestStore();
  });
  after(async () => {
    await ts?.close();
  });

  it('reads audit events once each, in (ingested_at, event_id) order, numbers as numbers', async () => {
    const events = trafficEvents({ count: 1200, from: new Date(Date.now() - 3_600_000), to: new Date(), seed: 1 });
    await ts.store.insertAuditEvents(events);
    const { records } = await drain(createExportSource(ts.store, { settleMs: 0 }), 'audit', undefined, 250);
    assert.equal(records.length, events.length);
    assert.equal(new Set(records.map((r) => r.id)).size, events.length);
    const first = records.find((r) => r.id === events[7]?.event_id);
    assert.ok(first?.stream === 'audit');
    const original = events[7] as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(original)) assert.deepEqual((first.event as unknown as Record<string, unknown>)[k], v, k);
    assert.equal(first.event.extra, '{}');
    assert.match(first.event.ingested_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const keys = records.map((r) => (r.stream === 'audit' ? `${r.event.ingested_at} ${r.id}` : ''));
    assert.deepEqual(keys, [...keys].sort());
  });

  it('skips, by the ingested_at index, the parts written before the cursor (a caught-up read does not scan the table)', async () => {
    await ts.store.insertAuditEvents(trafficEvents({ count: 300, from: new Date(Date.now() - 7_200_000), to: new Date(), seed: 2 }));
    await sleep(20);
    const [row] = await ts.store.query<{ t: string }>("SELECT toString(now64(3)) AS t");
    await ts.store.insertAuditEvents(trafficEvents({ count: 50, from: new Date(Date.now() - 60_000), to: new Date(), seed: 3 }));
    const plan = await ts.store.client.query({
      query: `EXPLAIN indexes = 1 ${AUDIT_PAGE_SQL}`,
      query_params: { t: row?.t, id: '', upto: '2100-01-01 00:00:00.000', limit: 1000 },
      format: 'TabSeparatedRaw',
    });
    const text = await plan.text();
    // The audit_events read: its skip index keeps only the parts of the last insert.
    const skip = /Name: idx_ingested_at[\s\S]*?Parts: (\d+)\/(\d+)/.exec(text);
    assert.ok(skip, `the page query does not use idx_ingested_at:\n${text}`);
    assert.ok(Number(skip[1]) < Number(skip[2]), `no part skipped: ${skip[0]}`);
  });

  it('holds back rows younger than the settle margin, and finds a row that committed late within it', async () => {
    const settled = createExportSource(ts.store, { settleMs: 2000 });
    const eager = createExportSource(ts.store, { settleMs: 0 });
    await sleep(2100);
    const base = await drain(settled, 'audit', undefined);
    const eagerBase = await drain(eager, 'audit', undefined);
    // Rows stored now are newer than the margin: not read yet.
    await ts.store.insertAuditEvents(trafficEvents({ count: 50, from: new Date(Date.now() - 60_000), to: new Date(), seed: 2 }));
    assert.equal((await settled.read('audit', base.position, 100)).length, 0);
    const eagerNow = await drain(eager, 'audit', eagerBase.position);
    assert.equal(eagerNow.records.length, 50, 'without a margin they are read at once, moving that cursor to now');
    // An insert that started 1.5 s ago commits only now: its ingested_at is behind the eager cursor.
    await insertLate('late-commit-1', 1500);
    const eagerAfter = await drain(eager, 'audit', eagerNow.position);
    assert.equal(eagerAfter.records.length, 0, 'a reader without a settle margin skips the late row (why the margin exists)');
    await sleep(2100);
    const after = await drain(settled, 'audit', base.position);
    assert.deepEqual(after.records.filter((r) => r.id === 'late-commit-1').length, 1, 'the settled reader finds it');
    assert.equal(after.records.length, 51);
  });

  it('never skips rows inserted while pages are read (concurrent writers, at least once)', async () => {
    const source = createExportSource(ts.store, { settleMs: 1500 });
    const start = await drain(createExportSource(ts.store, { settleMs: 0 }), 'audit', undefined);
    const inserted = new Set<string>();
    let writing = true;
    const writers = Array.from({ length: 3 }, async (_, w) => {
      for (let i = 0; writing; i++) {
        const batch = trafficEvents({ count: 40 + ((i * 7) % 60), from: new Date(Date.now() - 60_000), to: new Date(), seed: 1000 + w * 100 + i, emitterId: `writer-${w}` });
        await ts.store.insertAuditEvents(batch);
        for (const e of batch) inserted.add(e.event_id);
      }
    });
    const seen = new Map<string, number>();
    let position = start.position;
    const deadline = Date.now() + 4000;
    while (Date.now() < deadline) {
      const page = await source.read('audit', position, 97);
      for (const p of page) seen.set(p.record.id, (seen.get(p.record.id) ?? 0) + 1);
      position = page.at(-1)?.position ?? position;
      if (page.length === 0) await sleep(20);
    }
    writing = false;
    await Promise.all(writers);
    await sleep(1600);
    const rest = await drain(source, 'audit', position, 97);
    for (const r of rest.records) seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
    const missing = [...inserted].filter((id) => !seen.has(id));
    assert.ok(inserted.size > 500, `writers stored ${inserted.size} events`);
    assert.deepEqual(missing, [], 'no gap');
    assert.deepEqual([...seen.values()].filter((n) => n > 1), [], 'a single store holds each event once, so none is read twice');
  });

  it('reads findings by (version, finding_id) as "<finding_id>:<version>", and an updated finding again', async () => {
    const source = createExportSource(ts.store, { settleMs: 0 });
    const now = Date.now();
    const findings = craftedFindings(now);
    await writeFindings(ts.store, findings, new Date(now - 10_000));
    const first = await drain(source, 'findings', undefined, 2);
    assert.deepEqual(first.records.map((r) => r.id).sort(), findings.map((f) => `${f.finding_id}:${now - 10_000}`).sort());
    const exfil = first.records.find((r) => r.stream === 'findings' && r.finding.finding_id === 'f-globex-exfil');
    assert.ok(exfil?.stream === 'findings');
    assert.equal(exfil.finding.score, 97);
    assert.equal(exfil.finding.evidence.bytes_out, 2254857830);
    // A higher score is a new version: read again after the cursor, the other findings not.
    const updated = findings.map((f) => (f.finding_id === 'f-globex-exfil' ? { ...f, score: 99 } : f));
    await writeFindings(ts.store, updated, new Date(now - 5000));
    const second = await drain(source, 'findings', first.position);
    assert.deepEqual(second.records.map((r) => r.id), [`f-globex-exfil:${now - 5000}`]);
    const lag = await source.lag('findings', first.position);
    assert.equal(lag.records, 1);
    assert.equal(lag.oldestMs, now - 5000);
  });
});
