// Restarting rsyslog in the middle of a stream loses nothing: a few thousand events go through the
// exporter's send() in batches, the way the runner sends them (a retryable batch is sent again after a
// pause), while rsyslog is restarted twice under the stream. Every event id must be in rsyslog's file at
// least once; duplicates are allowed (at least once) and reported.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../common/log.js';
import { syslogExporter } from '../../collector/export/syslog/index.js';
import type { Exporter, ExportRecord } from '../../collector/export/types.js';
import { startRsyslog, writeSyslogPki, type Rsyslog, type SyslogPki } from '../helpers/rsyslog.js';
import { parseSd } from '../unit/export/syslog/decoders.js';
import { trafficRecords } from '../unit/export/syslog/records.js';

const log = createLogger({ name: 'test', level: 'silent' });
const EVENTS = 3000;
const BATCH = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends every batch until it succeeds, as the runner would (it has the backoff; a short pause here). */
async function stream(exporter: Exporter, records: readonly ExportRecord[], onBatch: (i: number) => void): Promise<number> {
  let retries = 0;
  const signal = new AbortController().signal;
  for (let i = 0; i < records.length; i += BATCH) {
    const batch = records.slice(i, i + BATCH);
    for (;;) {
      const outcome = await exporter.send(batch, signal);
      if (outcome.status === 'success') break;
      assert.equal(outcome.status, 'retryable', JSON.stringify(outcome));
      assert.equal((outcome as { pending?: unknown }).pending, undefined, 'the whole batch is pending');
      retries++;
      await sleep(100);
    }
    onBatch(i / BATCH);
  }
  return retries;
}

for (const transport of ['tcp', 'tls'] as const) {
  describe(`rsyslog restarts under a ${transport} stream`, () => {
    let dir: string;
    let pki: SyslogPki;
    let rsyslog: Rsyslog;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tw-syslog-restart-'));
      pki = await writeSyslogPki(dir);
      rsyslog = await startRsyslog(transport === 'tls' ? { tls: { caFile: pki.caFile, certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, authMode: 'anon' } } : {});
    });
    after(async () => {
      await rsyslog?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    test(`every one of ${EVENTS} events arrives although rsyslog restarted twice mid-stream`, async (t) => {
      const records = trafficRecords(EVENTS, 11);
      const exporter = syslogExporter.create({
        name: 'restart', type: 'syslog', enabled: true, streams: ['audit'], batch_size: BATCH,
        host: '127.0.0.1', port: rsyslog.port, transport, format: 'rfc5424', tls: { ca: pki.caFile, server_name: 'localhost' },
      } as never, { configFile: join(dir, 'collector.yaml'), log });
      await exporter.start?.();
      // The restarts run concurrently with the stream, so they hit batches in flight, not gaps between them.
      const restarts: Promise<void>[] = [];
      const retries = await stream(exporter, records, (n) => {
        if (n === 8 || n === 20) restarts.push(rsyslog.restart());
      });
      await Promise.all(restarts);
      // A batch that succeeded before the last restart may sit in the replay buffer: one more send flushes it.
      const tail = trafficRecords(1, 99);
      await stream(exporter, tail, () => undefined);
      await exporter.close();

      const want = new Set(records.map((r) => r.id));
      const deadline = Date.now() + 20_000;
      let seen = new Map<string, number>();
      while (Date.now() < deadline) {
        seen = new Map();
        for (const m of await rsyslog.messages()) {
          const id = parseSd(m.sd)[0]?.params.find(([k]) => k === 'event_id')?.[1] ?? '';
          seen.set(id, (seen.get(id) ?? 0) + 1);
        }
        if ([...want].every((id) => seen.has(id))) break;
        await sleep(100);
      }
      const missing = [...want].filter((id) => !seen.has(id));
      const duplicates = [...want].reduce((n, id) => n + Math.max(0, (seen.get(id) ?? 0) - 1), 0);
      t.diagnostic(`${transport}: ${EVENTS} events, ${retries} retried batches, ${duplicates} duplicates, ${missing.length} missing`);
      assert.deepEqual(missing, [], `${missing.length} events never arrived`);
      assert.ok(retries > 0, 'the restarts were felt by the exporter (else this test proves nothing)');
    });
  });
}
