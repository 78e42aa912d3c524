// The stand-in must satisfy the real client (@elastic/elasticsearch 9.4): product check, content types,
// bulk item shapes and errors. If these fail, every exporter test against it means nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, errors } from '@elastic/elasticsearch';
import { startEsStandin, type EsStandin } from '../helpers/es-standin.js';

describe('Elasticsearch stand-in', () => {
  let es: EsStandin;
  let client: Client;
  before(async () => {
    es = await startEsStandin({ auth: { users: { elastic: 'changeme', viewer: 'look' }, apiKeys: { k1: 'secret-key' }, readOnly: ['viewer'] } });
    client = new Client({ node: es.url, auth: { username: 'elastic', password: 'changeme' }, maxRetries: 0 });
  });
  after(async () => {
    await client.close();
    await es.close();
  });

  it('passes the client product check and reports a 9.x version', async () => {
    const info = await client.info();
    assert.match(info.version.number, /^9\./);
    assert.equal(es.requestLog.at(-1)?.scheme, 'Basic');
  });

  it('refuses wrong credentials with 401 and accepts an API key', async () => {
    const bad = new Client({ node: es.url, auth: { username: 'elastic', password: 'nope' }, maxRetries: 0 });
    await assert.rejects(bad.info(), (e: unknown) => e instanceof errors.ResponseError && e.statusCode === 401);
    await bad.close();
    const keyed = new Client({ node: es.url, auth: { apiKey: { id: 'k1', api_key: 'secret-key' } }, maxRetries: 0 });
    assert.equal((await keyed.info()).tagline, 'You Know, for Search');
    assert.equal(es.requestLog.at(-1)?.principal, 'k1');
    await keyed.close();
  });

  it('installs templates, refuses a priority clash with the built-in logs template, and auto-creates data streams', async () => {
    await assert.rejects(client.indices.putIndexTemplate({ name: 'clash', index_patterns: ['logs-x-*'], priority: 100, data_stream: {} }),
      (e: unknown) => e instanceof errors.ResponseError && e.statusCode === 400);
    await client.indices.putIndexTemplate({
      name: 't1', index_patterns: ['logs-t1-*'], priority: 200, data_stream: {},
      template: { mappings: { properties: { '@timestamp': { type: 'date' }, n: { type: 'long' }, ip: { type: 'ip' } } } },
    });
    assert.equal(await client.indices.existsIndexTemplate({ name: 't1' }), true);
    assert.equal(await client.indices.existsIndexTemplate({ name: 'nope' }), false);
    const got = await client.indices.getIndexTemplate({ name: 't1' });
    assert.equal(got.index_templates[0]?.index_template.priority, 200);
    const res = await client.bulk({
      operations: [
        { create: { _index: 'logs-t1-default', _id: 'a' } }, { '@timestamp': '2025-01-01T00:00:00Z', n: 1, ip: '10.0.0.1' },
        { create: { _index: 'logs-t1-default', _id: 'a' } }, { '@timestamp': '2025-01-01T00:00:00Z', n: 2 },
        { create: { _index: 'logs-t1-default', _id: 'b' } }, { '@timestamp': '2025-01-01T00:00:00Z', n: 'many' },
        { create: { _index: 'logs-t1-default', _id: 'c' } }, { n: 3 },
        { index: { _index: 'logs-t1-default', _id: 'd' } }, { '@timestamp': '2025-01-01T00:00:00Z' },
      ],
    });
    assert.equal(res.errors, true);
    assert.deepEqual(res.items.map((i) => Object.values(i)[0]?.status), [201, 409, 400, 400, 400]);
    assert.equal(res.items[1]?.create?.error?.type, 'version_conflict_engine_exception');
    assert.equal(res.items[2]?.create?.error?.type, 'document_parsing_exception');
    assert.match(String(res.items[0]?.create?._index), /^\.ds-logs-t1-default-\d{4}\.\d{2}\.\d{2}-000001$/);
    assert.deepEqual(es.dataStreams(), ['logs-t1-default']);
    assert.deepEqual([...es.documents('logs-t1-default').keys()], ['a']);
    const ds = await client.indices.getDataStream({ name: 'logs-t1-default' });
    assert.equal(ds.data_streams[0]?.template, 't1');
  });

  it('injects per-item 429s and whole-request errors, and drops connections', async () => {
    es.failNextItems(1, 429);
    const res = await client.bulk({ operations: [{ create: { _index: 'logs-t1-default', _id: 'e' } }, { '@timestamp': 1 }, { create: { _index: 'logs-t1-default', _id: 'f' } }, { '@timestamp': 2 }] });
    assert.deepEqual(res.items.map((i) => i.create?.status), [429, 201]);
    assert.equal(res.items[0]?.create?.error?.type, 'es_rejected_execution_exception');
    es.failNextRequests(1, 503, 'unavailable_shards_exception');
    await assert.rejects(client.bulk({ operations: [{ create: { _index: 'logs-t1-default', _id: 'g' } }, { '@timestamp': 1 }] }),
      (e: unknown) => e instanceof errors.ResponseError && e.statusCode === 503);
    es.dropNextConnections(1, 'after');
    await assert.rejects(client.bulk({ operations: [{ create: { _index: 'logs-t1-default', _id: 'h' } }, { '@timestamp': 1 }] }),
      (e: unknown) => e instanceof errors.ConnectionError);
    assert.ok(es.documents('logs-t1-default').has('h'), 'a drop after processing keeps the document');
    es.dropNextConnections(1, 'mid-response');
    await assert.rejects(client.bulk({ operations: [{ create: { _index: 'logs-t1-default', _id: 'i' } }, { '@timestamp': 1 }] }));
    assert.equal(es.stats.droppedConnections, 2);
  });

  it('refuses writes of a read-only principal with 403', async () => {
    const viewer = new Client({ node: es.url, auth: { username: 'viewer', password: 'look' }, maxRetries: 0 });
    assert.match((await viewer.info()).version.number, /^9\./);
    await assert.rejects(viewer.bulk({ operations: [{ create: { _index: 'logs-t1-default', _id: 'v' } }, { '@timestamp': 1 }] }),
      (e: unknown) => e instanceof errors.ResponseError && e.statusCode === 403);
    await viewer.close();
  });

  it('keeps its data across a restart on the same port', async () => {
    const port = es.port;
    await es.restart();
    assert.equal(es.port, port);
    const count = await client.count({ index: 'logs-t1-default' });
    assert.equal(count.count, es.documents('logs-t1-default').size);
  });
});

describe('Elasticsearch stand-in: response filtering (filter_path)', () => {
  it('keeps only the paths asked for, drops what is left empty, and never filters an error answer', async () => {
    const es = await startEsStandin({ checkMappings: false });
    try {
      const post = async (path: string, body: string, method = 'POST'): Promise<{ status: number; json: unknown }> => {
        const res = await fetch(`${es.url}${path}`, { method, headers: { 'content-type': 'application/x-ndjson' }, ...(method === 'GET' ? {} : { body }) });
        return { status: res.status, json: await res.json() };
      };
      await post('/_index_template/t', JSON.stringify({ index_patterns: ['logs-f-*'], data_stream: {}, priority: 200 }), 'PUT');
      const line = (id: string, doc = '{"@timestamp":"2025-01-01T00:00:00Z"}') => `{"create":{"_index":"logs-f-default","_id":"${id}"}}\n${doc}\n`;
      const beats = 'filter_path=errors,items.*.error,items.*.status';
      assert.deepEqual((await post(`/_bulk?${beats}`, line('a') + line('b'))).json, { errors: false, items: [{ create: { status: 201 } }, { create: { status: 201 } }] });
      const mixed = await post(`/_bulk?${beats}`, line('a') + line('c') + line('d', '{"@timestamp": nope}'));
      assert.equal(mixed.status, 200);
      const items = (mixed.json as { errors: boolean; items: { create: { status: number; error?: { type: string } } }[] });
      assert.equal(items.errors, true);
      assert.deepEqual(items.items.map((i) => [i.create.status, i.create.error?.type]), [[409, 'version_conflict_engine_exception'], [201, undefined], [400, 'document_parsing_exception']]);
      assert.deepEqual(Object.keys(items.items[0]?.create ?? {}).sort(), ['error', 'status']);
      // Only errors asked for and there are none: the empty items are dropped, as Elasticsearch does.
      assert.deepEqual((await post('/_bulk?filter_path=errors,items.*.error', line('e'))).json, { errors: false });
      assert.deepEqual((await post('/_bulk?filter_path=**.status', line('f'))).json, { items: [{ create: { status: 201 } }] });
      assert.deepEqual((await post('/_bulk?filter_path=items.cr*te.st*us,took.nothing', line('f2'))).json, { items: [{ create: { status: 201 } }] });
      assert.deepEqual((await post('/logs-f-default/_count?filter_path=count', '', 'GET')).json, { count: 6 });
      // An error answer is not filtered; an exclusion filter is refused with a clear reason.
      const refused = await post('/_bulk?filter_path=errors', line('g').slice(0, -1));
      assert.equal(refused.status, 400);
      assert.match(JSON.stringify(refused.json), /terminated by a newline/);
      const exclusion = await post('/_bulk?filter_path=-took', line('h'));
      assert.equal(exclusion.status, 400);
      assert.match(JSON.stringify(exclusion.json), /does not implement exclusion filters/);
    } finally {
      await es.close();
    }
  });
});

describe('Elasticsearch stand-in keeping no sources (the benchmark receiver)', () => {
  it('still parses every document, answers 201 / 409 / 400 by _id and counts, but holds no sources', async () => {
    const es = await startEsStandin({ checkMappings: false, keepSources: false });
    const client = new Client({ node: es.url, maxRetries: 0 });
    try {
      await client.indices.putIndexTemplate({ name: 't', index_patterns: ['logs-t-*'], priority: 200, data_stream: {} });
      const ops = (ids: string[]) => ids.flatMap((id) => [{ create: { _index: 'logs-t-default', _id: id } }, { '@timestamp': '2025-01-01T00:00:00Z', m: `Grüße ${id}` }]);
      const first = await client.bulk({ operations: ops(['a', 'b']) });
      assert.deepEqual(first.items.map((i) => i.create?.status), [201, 201]);
      const again = await client.bulk({ operations: [...ops(['b', 'c']), { create: { _index: 'logs-t-default', _id: 'd' } }, '{"@timestamp": nope}'] });
      assert.deepEqual(again.items.map((i) => i.create?.status), [409, 201, 400]);
      assert.equal(again.items[2]?.create?.error?.type, 'document_parsing_exception');
      assert.equal((await client.count({ index: 'logs-t-default' })).count, 3);
      assert.deepEqual([...es.idCounts().keys()].sort(), ['a', 'b', 'c']);
      assert.throws(() => es.documents('logs-t-default'), /keeps no sources/);
    } finally {
      await client.close();
      await es.close();
    }
  });
});
