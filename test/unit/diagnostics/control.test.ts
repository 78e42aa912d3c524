// The connector's control handler (on-demand checks from the relay) and the prober, with a stand-in for
// the check engine that records which mapping the connector chose to check.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../../common/log.js';
import type { ConnectorConfig, DiagnosticsConfig } from '../../../connector/agent/config-schema.js';
import { createControlHandler, findMapping, indexMappings, Limiter, type ControlHandler, type RunCheck } from '../../../connector/diagnostics/control.js';
import { probeTargets, startProber } from '../../../connector/diagnostics/prober.js';
import type { CheckReport } from '../../../connector/diagnostics/types.js';
import { CHECK_PATH } from '../../../connector/tunnel/protocol.js';

const log = createLogger({ name: 'test', level: 'silent' });

const SUBACCOUNTS = {
  acme: {
    trusted_apps: [],
    mappings: [
      { virtual: 'ERP.virtual:8000', internal: '127.0.0.1:1', protocol: 'http', host_header: 'virtual', resources: [] },
      { virtual: 'ldap.virtual:389', internal: '10.0.0.5:389', protocol: 'tcp', host_header: 'virtual', resources: [] },
    ],
  },
  globex: {
    trusted_apps: [],
    mappings: [{ virtual: 'crm.virtual:443', internal: 'crm.internal:8443', protocol: 'https', host_header: 'virtual', resources: [] }],
  },
} as unknown as ConnectorConfig['subaccounts'];

const DIAGNOSTICS: DiagnosticsConfig = { interval_ms: 60_000, timeout_ms: 1234, latency_warn_ms: 500, cert_warn_days: 21, concurrency: 2, queue_max_reports: 100 };

function reportFor(target: Parameters<RunCheck>[0], state: CheckReport['state']): CheckReport {
  const down = state === 'down';
  return {
    check_id: crypto.randomUUID(),
    connector_id: target.connectorId,
    location_id: target.locationId,
    subaccount: target.subaccount,
    virtual_host: target.mapping.virtual,
    internal_host: target.mapping.internal,
    protocol: target.mapping.protocol,
    trigger: target.trigger,
    requested_by: target.requestedBy ?? '',
    started_at: new Date().toISOString(),
    duration_ms: 3,
    state,
    classification: down ? 'tcp_refused' : 'ok',
    summary: down ? `connection refused at ${target.mapping.internal}` : 'reachable in 3 ms',
    steps: [],
  };
}

/** A stand-in engine; with holdMs each check stays open that long (or until releaseAll()). */
function fakeEngine(holdMs = 0, stateOf: (virtual: string) => CheckReport['state'] = () => 'up') {
  let running = 0;
  const waiting: (() => void)[] = [];
  const engine = {
    calls: [] as Parameters<RunCheck>[],
    maxConcurrent: 0,
    releaseAll() {
      for (const w of waiting.splice(0)) w();
    },
    run: (async (target, options) => {
      engine.calls.push([target, options]);
      running++;
      engine.maxConcurrent = Math.max(engine.maxConcurrent, running);
      if (holdMs > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, holdMs);
          waiting.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      running--;
      return reportFor(target, stateOf(target.mapping.virtual));
    }) as RunCheck,
  };
  return engine;
}

describe('mapping lookup', () => {
  const index = indexMappings(SUBACCOUNTS);
  test('finds a mapping by virtual host:port, the host case-insensitively', () => {
    assert.equal(findMapping(index, 'acme', 'erp.VIRTUAL:8000')?.internal, '127.0.0.1:1');
    assert.equal(findMapping(index, 'acme', 'erp.virtual.:8000')?.internal, '127.0.0.1:1');
  });
  test('finds nothing for another port, another subaccount\'s mapping, or a host that is not a mapping', () => {
    assert.equal(findMapping(index, 'acme', 'erp.virtual:8001'), undefined);
    assert.equal(findMapping(index, 'acme', 'crm.virtual:443'), undefined);
    assert.equal(findMapping(index, 'acme', '127.0.0.1:1'), undefined);
    assert.equal(findMapping(index, 'nobody', 'erp.virtual:8000'), undefined);
    assert.equal(findMapping(index, 'acme', 'erp.virtual'), undefined);
  });
});

describe('Limiter', () => {
  test('lets limit holders in, queues maxWaiting, refuses the rest, hands over on release', async () => {
    const l = new Limiter(2, 1);
    assert.equal(await l.acquire(), true);
    assert.equal(await l.acquire(), true);
    let third = false;
    const p = l.acquire().then((ok) => (third = ok));
    assert.equal(await l.acquire(), false);
    assert.equal(third, false);
    l.release();
    await p;
    assert.equal(third, true);
    assert.equal(l.running, 2);
    l.release();
    l.release();
    assert.equal(l.running, 0);
  });
});

describe('control handler on a real HTTP/2 connection', () => {
  let server: http2.Http2Server;
  let client: http2.ClientHttp2Session;
  let handler: ControlHandler;
  let engine: ReturnType<typeof fakeEngine>;
  const shipped: CheckReport[] = [];

  const setup = async (holdMs: number): Promise<void> => {
    engine = fakeEngine(holdMs);
    handler = createControlHandler({
      connectorId: 'connector-1',
      locationId: 'plant-a',
      mappings: indexMappings(SUBACCOUNTS),
      diagnostics: DIAGNOSTICS,
      resolvePath: (p) => `/etc/tw/${p}`,
      run: engine.run,
      onReport: (r) => shipped.push(r),
      log,
    });
    server = http2.createServer();
    server.on('stream', (stream, headers) => handler.handle(stream, headers));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  };
  const teardown = async (): Promise<void> => {
    engine.releaseAll();
    client.close();
    await new Promise((r) => server.close(r));
  };

  const ask = (body: unknown, method = 'POST'): Promise<{ status: number; body: Record<string, unknown> }> =>
    new Promise((resolve, reject) => {
      const req = client.request({ ':method': method, ':path': CHECK_PATH, 'content-type': 'application/json' });
      let status = 0;
      const chunks: Buffer[] = [];
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve({ status, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown> }));
      req.on('error', reject);
      if (method === 'GET') req.end();
      else req.end(typeof body === 'string' ? body : JSON.stringify(body));
    });

  describe('answers', () => {
    before(() => setup(0));
    after(teardown);

    test('checks the configured mapping and answers its report with trigger dashboard', async () => {
      const r = await ask({ subaccount: 'acme', virtual_host: 'Erp.Virtual:8000', requested_by: 'alice@acme' });
      assert.equal(r.status, 200);
      assert.equal(r.body.virtual_host, 'ERP.virtual:8000');
      assert.equal(r.body.internal_host, '127.0.0.1:1');
      assert.equal(r.body.trigger, 'dashboard');
      assert.equal(r.body.requested_by, 'alice@acme');
      const [target, options] = engine.calls.at(-1) ?? [];
      assert.equal(target?.mapping.internal, '127.0.0.1:1');
      assert.equal(target?.connectorId, 'connector-1');
      assert.equal(target?.locationId, 'plant-a');
      assert.deepEqual({ t: options?.timeoutMs, l: options?.latencyWarnMs, c: options?.certWarnDays, p: options?.resolvePath('ca.pem') }, { t: 1234, l: 500, c: 21, p: '/etc/tw/ca.pem' });
      assert.equal(shipped.at(-1)?.check_id, r.body.check_id, 'the report is handed to the shipper too');
    });

    test('refuses with 404 a mapping of another subaccount and a host that is no mapping, without checking', async () => {
      const before = engine.calls.length;
      const other = await ask({ subaccount: 'acme', virtual_host: 'crm.virtual:443', requested_by: 'x' });
      assert.equal(other.status, 404);
      assert.match(String(other.body.error), /no mapping crm\.virtual:443 for subaccount acme/);
      const raw = await ask({ subaccount: 'acme', virtual_host: '10.0.0.5:389', requested_by: 'x' });
      assert.equal(raw.status, 404, 'an internal address is not a mapping, even if a mapping leads there');
      assert.equal(engine.calls.length, before);
    });

    test('refuses malformed, unknown-field, oversized and non-POST requests', async () => {
      assert.equal((await ask('{"subaccount":')).status, 400);
      const extra = await ask({ subaccount: 'acme', virtual_host: 'erp.virtual:8000', host: 'evil.example:80' });
      assert.equal(extra.status, 400);
      assert.match(String(extra.body.error), /unknown field "host"/);
      assert.equal((await ask({ subaccount: 'ACME!', virtual_host: 'erp.virtual:8000' })).status, 400);
      assert.equal((await ask({ subaccount: 'acme', virtual_host: 'x'.repeat(5000) })).status, 413);
      assert.equal((await ask('', 'GET')).status, 405);
    });
  });

  describe('under a flood', () => {
    before(() => setup(10_000));
    after(teardown);

    test('runs at most `concurrency` checks, queues a few and refuses the rest with 429', async () => {
      const answers = Array.from({ length: 20 }, () => ask({ subaccount: 'globex', virtual_host: 'crm.virtual:443', requested_by: 'flood' }));
      // The refusals come at once; the held checks wait for their release.
      const deadline = Date.now() + 5000;
      while (engine.calls.length < DIAGNOSTICS.concurrency && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(handler.running, DIAGNOSTICS.concurrency);
      engine.releaseAll();
      // Released checks hand over to queued ones, which are held again: keep releasing until all answered.
      const timer = setInterval(() => engine.releaseAll(), 20);
      const results = await Promise.all(answers);
      clearInterval(timer);
      const byStatus = new Map<number, number>();
      for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
      const queued = DIAGNOSTICS.concurrency * 4;
      assert.equal(byStatus.get(200), DIAGNOSTICS.concurrency + queued);
      assert.equal(byStatus.get(429), 20 - DIAGNOSTICS.concurrency - queued);
      assert.equal(engine.maxConcurrent, DIAGNOSTICS.concurrency);
    });
  });
});

describe('prober', () => {
  test('checks every mapping of every subaccount with trigger schedule, at most `concurrency` at once', async () => {
    const engine = fakeEngine(30);
    const reports: CheckReport[] = [];
    const prober = startProber({
      connectorId: 'connector-1',
      locationId: '',
      targets: () => probeTargets(SUBACCOUNTS),
      diagnostics: { ...DIAGNOSTICS, interval_ms: 100_000 },
      resolvePath: (p) => p,
      run: engine.run,
      onReport: (r) => reports.push(r),
      log,
      random: () => 0.999,
    });
    assert.ok(prober);
    const round = await prober.runRound();
    await prober.stop();
    assert.deepEqual(round.map((r) => `${r.subaccount} ${r.virtual_host}`).sort(), ['acme ERP.virtual:8000', 'acme ldap.virtual:389', 'globex crm.virtual:443']);
    assert.ok(round.every((r) => r.trigger === 'schedule'));
    assert.equal(reports.length, 3);
    assert.equal(engine.maxConcurrent, 2);
    assert.equal(prober.rounds, 1);
  });

  test('runs on its jittered schedule until stopped', async () => {
    const engine = fakeEngine();
    const prober = startProber({
      connectorId: 'c', locationId: '', targets: () => probeTargets(SUBACCOUNTS),
      diagnostics: { ...DIAGNOSTICS, interval_ms: 50 }, resolvePath: (p) => p, run: engine.run, log,
    });
    assert.ok(prober);
    await new Promise((r) => setTimeout(r, 400));
    await prober.stop();
    const rounds = prober.rounds;
    assert.ok(rounds >= 2 && rounds <= 12, `rounds ${rounds}`);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(prober.rounds, rounds, 'no round after stop');
  });

  test('is off with interval_ms 0', () => {
    assert.equal(startProber({ connectorId: 'c', locationId: '', targets: () => [], diagnostics: { ...DIAGNOSTICS, interval_ms: 0 }, resolvePath: (p) => p, run: fakeEngine().run, log }), undefined);
  });
});
