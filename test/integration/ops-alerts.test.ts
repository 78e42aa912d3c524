// Alerts end to end with real processes: a collector, a relay and a connector (each `tunnelwatch` its own
// process) with audit.collector set, so alerts go to POST /v1/ops. The connector's client certificate
// expires in 10 days: ops_cert_expiring (medium). The connector is killed: after the relay's grace (1 s
// here) ops_tunnel_down; restarted: the same finding resolved, with recovered_at and the duration. The
// restarted connector reports its certificate again, which updates the finding without a second admin
// event. Rows are read from the store once the collector has stopped (an embedded store has one process).
// With a real master/shadow pair (no collector: the relay only logs its alerts), a planned switch-over is a
// low ops_failover and a kill -9 of the active connector a medium one, from the HA code's own claims.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { issueConnectorCertificate, loadCa, pemFiles, writePemFiles } from '../../connector/pki/pki.js';
import type { OpsEvidence } from '../../collector/diagnostics/ops-findings.js';
import { startCollectorProcess, queryStore, type CollectorProcess } from '../helpers/collector-process.js';
import { run, waitFor, type StartedProcess } from '../helpers/processes.js';
import { CLI, startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';
import { MASTER, SHADOW, startHaPair, type HaPair } from './ha-pair.js';

const CONNECTOR = 'conn-ops';
const GRACE_MS = 1000;

interface OpsLine { msg: string; detector: string; state: string; severity: string; subject: string; finding_id: string; time: string }
interface Row { finding_id: string; detector: string; severity: string; entity: string; title: string; evidence: string; window_start: string; window_end: string }

/** The collector's "ops alert" log lines (one per admin event it recorded). */
function opsLines(p: StartedProcess): OpsLine[] {
  return `${p.stdout()}\n${p.stderr()}`.split('\n').filter((l) => l.includes('"msg":"ops alert"')).map((l) => JSON.parse(l) as OpsLine);
}

describe('ops alerts from relay and connector', { timeout: 120_000 }, () => {
  let collector: CollectorProcess;
  let stack: TunnelStack;

  before(async () => {
    collector = await startCollectorProcess();
    const shipTo = (dir: string) => ({ dir, collector: { url: collector.url, token_file: 'ingest.token', flush_interval_ms: 50 } });
    stack = await startTunnelStack({
      tokens: [],
      connectors: [{ id: CONNECTOR, subaccounts: { acme: {} }, extra: { audit: shipTo(`audit/${CONNECTOR}`) } }],
      relayExtra: { audit: shipTo('audit/relay-1'), alerts: { tunnel_down_grace_ms: GRACE_MS } },
      beforeStart: async (dir) => {
        await writeFile(join(dir, 'ingest.token'), collector.token);
        // A client certificate that expires in 10 days, from the stack's own CA.
        const pki = join(dir, 'pki');
        const ca = await loadCa(await readFile(join(pki, 'ca.crt'), 'utf8'), await readFile(join(pki, 'ca.key'), 'utf8'));
        await writePemFiles(pki, pemFiles(CONNECTOR, await issueConnectorCertificate(ca, { name: CONNECTOR, validityDays: 10 })), { force: true });
      },
    });
  });
  after(async () => {
    await stack?.stop();
    await collector?.stop();
  });

  it('certificate expiring, tunnel down after the grace, resolved on reconnect: findings and admin events in the store', async () => {
    const seen = (detector: string, state: string) => () => opsLines(collector.process).find((l) => l.detector === detector && l.state === state);
    const cert = await waitFor(seen('ops_cert_expiring', 'firing'), { timeoutMs: 15_000, message: 'ops_cert_expiring at the collector' });
    assert.deepEqual([cert.subject, cert.severity], [`${CONNECTOR}/relay.tls.cert`, 'medium']);

    const connector = stack.connector(CONNECTOR) as StartedProcess;
    const killedAt = Date.now();
    await connector.kill9();
    const down = await waitFor(seen('ops_tunnel_down', 'firing'), { timeoutMs: 15_000, intervalMs: 50, message: 'ops_tunnel_down at the collector' });
    assert.ok(Date.parse(down.time) - killedAt >= GRACE_MS, `not before the grace (${Date.parse(down.time) - killedAt} ms)`);
    assert.deepEqual([down.subject, down.severity], [CONNECTOR, 'high']);

    await stack.startConnector(CONNECTOR);
    const up = await waitFor(seen('ops_tunnel_down', 'resolved'), { timeoutMs: 15_000, intervalMs: 50, message: 'the resolution at the collector' });
    assert.equal(up.finding_id, down.finding_id, 'the same finding');
    // The restarted connector reports its certificate again (delivered within a few hundred ms).
    await new Promise((r) => setTimeout(r, 2000));

    await stack.stop();
    await collector.stop();
    const [findings, versions, admin] = await queryStore<Record<string, string>>(collector.dataDir, [
      { sql: "SELECT finding_id, detector, severity, entity, title, evidence, window_start, window_end FROM findings FINAL WHERE detector LIKE 'ops\\_%' ORDER BY detector" },
      { sql: "SELECT count() AS n FROM findings WHERE detector = 'ops_cert_expiring'" },
      { sql: "SELECT action, actor, target FROM admin_events FINAL WHERE action LIKE 'ops.%' ORDER BY seq" },
    ]);
    const rows = findings as unknown as Row[];
    assert.deepEqual(rows.map((r) => [r.detector, r.entity, r.severity]), [
      ['ops_cert_expiring', `${CONNECTOR}/relay.tls.cert`, 'medium'],
      ['ops_tunnel_down', CONNECTOR, 'high'],
    ], 'only these: the relay\'s own certificate, spool and first registration only cleared');
    const [certRow, downRow] = rows as [Row, Row];
    const certEv = JSON.parse(certRow.evidence) as OpsEvidence;
    assert.deepEqual([certEv.state, certEv.emitter, certEv.detail.days_left, certEv.detail.subject_cn], ['firing', 'connector', 9, CONNECTOR]);
    assert.equal(certRow.title, `Certificate relay.tls.cert of ${CONNECTOR} (CN ${CONNECTOR}) expires in 9 days`);
    assert.equal(Number(versions?.[0]?.n), 2, 'the restart\'s report updated the finding (a new version)');

    const downEv = JSON.parse(downRow.evidence) as OpsEvidence;
    assert.equal(downRow.finding_id, down.finding_id);
    assert.deepEqual([downEv.state, downEv.resolution, downEv.emitter_id], ['resolved', 'recovered', 'relay-1']);
    assert.ok(Math.abs(Date.parse(downEv.since) - killedAt) < 1000, 'the episode starts when the session ended');
    assert.ok((downEv.duration_ms ?? 0) >= GRACE_MS, `duration ${downEv.duration_ms} ms`);
    assert.equal(Date.parse(downEv.recovered_at ?? ''), Date.parse(downEv.since) + (downEv.duration_ms ?? 0));
    assert.match(downRow.title, new RegExp(`^Tunnel of connector ${CONNECTOR} was down for \\d+ s$`));

    assert.deepEqual((admin ?? []).map((a) => [a.action, a.actor, a.target]), [
      ['ops.cert_expiring', CONNECTOR, `${CONNECTOR}/relay.tls.cert`],
      ['ops.tunnel_down', 'relay-1', CONNECTOR],
      ['ops.tunnel_down', 'relay-1', CONNECTOR],
    ]);
  });
});

interface AlertLine { alert: string; state: string; subject: string; severity: string; from: string[]; reason: string; planned: boolean; code: string; level: number }

describe('ops_failover from a real master/shadow pair', { timeout: 120_000 }, () => {
  let pair: HaPair;
  before(async () => {
    pair = await startHaPair();
    await waitFor(async () => {
      const s = await pair.state(SHADOW);
      return s.ready && s.tunnel === 'registered';
    }, { timeoutMs: 10_000, message: 'the shadow ready and registered' });
  });
  after(async () => {
    await pair?.stop();
  });

  const failovers = (): AlertLine[] => (pair.stack.relay()?.stderr() ?? '').split('\n')
    .filter((l) => l.includes('"alert":"ops_failover"')).map((l) => JSON.parse(l) as AlertLine);

  it('a planned switch-over is low, a kill -9 of the active connector medium (the relay promotes the standby)', async () => {
    assert.deepEqual(failovers(), [], 'no failover at start');
    const r = await run(process.execPath, [CLI, 'connector', 'switch-roles', '--config', join(pair.stack.dir, `${MASTER}.yaml`), '--json'], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    const planned = await waitFor(() => failovers()[0], { timeoutMs: 5000, message: 'the planned failover in the relay log' });
    assert.deepEqual([planned.subject, planned.severity, planned.from, planned.planned, planned.level, planned.code], [SHADOW, 'low', [MASTER], true, 40, 'TW_ERR_OPS_ALERT']);

    await pair.stack.connector(SHADOW)?.kill9();
    const promoted = await waitFor(() => failovers()[1], { timeoutMs: 10_000, message: 'the failover after the kill in the relay log' });
    assert.deepEqual([promoted.subject, promoted.severity, promoted.from, promoted.planned, promoted.reason], [MASTER, 'medium', [SHADOW], false, 'promoted']);
    assert.equal(failovers().length, 2);
  });
});
