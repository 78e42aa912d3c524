// The syslog exporter against a real rsyslog, over TCP and over mutual TLS: events and findings whose
// fields hold every escaping case (| = \ ] " ^, newlines, non-ASCII) arrive byte for byte, rsyslog's RFC
// 5424 parser reads our header as we meant it, and the body read back through the documented mappings
// gives every field of every record, in all three formats.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../common/log.js';
import { createFormatter } from '../../collector/export/syslog/message.js';
import { resolveSyslogConfig } from '../../collector/export/syslog/config.js';
import { syslogExporter } from '../../collector/export/syslog/index.js';
import type { ExportRecord } from '../../collector/export/types.js';
import { startRsyslog, writeSyslogPki, type ReceivedMessage, type Rsyslog, type SyslogPki } from '../helpers/rsyslog.js';
import { parse5424, parseCef, parseLeef, parseSd } from '../unit/export/syslog/decoders.js';
import { expectedFields, fieldsFromCef, fieldsFromLeef, fieldsFromSd, type Fields } from '../unit/export/syslog/mappings.js';
import { findingRecords, nastyAuditEvents, nastyAuditRecords, storedAuditRecords, trafficRecords } from '../unit/export/syslog/records.js';
import { trafficEvents } from '../helpers/audit-traffic.js';
import { openTestStore } from '../helpers/dashboard.js';

const log = createLogger({ name: 'test', level: 'silent' });
const FORMATS = ['rfc5424', 'cef', 'leef'] as const;
type Format = (typeof FORMATS)[number];
// Audit records built in memory, and the same kind read back from a real store: those carry their stored
// rows, which RFC 5424 over tcp/tls writes straight to bytes (rfc5424-rows.ts) instead of the string path.
let records: ExportRecord[] = [...nastyAuditRecords(), ...findingRecords(), ...trafficRecords(300)];

function decode(format: Format, m: ReceivedMessage, stream: ExportRecord['stream']): Fields {
  if (format === 'rfc5424') return fieldsFromSd(parseSd(m.sd), 'tunnelwatch@32473');
  return format === 'cef' ? fieldsFromCef(stream, parseCef(m.msg)) : fieldsFromLeef(stream, parseLeef(m.msg));
}

for (const transport of ['tcp', 'tls'] as const) {
  describe(`syslog over ${transport} into rsyslog`, () => {
    let dir: string;
    let pki: SyslogPki;
    let rsyslog: Rsyslog;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tw-syslog-formats-'));
      if (!records.some((r) => r.stream === 'audit' && r.row)) {
        const store = await openTestStore();
        try {
          const stored = await storedAuditRecords(store.store, [...nastyAuditEvents(), ...trafficEvents({ count: 200, from: new Date(Date.now() - 3_600_000), to: new Date(), seed: 5, denyShare: 0.3, errorShare: 0.2 })]);
          records = [...records, ...stored];
        } finally {
          await store.close();
        }
      }
      pki = await writeSyslogPki(dir);
      rsyslog = await startRsyslog(transport === 'tls'
        ? { tls: { caFile: pki.caFile, certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, authMode: 'x509/certvalid' } }
        : {});
    });
    after(async () => {
      await rsyslog?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    for (const format of FORMATS) {
      test(`${format}: every field of every record arrives, escaped and unescaped right`, async () => {
        const appName = `tw-${format}`;
        const config = {
          name: `siem-${format}`, type: 'syslog', enabled: true, streams: ['audit', 'findings'] as const, batch_size: 100,
          host: '127.0.0.1', port: rsyslog.port, transport, format, app_name: appName, hostname: 'collector-1', facility: 'local4',
          // Relative paths resolve against the config file; the receiver's certificate names syslog.test.
          tls: { ca: 'ca.pem', cert: 'client.pem', key: 'client.key', server_name: 'syslog.test' },
        };
        const exporter = syslogExporter.create(config as never, { configFile: join(dir, 'collector.yaml'), log });
        await exporter.start?.();
        const signal = new AbortController().signal;
        for (let i = 0; i < records.length; i += 100) {
          assert.deepEqual(await exporter.send(records.slice(i, i + 100), signal), { status: 'success' });
        }
        await exporter.close();

        const before = (await rsyslog.messages()).filter((m) => m.appName !== appName).length;
        const got = (await rsyslog.waitForMessages(before + records.length)).filter((m) => m.appName === appName);
        assert.equal(got.length, records.length);
        const format5424 = createFormatter(resolveSyslogConfig(config), String(process.pid));
        got.forEach((m, i) => {
          const r = records[i] as ExportRecord;
          assert.equal(m.input, 'imtcp');
          // Byte for byte what we sent (rsyslog keeps the raw message), and parsed as we meant it.
          assert.equal(m.raw, format5424(r), `raw message of ${r.id}`);
          const ours = parse5424(m.raw);
          assert.equal(m.pri, String(ours.pri));
          assert.equal(Math.floor(ours.pri / 8), 20, 'facility local4');
          assert.equal(m.timestamp, r.stream === 'audit' ? r.event.ts : r.finding.detected_at);
          assert.equal(m.hostname, 'collector-1');
          assert.equal(m.procId, String(process.pid));
          assert.equal(m.msgId, r.stream === 'audit' ? 'audit' : 'finding');
          if (format !== 'rfc5424') {
            assert.equal(m.sd, '-');
            assert.equal(m.msg.startsWith('\uFEFF'), /[^\x20-\x7e]/.test(m.msg.replace(/^\uFEFF/, '')), 'a BOM exactly when the body is not ASCII');
          }
          const expected = expectedFields(r);
          if (format === 'rfc5424') {
            const parsed = JSON.parse(m.sd_json) as Record<string, Fields>;
            assert.deepEqual(parsed['tunnelwatch@32473'], expected, `rsyslog's mmpstrucdata reading of ${r.id}`);
          } else assert.equal(m.sd_json, '');
          if (format === 'cef' && r.stream === 'findings') expected.title = expected.title?.replace(/\r\n|[\r\n]/g, ' ') ?? '';
          assert.deepEqual(decode(format, m, r.stream), expected, `fields of ${r.id}`);
        });
      });
    }

    if (transport === 'tls') {
      test('fails, not retryable, without the client certificate rsyslog asks for, or with a server name its certificate lacks', async () => {
        const cases = [{ ca: 'ca.pem', server_name: 'syslog.test' }, { ca: 'ca.pem', cert: 'client.pem', key: 'client.key', server_name: 'other.test' }];
        for (const tls of cases) {
          const exporter = syslogExporter.create({ name: 'refused', type: 'syslog', enabled: true, streams: ['audit'], batch_size: 10, host: '127.0.0.1', port: rsyslog.port, transport: 'tls', tls } as never, { configFile: join(dir, 'collector.yaml'), log });
          await exporter.start?.();
          const outcome = await exporter.send(records.slice(0, 3), new AbortController().signal);
          await exporter.close();
          assert.equal(outcome.status, 'failure', JSON.stringify(tls));
          assert.match((outcome as { reason: string }).reason, /^TW_ERR_SYSLOG_TLS: .*(CERTIFICATE_REQUIRED|ALTNAME_INVALID)/);
        }
      });
    }
  });
}
