// The collector's own certificate (collector.tls.cert): the same ops_cert_expiring alert as the certificates
// of relays and connectors, through the collector's ops ingest into a real store: a certificate within 7
// days fires high (a finding and an admin event), one far from expiry raises nothing, and an alert the
// store could not take is sent again.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { collectorOpsIngest, startCollectorCertAlerts, type OpsEvidence, type OpsIngest } from '../../../collector/diagnostics/ops-findings.js';
import { readFindings } from '../../../collector/detect/findings-store.js';
import { createLogger } from '../../../common/log.js';
import { createCa, issueRelayCertificate, type IssuedCertificate } from '../../../connector/pki/pki.js';
import { waitFor } from '../../helpers/processes.js';
import { openTestStore, type TestStore } from '../../helpers/dashboard.js';

const log = createLogger({ name: 'test', level: 'silent' });
const SUBJECT = `collector@${hostname()}/collector.tls.cert`;

describe('the collector certificate expiry alert', () => {
  let ts: TestStore;
  let dir: string;
  let soon: IssuedCertificate;
  let later: IssuedCertificate;

  before(async () => {
    ts = await openTestStore();
    dir = mkdtempSync(join(tmpdir(), 'tw-collector-cert-'));
    const ca = await createCa({ validityDays: 3650 });
    soon = await issueRelayCertificate(ca, { validityDays: 5 });
    later = await issueRelayCertificate(ca, { validityDays: 400 });
    writeFileSync(join(dir, 'soon.crt'), soon.certPem);
    writeFileSync(join(dir, 'later.crt'), later.certPem);
  });
  after(async () => {
    await ts?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fires high for a certificate that expires within 7 days: a finding and an admin event of the collector', async () => {
    const ops = collectorOpsIngest(ts.store, log);
    const alerts = startCollectorCertAlerts({ ingest: ops, file: 'soon.crt', loaded: Buffer.from(soon.certPem), configFile: join(dir, 'collector.yaml'), log });
    try {
      const [f] = await waitFor(async () => {
        const found = (await readFindings(ts.store, { detectors: ['ops_cert_expiring'] })).filter((x) => x.entity === SUBJECT);
        return found.length > 0 ? found : undefined;
      }, { timeoutMs: 10_000, message: 'the certificate finding' });
      const ev = f?.evidence as unknown as OpsEvidence;
      assert.deepEqual([f?.severity, f?.entity_type, ev.state, ev.emitter, ev.emitter_id], ['high', 'certificate', 'firing', 'collector', `collector@${hostname()}`]);
      assert.equal(ev.detail.config_key, 'collector.tls.cert');
      assert.equal(ev.detail.fingerprint256, new X509Certificate(soon.certPem).fingerprint256);
      assert.ok(Number(ev.detail.days_left) <= 5 && Number(ev.detail.days_left) >= 3, String(ev.detail.days_left));
      // The ingest writes the finding first and the admin event after it: wait for that one too.
      const events = await waitFor(async () => {
        const rows = await ts.store.query<{ action: string; actor: string }>("SELECT action, actor FROM admin_events FINAL WHERE target = {t:String} ORDER BY seq", { t: SUBJECT });
        return rows.length > 0 ? rows : undefined;
      }, { timeoutMs: 10_000, message: 'the admin event of the alert' });
      assert.deepEqual(events.map((e) => e.action), ['ops.cert_expiring']);
    } finally {
      alerts.stop();
    }
  });

  it('raises nothing for a certificate far from expiry, and sends again what the store could not take', async () => {
    const batches: { events: { state: string; subject: string; severity?: string }[] }[] = [];
    let failures = 1;
    const flaky: OpsIngest = {
      async ingest(batch) {
        if (failures-- > 0) throw new Error('store unavailable');
        batches.push(batch as never);
        return { accepted: batch.events.length, findings: 0, admin_events: 0 };
      },
    };
    const fine = startCollectorCertAlerts({ ingest: flaky, file: 'later.crt', loaded: Buffer.from(later.certPem), configFile: join(dir, 'collector.yaml'), log, retryMs: 50 });
    try {
      await waitFor(() => (batches.length > 0 ? true : undefined), { timeoutMs: 5000, message: 'the clear sent after a failure' });
      assert.deepEqual(batches.flatMap((b) => b.events.map((e) => [e.state, e.subject, e.severity])), [['resolved', SUBJECT, undefined]], 'only the clear of a fine certificate');
      assert.equal(fine.pending, 0);
    } finally {
      fine.stop();
    }
  });
});
