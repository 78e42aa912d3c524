// `tunnelwatch siem setup elasticsearch` as an operator runs it, against the wire stand-in (not a real
// Elasticsearch): it installs the templates and data streams, says what it did, and changes nothing the
// second time.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { TEMPLATE_PRIORITY, TEMPLATE_VERSION } from '../../collector/export/elasticsearch/templates.js';
import { startEsStandin, type EsStandin } from '../helpers/es-standin.js';
import { run } from '../helpers/processes.js';
import { CLI } from '../helpers/tunnel-stack.js';

const PASSWORD = 'setup-pa55-Kq3';

function collectorYaml(url: string, exporters: string): string {
  return `collector:\n  listen: 127.0.0.1:4318\nexporters:\n${exporters}`;
}

const esEntry = (name: string, url: string, extra = '') =>
  `  - name: ${name}\n    type: elasticsearch\n    nodes: [${url}]\n    auth: { username: tw_admin, password_file: ${name}-password }\n${extra}`;

describe('tunnelwatch siem setup elasticsearch (wire stand-in)', () => {
  let es: EsStandin;
  let dir: string;
  let config: string;
  const setup = (...args: string[]) => run(process.execPath, [CLI, 'siem', 'setup', ...args], { timeoutMs: 30_000 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tw-es-setup-'));
    es = await startEsStandin({ auth: { users: { tw_admin: PASSWORD } } });
    for (const n of ['siem', 'early']) await writeFile(join(dir, `${n}-password`), PASSWORD);
    await writeFile(join(dir, 'bad-password'), 'wrong-password-value');
    config = join(dir, 'collector.yaml');
    await writeFile(config, collectorYaml(es.url, [
      esEntry('siem', es.url),
      esEntry('early', es.url, '    namespace: early\n    streams: [audit]\n'),
      esEntry('bad', es.url),
    ].join('')));
  });
  after(async () => {
    await es.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('installs the templates and data streams and says so', async () => {
    const r = await setup('elasticsearch', '--config', config, '--exporter', 'siem');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^exporter siem: http:\/\/127\.0\.0\.1:\d+ with basic auth as tw_admin$/m);
    assert.match(r.stdout, /Elasticsearch 9\.\d+\.\d+/);
    for (const line of [
      'component template tunnelwatch@mappings: created',
      'index template logs-tunnelwatch.audit: created',
      'index template logs-tunnelwatch.finding: created',
      'data stream logs-tunnelwatch.audit-default: created',
      'data stream logs-tunnelwatch.finding-default: created',
    ]) assert.ok(r.stdout.includes(line), `missing "${line}" in\n${r.stdout}`);
    const t = es.indexTemplate('logs-tunnelwatch.audit');
    assert.equal(t?.priority, TEMPLATE_PRIORITY);
    assert.deepEqual(t?.index_patterns, ['logs-tunnelwatch.audit-*']);
    assert.equal(t?.version, TEMPLATE_VERSION);
    assert.deepEqual(es.dataStreams().sort(), ['logs-tunnelwatch.audit-default', 'logs-tunnelwatch.finding-default']);
    assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD));
  });

  it('changes nothing when run again', async () => {
    const before = es.requestLog.length;
    const r = await setup('elasticsearch', '--config', config, '--exporter', 'siem');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /component template tunnelwatch@mappings: up to date/);
    assert.match(r.stdout, /index template logs-tunnelwatch\.audit: up to date/);
    assert.match(r.stdout, /data stream logs-tunnelwatch\.finding-default: exists/);
    const writes = es.requestLog.slice(before).filter((q) => q.method === 'PUT' || q.method === 'POST');
    assert.deepEqual(writes, [], 'no template or data stream was written');
  });

  it('replaces an older version of a template', async () => {
    const admin = new Client({ node: es.url, auth: { username: 'tw_admin', password: PASSWORD }, maxRetries: 0 });
    const old = es.indexTemplate('logs-tunnelwatch.finding') as Record<string, unknown>;
    await admin.indices.putIndexTemplate({ name: 'logs-tunnelwatch.finding', ...old, version: 0 } as never);
    await admin.close();
    const r = await setup('elasticsearch', '--config', config, '--exporter', 'siem');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /index template logs-tunnelwatch\.finding: updated \(version 0 -> 1; existing data streams take it at their next rollover\)/);
    assert.equal(es.indexTemplate('logs-tunnelwatch.finding')?.version, TEMPLATE_VERSION);
  });

  it('exits 1 and says how to fix a data stream created by the built-in logs template before setup', async () => {
    // What happens when events were sent before setup: logs-*-* (priority 100) created the stream.
    const standin2 = await startEsStandin({ auth: { users: { tw_admin: PASSWORD } } });
    try {
      const admin = new Client({ node: standin2.url, auth: { username: 'tw_admin', password: PASSWORD }, maxRetries: 0 });
      await admin.bulk({ operations: [{ create: { _index: 'logs-tunnelwatch.audit-early', _id: 'e1' } }, { '@timestamp': '2026-03-02T08:00:00Z' }] });
      await admin.close();
      const file = join(dir, 'early.yaml');
      await writeFile(file, collectorYaml(standin2.url, esEntry('early', standin2.url, '    namespace: early\n    streams: [audit]\n')));
      const r = await setup('elasticsearch', '--config', file);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /data stream logs-tunnelwatch\.audit-early: exists with another template \(it was created by template \[logs\] before setup.*run POST logs-tunnelwatch\.audit-early\/_rollover\)/);
    } finally {
      await standin2.close();
    }
  });

  it('exits 1 with TW_ERR_ES_UNAUTHORISED and no password when the cluster refuses the credentials', async () => {
    const r = await setup('elasticsearch', '--config', config, '--exporter', 'bad');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TW_ERR_ES_UNAUTHORISED: .*401 security_exception: unable to authenticate user \[tw_admin\]/);
    assert.ok(!(r.stdout + r.stderr).includes('wrong-password-value'));
  });

  it('exits 2 on usage and config errors', async () => {
    assert.equal((await setup('elasticsearch')).code, 2);
    assert.equal((await setup('kibana', '--config', config)).code, 2);
    const unknown = await setup('elasticsearch', '--config', config, '--exporter', 'nope');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /TW_ERR_EXPORT_UNKNOWN_EXPORTER.*nope \(configured: siem, early, bad\)/);
  });
});
