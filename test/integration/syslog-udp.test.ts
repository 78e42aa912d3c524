// Syslog over UDP into a real rsyslog: one message per datagram, fields intact, and a message longer
// than udp_max_bytes cut at the limit on a UTF-8 character boundary. A smoke test: UDP may lose
// datagrams, which on loopback at this volume it does not.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createLogger } from '../../common/log.js';
import { resolveSyslogConfig } from '../../collector/export/syslog/config.js';
import { syslogExporter } from '../../collector/export/syslog/index.js';
import { createFormatter } from '../../collector/export/syslog/message.js';
import type { ExportRecord } from '../../collector/export/types.js';
import { startRsyslog, type Rsyslog } from '../helpers/rsyslog.js';
import { parseSd } from '../unit/export/syslog/decoders.js';
import { expectedFields, fieldsFromSd } from '../unit/export/syslog/mappings.js';
import { findingRecords, trafficRecords } from '../unit/export/syslog/records.js';

const log = createLogger({ name: 'test', level: 'silent' });
let rsyslog: Rsyslog;
before(async () => {
  rsyslog = await startRsyslog({ udp: true });
});
after(() => rsyslog?.stop());

test('delivers events over UDP and cuts an oversized message at udp_max_bytes', async () => {
  const last = findingRecords().at(-1) as ExportRecord & { stream: 'findings' };
  const nasty: ExportRecord = { ...last, finding: { ...last.finding, explanation: last.finding.explanation.repeat(20) } };
  const records = [...trafficRecords(50), nasty];
  const config = {
    name: 'udp', type: 'syslog', enabled: true, streams: ['audit', 'findings'], batch_size: 100,
    host: '127.0.0.1', port: rsyslog.udpPort, transport: 'udp', format: 'rfc5424', udp_max_bytes: 2048,
  };
  const full = Buffer.from(createFormatter(resolveSyslogConfig(config))(nasty), 'utf8');
  assert.ok(full.length > 2048, 'the finding makes a message longer than the limit');
  const exporter = syslogExporter.create(config as never, { configFile: join(rsyslog.dir, 'collector.yaml'), log });
  await exporter.start?.();
  assert.deepEqual(await exporter.send(records, new AbortController().signal), { status: 'success' });
  await exporter.close();

  const got = await rsyslog.waitForMessages(records.length, 10_000);
  assert.ok(got.every((m) => m.input === 'imudp'));
  const byId = new Map(got.slice(0, 50).map((m) => [fieldsFromSd(parseSd(m.sd), 'tunnelwatch@32473').event_id, m]));
  for (const r of records.slice(0, 50)) {
    const m = byId.get(r.id);
    assert.ok(m, `${r.id} arrived`);
    assert.deepEqual(fieldsFromSd(parseSd(m.sd), 'tunnelwatch@32473'), expectedFields(r));
  }
  const cut = got.find((m) => m.msgId === 'finding');
  assert.ok(cut, 'the long finding arrived, cut');
  const rawBytes = Buffer.from(cut.raw, 'utf8');
  assert.ok(rawBytes.length <= 2048 && rawBytes.length >= 2040, `cut to ${rawBytes.length} bytes`);
  // Cut so that it still parses (cutSyslogMessage): the value it fell in closed with "], the rest a
  // prefix of the full message; rsyslog read its structured data as such.
  assert.ok(cut.raw.endsWith('"]'), `the cut value is closed: ${cut.raw.slice(-40)}`);
  const kept = rawBytes.subarray(0, rawBytes.length - 2);
  assert.ok(full.subarray(0, kept.length).equals(kept), 'before the closing, a prefix of the full message');
  assert.ok(parseSd(cut.sd).length > 0, 'rsyslog parsed the structured data of the cut message');
  assert.ok(!cut.raw.includes('\uFFFD'), 'no character split');
});
