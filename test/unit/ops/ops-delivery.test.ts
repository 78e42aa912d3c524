// Alerts leave the collector exactly as findings do: a real store, the real export service with two real
// webhook exporters, one of them pointed at a receiver that keeps answering 500. The stuck-exporter watch
// (stuck_after_s shortened to 1 s) raises ops_exporter_stuck for the broken one, and the working webhook
// delivers that finding; when the broken receiver answers again, the resolution arrives as a new version of
// the same finding. An alert from a relay (ops_tunnel_down) is delivered the same way.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validateConfig } from '../../../common/config/load-config.js';
import { createLogger } from '../../../common/log.js';
import { ExportConfigSchema, type ExporterEntryConfig } from '../../../collector/export/config-schema.js';
import { startExportService, type ExportService } from '../../../collector/export/export-service.js';
import { startStuckAlerts, type StuckAlerts } from '../../../collector/export/stuck-alerts.js';
import type { ExportRecord } from '../../../collector/export/types.js';
import { collectorOpsIngest, type OpsEvidence, type OpsIngest } from '../../../collector/diagnostics/ops-findings.js';
import { openTestStore, type TestStore } from '../../helpers/dashboard.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../integration/webhook-receiver.js';

const SECRET = 'ops-delivery-secret-0123456789';
const log = createLogger({ name: 'test', level: 'silent' });

type FindingRecord = Extract<ExportRecord, { stream: 'findings' }>;

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('alerts through the exporters', () => {
  let ts: TestStore;
  let good: WebhookReceiver;
  let broken: WebhookReceiver;
  let service: ExportService;
  let ops: OpsIngest;
  let stuck: StuckAlerts;

  before(async () => {
    ts = await openTestStore();
    good = await startWebhookReceiver(SECRET);
    broken = await startWebhookReceiver(SECRET);
    broken.decide = () => ({ status: 500, body: 'receiver down' });
    writeFileSync(join(ts.dir, 'hook.secret'), SECRET);
    const configFile = join(ts.dir, 'collector.yaml');
    const config = validateConfig(ExportConfigSchema, {
      export: { settle_ms: 200, poll_interval_ms: 50, retry_initial_delay_ms: 50, retry_max_delay_ms: 200, cursor_save_interval_ms: 0 },
      exporters: [
        { name: 'soar', type: 'webhook', url: good.url, secret_file: 'hook.secret' },
        { name: 'ticketing', type: 'webhook', url: broken.url, secret_file: 'hook.secret' },
      ],
    }, configFile, { env: {} });
    service = await startExportService({ store: ts.store, entries: config.exporters as readonly ExporterEntryConfig[], settings: config.export, configFile, log });
    ops = collectorOpsIngest(ts.store, log);
    stuck = startStuckAlerts({ health: service.health, ingest: ops, stuckAfterS: 1, intervalMs: 200, log });
  });
  after(async () => {
    await stuck?.stop();
    await service?.close();
    await good?.close();
    await broken?.close();
    await ts?.close();
  });

  const delivered = (r: WebhookReceiver, detector: string, state: OpsEvidence['state']): FindingRecord | undefined =>
    [...r.records.values()].find((x): x is FindingRecord => x.stream === 'findings' && x.finding.detector === detector && (x.finding.evidence as unknown as OpsEvidence).state === state);

  it('a relay alert reaches the webhook as a finding, id "<finding_id>:<version>"', async () => {
    const at = new Date().toISOString();
    await ops.ingest({ emitter: 'relay', emitter_id: 'relay-1', events: [{ type: 'tunnel_down', state: 'firing', at, since: at, episode: at, subject: 'conn-1', detail: { subaccounts: ['acme'], unserved_subaccounts: ['acme'] } }] });
    const record = await until('the tunnel_down finding at the webhook', () => delivered(good, 'ops_tunnel_down', 'firing'));
    assert.match(record.id, /^ops_tunnel_down:[0-9a-f]{40}:\d+$/);
    assert.equal(record.finding.severity, 'high');
    assert.equal(record.finding.title, 'Tunnel of connector conn-1 is down');
  });

  it('a stuck exporter is reported through the one that works, and resolved when it delivers again', async () => {
    const fired = await until('ops_exporter_stuck at the working webhook', () => delivered(good, 'ops_exporter_stuck', 'firing'));
    assert.equal(fired.finding.entity, 'ticketing');
    assert.equal(fired.finding.entity_type, 'exporter');
    const ev = fired.finding.evidence as unknown as OpsEvidence;
    assert.equal(ev.detail.exporter_state, 'retrying');
    assert.ok(Number(ev.detail.lag_records) >= 1);
    assert.match(String(ev.detail.last_error), /HTTP 500/);
    assert.equal(delivered(good, 'ops_exporter_stuck', 'resolved'), undefined);

    broken.decide = () => ({ status: 200 });
    const resolved = await until('the resolution at the working webhook', () => delivered(good, 'ops_exporter_stuck', 'resolved'), 30_000);
    assert.equal(resolved.finding.finding_id, fired.finding.finding_id, 'the same finding');
    assert.notEqual(resolved.id, fired.id, 'a new version');
    assert.match(resolved.finding.title, /^Exporter ticketing delivers again after/);
    // The receiver that was down gets its backlog, the alert about itself included.
    await until('the backlog at the repaired receiver', () => delivered(broken, 'ops_exporter_stuck', 'firing') ?? delivered(broken, 'ops_exporter_stuck', 'resolved'));
  });
});
