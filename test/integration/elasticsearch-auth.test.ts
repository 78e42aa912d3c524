// Authentication and TLS of the Elasticsearch exporter against the wire stand-in (not a real Elasticsearch):
// API key and basic auth from files and environment variables, refusals as failures with a clear reason,
// a custom CA, and no secret in any outcome, error or log line.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { createLogger } from '../../common/log.js';
import { createCa, issueRelayCertificate } from '../../connector/pki/pki.js';
import type { EsConfig } from '../../collector/export/elasticsearch/config.js';
import { elasticsearchExporter } from '../../collector/export/elasticsearch/index.js';
import { setUpElasticsearch } from '../../collector/export/elasticsearch/setup.js';
import type { ExportOutcome } from '../../collector/export/types.js';
import { startEsStandin, type EsStandin } from '../helpers/es-standin.js';
import { auditRecords, esExporterConfig } from '../helpers/es-standin-records.js';

const PASSWORD = 'pa55-w0rd-s3cret-Zq9';
const API_KEY = 'k3y-s3cret-value-Xw7';
const SECRETS = [PASSWORD, API_KEY, 'not-the-password', Buffer.from(`tw_writer:${PASSWORD}`).toString('base64'), Buffer.from(`keyid1:${API_KEY}`).toString('base64')];

describe('Elasticsearch exporter authentication (wire stand-in)', () => {
  let es: EsStandin;
  let dir: string;
  let logText = '';
  const seen: string[] = [];
  const logStream = new PassThrough().on('data', (c: Buffer) => { logText += c.toString(); });
  const context = () => ({ configFile: join(dir, 'collector.yaml'), log: createLogger({ name: 'test', level: 'debug', destination: logStream }) });

  async function sendWith(keys: Partial<EsConfig>, env: Record<string, string> = {}): Promise<ExportOutcome> {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const exporter = elasticsearchExporter.create(esExporterConfig({ nodes: [es.url], ...keys } as EsConfig), context());
      try {
        const outcome = await exporter.send(auditRecords(5, Math.floor(Math.random() * 1e6)), new AbortController().signal);
        seen.push(JSON.stringify(outcome));
        return outcome;
      } finally {
        await exporter.close();
      }
    } finally {
      for (const k of Object.keys(env)) if (!(k in saved)) delete process.env[k];
    }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tw-es-auth-'));
    await writeFile(join(dir, 'es-password'), `${PASSWORD}\n`);
    await writeFile(join(dir, 'wrong-password'), 'not-the-password\n');
    await writeFile(join(dir, 'api-key'), `keyid1:${API_KEY}\n`);
    await writeFile(join(dir, 'api-key-encoded'), Buffer.from(`keyid1:${API_KEY}`).toString('base64'));
    es = await startEsStandin({ auth: { users: { tw_writer: PASSWORD, viewer: 'viewer-pass' }, apiKeys: { keyid1: API_KEY }, readOnly: ['viewer'] } });
    const admin = new Client({ node: es.url, auth: { username: 'tw_writer', password: PASSWORD }, maxRetries: 0 });
    await setUpElasticsearch(admin, { namespace: 'default', streams: ['audit'] });
    await admin.close();
  });
  after(async () => {
    await es.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers with basic auth from password_file and from password_env', async () => {
    assert.deepEqual(await sendWith({ auth: { username: 'tw_writer', password_file: 'es-password' } }), { status: 'success' });
    assert.equal(es.requestLog.at(-1)?.principal, 'tw_writer');
    assert.equal(es.requestLog.at(-1)?.scheme, 'Basic');
    assert.deepEqual(await sendWith({ auth: { username: 'tw_writer', password_env: 'TW_TEST_ES_PASSWORD' } }, { TW_TEST_ES_PASSWORD: PASSWORD }), { status: 'success' });
  });

  it('delivers with an API key given as id:key or encoded', async () => {
    assert.deepEqual(await sendWith({ auth: { api_key_file: 'api-key' } }), { status: 'success' });
    assert.equal(es.requestLog.at(-1)?.scheme, 'ApiKey');
    assert.equal(es.requestLog.at(-1)?.principal, 'keyid1');
    assert.deepEqual(await sendWith({ auth: { api_key_file: 'api-key-encoded' } }), { status: 'success' });
  });

  it('reports refused credentials and missing privileges as failures with a clear reason', async () => {
    const wrong = await sendWith({ auth: { username: 'tw_writer', password_file: 'wrong-password' } });
    assert.equal(wrong.status, 'failure');
    assert.match((wrong as { reason: string }).reason, /^TW_ERR_ES_UNAUTHORISED: .*401 security_exception: unable to authenticate user/);
    const none = await sendWith({});
    assert.match((none as { reason: string }).reason, /^TW_ERR_ES_UNAUTHORISED: .*missing authentication credentials/);
    const viewer = await sendWith({ auth: { username: 'viewer', password_env: 'TW_TEST_VIEWER' } }, { TW_TEST_VIEWER: 'viewer-pass' });
    assert.equal(viewer.status, 'failure');
    assert.match((viewer as { reason: string }).reason, /^TW_ERR_ES_UNAUTHORISED: .*403 security_exception: action \[indices:data\/write\/bulk\] is unauthorized for user \[viewer\]/);
  });

  it('refuses unclear or unreadable credentials when the exporter is built', () => {
    const build = (auth: EsConfig['auth']) => () => {
      try {
        return elasticsearchExporter.create(esExporterConfig({ nodes: [es.url], auth } as EsConfig), context());
      } catch (err) {
        seen.push((err as Error).message);
        throw err;
      }
    };
    assert.throws(build({ username: 'tw_writer', password_file: 'es-password', api_key_file: 'api-key' }), /TW_ERR_ES_CREDENTIALS|either an API key/);
    assert.throws(build({ username: 'tw_writer' }), /exactly one of auth.password_file and auth.password_env/);
    assert.throws(build({ api_key_file: 'no-such-file' }), (e: Error & { code?: string }) => e.code === 'TW_ERR_ES_CREDENTIALS' && /no-such-file \(ENOENT\)/.test(e.message));
    assert.throws(build({ api_key_env: 'TW_TEST_UNSET_VARIABLE' }), /environment variable TW_TEST_UNSET_VARIABLE is empty or unset/);
  });

  it('never puts a secret in an outcome, an error or a log line', () => {
    assert.ok(logText.includes('elasticsearch exporter configured'), 'the log was captured');
    assert.ok(seen.length >= 8, 'outcomes and errors were collected');
    for (const secret of SECRETS) {
      assert.ok(!logText.includes(secret), 'a secret reached the log');
      for (const text of seen) assert.ok(!text.includes(secret), `a secret reached: ${text.slice(0, 80)}`);
    }
  });
});

describe('Elasticsearch exporter TLS (wire stand-in)', () => {
  let es: EsStandin;
  let dir: string;
  const context = () => ({ configFile: join(dir, 'collector.yaml'), log: createLogger({ name: 'test', level: 'silent' }) });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tw-es-tls-'));
    const ca = await createCa({ commonName: 'es test CA' });
    const server = await issueRelayCertificate(ca, { hosts: ['127.0.0.1'] });
    await writeFile(join(dir, 'ca.pem'), ca.certPem);
    es = await startEsStandin({ tls: { cert: server.certPem, key: server.keyPem } });
    const admin = new Client({ node: es.url, tls: { ca: ca.certPem }, maxRetries: 0 });
    await setUpElasticsearch(admin, { namespace: 'default', streams: ['audit'] });
    await admin.close();
  });
  after(async () => {
    await es.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function send(tls: Partial<EsConfig['tls']>): Promise<ExportOutcome> {
    const exporter = elasticsearchExporter.create(esExporterConfig({ nodes: [es.url], tls: { verify: true, ...tls } }), context());
    try {
      return await exporter.send(auditRecords(3, Math.floor(Math.random() * 1e6)), new AbortController().signal);
    } finally {
      await exporter.close();
    }
  }

  it('verifies the cluster against ca_file', async () => {
    assert.ok(es.url.startsWith('https://'));
    assert.deepEqual(await send({ ca_file: 'ca.pem' }), { status: 'success' });
  });

  it('fails with TW_ERR_ES_TLS when the certificate does not verify, and delivers with verify: false', async () => {
    const o = await send({});
    assert.equal(o.status, 'failure');
    assert.match((o as { reason: string }).reason, /^TW_ERR_ES_TLS: /);
    assert.deepEqual(await send({ verify: false }), { status: 'success' });
  });
});
