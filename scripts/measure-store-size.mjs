#!/usr/bin/env node
// Disk bytes per audit event in the embedded store, for the sizing section of docs/operations.md.
// Run after `npm run build`:  node scripts/measure-store-size.mjs [events=100000] [days=1]
// Writes realistic chained events (real SHA-256 hash chain, random trace ids: the incompressible part of
// an event) into a fresh store in a temp dir, merges the parts (OPTIMIZE FINAL, as background merges do
// over time) and reads system.parts. With tracing on, every call also stores three spans (relay server,
// connector server, backend client) shaped like the ones connector/relay/relay-call.ts and
// connector/agent/connector-call.ts export. Also checks whether the engine can BACKUP to a local file.
import { Buffer } from 'node:buffer';
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { openStore } = await import('../dist/collector/store/open-store.js');
const { trafficEvents } = await import('../dist/test/helpers/audit-traffic.js');

const count = Number(process.argv[2] ?? 100_000);
const days = Number(process.argv[3] ?? 1);
const dir = mkdtempSync(join(tmpdir(), 'tw-size-'));
const dataDir = join(dir, 'store');

function duBytes(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, name) => sum + duBytes(join(path, name)), 0);
}

const hex = (n) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

/** The spans one call exports (ids and times from the event, attributes as the emitters set them). */
function spansOf(e) {
  const startNs = BigInt(Date.parse(e.ts)) * 1_000_000n;
  const resource = (service) => ({ 'service.name': service, 'service.version': '0.1.0', 'host.name': `${service}-host-1` });
  const common = {
    'http.request.method': e.method, 'client.address': e.client_ip, 'user_agent.original': e.user_agent,
    'tunnelwatch.subaccount': e.subaccount, 'tunnelwatch.cloud_app': e.cloud_app, 'tunnelwatch.location_id': e.location_id,
    'server.address': e.virtual_host, 'server.port': String(e.virtual_port), 'url.path': e.path, 'http.response.status_code': String(e.status),
  };
  const span = (name, kind, service, spanId, parent, attributes, durationUs) => ({
    Timestamp: String(startNs), TraceId: e.trace_id, SpanId: spanId, ParentSpanId: parent, TraceState: '', SpanName: name, SpanKind: kind,
    ServiceName: service, ResourceAttributes: resource(service), ScopeName: 'tunnelwatch', ScopeVersion: '0.1.0', SpanAttributes: attributes,
    Duration: durationUs * 1000, StatusCode: e.status >= 500 ? 'Error' : 'Unset', StatusMessage: '', Events: [], Links: [],
  });
  const relaySpan = hex(16);
  const spans = [
    span(e.method, 'Server', 'tunnelwatch-relay', relaySpan, '', { ...common, 'tunnelwatch.emitter': 'relay' }, e.duration_us + 300),
    span(e.method, 'Server', 'tunnelwatch-connector', e.span_id, relaySpan, { ...common, 'tunnelwatch.emitter': 'connector', 'tunnelwatch.decision': e.decision, 'tunnelwatch.rule_id': e.rule_id, 'tunnelwatch.phase.tunnel_us': '350' }, e.duration_us),
  ];
  if (e.decision === 'allow') {
    spans.push(span(e.method, 'Client', 'tunnelwatch-connector', hex(16), e.span_id, {
      'http.request.method': e.method, 'server.address': e.internal_host, 'server.port': String(e.internal_port), 'url.scheme': e.protocol, 'url.path': e.path,
      'http.response.status_code': String(e.status), 'tunnelwatch.phase.backend_connect_us': String(e.backend_connect_us), 'tunnelwatch.phase.backend_ttfb_us': String(e.backend_ttfb_us),
    }, Math.max(1, e.duration_us - 500)));
  }
  return spans;
}

const store = await openStore({ dataDir });
try {
  const to = new Date();
  const from = new Date(to.getTime() - days * 86_400_000);
  const events = trafficEvents({ count, from, to, seed: 7 });
  const ndjsonBytes = events.reduce((sum, e) => sum + Buffer.byteLength(JSON.stringify(e)) + 1, 0);
  for (let i = 0; i < events.length; i += 10_000) {
    const batch = events.slice(i, i + 10_000);
    await store.insertAuditEvents(batch);
    await store.insertSpans(batch.flatMap(spansOf));
  }
  const tables = await store.query("SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree'");
  for (const { name } of tables) await store.query(`OPTIMIZE TABLE ${name} FINAL`);
  const rows = await store.query(
    `SELECT table, sum(rows) AS n, sum(bytes_on_disk) AS disk, sum(data_uncompressed_bytes) AS raw
     FROM system.parts WHERE active AND database = currentDatabase() AND rows > 0 GROUP BY table ORDER BY disk DESC`,
  );
  console.log(`events: ${count} over ${days} day(s); NDJSON as shipped: ${(ndjsonBytes / count).toFixed(0)} bytes/event`);
  console.log('| table | rows | bytes on disk | bytes per event | uncompressed per event |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  let total = 0;
  for (const r of rows) {
    total += Number(r.disk);
    console.log(`| ${r.table} | ${r.n} | ${r.disk} | ${(Number(r.disk) / count).toFixed(1)} | ${(Number(r.raw) / count).toFixed(1)} |`);
  }
  console.log(`| all tables | | ${total} | ${(total / count).toFixed(1)} | |`);
  try {
    await store.query(`BACKUP TABLE audit_events TO File('${join(dir, 'backup.zip')}')`);
    console.log(`BACKUP ... TO File(): works (${duBytes(join(dir, 'backup.zip'))} bytes)`);
  } catch (err) {
    console.log(`BACKUP ... TO File(): refused: ${String(err.message).split('\n')[0]}`);
  }
} finally {
  await store.close();
  console.log(`data dir on disk after close (du): ${(duBytes(dataDir) / count).toFixed(1)} bytes/event`);
  rmSync(dir, { recursive: true, force: true });
}
