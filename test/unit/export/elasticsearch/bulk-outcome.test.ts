// How per-item answers and whole-call errors of Elasticsearch become the runner's outcome.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errors } from '@elastic/elasticsearch';
import { BulkTally, classifyCallError } from '../../../../collector/export/elasticsearch/bulk-outcome.js';

const parsing = { type: 'document_parsing_exception', reason: "[1:2] failed to parse field [source.ip] of type [ip] in document with id 'c'", caused_by: { type: 'illegal_argument_exception', reason: "'x' is not an IP string literal." } };

function responseError(statusCode: number, type: string, reason: string): errors.ResponseError {
  return new errors.ResponseError({
    body: { error: { type, reason }, status: statusCode }, statusCode, headers: {}, warnings: null,
    meta: { context: null, name: 'es', request: { params: { method: 'POST', path: '/_bulk' }, options: {}, id: 1 }, connection: null, attempts: 0, aborted: false },
  } as unknown as ConstructorParameters<typeof errors.ResponseError>[0]);
}

describe('BulkTally', () => {
  it('counts 201 and 409 as delivered, 429 and 5xx as pending, 400 as a dead letter with the ES reason', () => {
    const t = new BulkTally(['a', 'b', 'c', 'd', 'e']);
    t.drop('b', 409, { type: 'version_conflict_engine_exception', reason: '[b]: version conflict, document already exists (current version [1])' });
    t.drop('c', 400, parsing);
    t.drop('d', 429, null);
    t.drop('e', 503, { type: 'unavailable_shards_exception', reason: 'primary shard is not active' });
    t.allAnswered();
    const o = t.outcome();
    assert.equal(o.status, 'retryable');
    assert.ok(o.status === 'retryable');
    assert.deepEqual(o.pending, ['d', 'e']);
    assert.equal(o.dead?.length, 1);
    assert.equal(o.dead?.[0]?.id, 'c');
    assert.equal(o.dead?.[0]?.reason, "Elasticsearch 400 document_parsing_exception: [1:2] failed to parse field [source.ip] of type [ip] in document with id 'c' (caused by illegal_argument_exception: 'x' is not an IP string literal.)");
  });

  it('is a success with dead letters when nothing is pending', () => {
    const t = new BulkTally(['a', 'b']);
    t.drop('b', 400, parsing);
    t.allAnswered();
    const o = t.outcome();
    assert.equal(o.status, 'success');
    assert.deepEqual(o.status === 'success' ? o.dead?.map((d) => d.id) : [], ['b']);
  });

  it('fails the whole send on an item refused for configuration (403, 404, missing pipeline)', () => {
    for (const [status, error, code] of [
      [403, { type: 'security_exception', reason: 'action [indices:data/write/bulk[s]] is unauthorized for user [tw]' }, 'TW_ERR_ES_UNAUTHORISED'],
      [404, { type: 'index_not_found_exception', reason: 'the index creation request requires a data stream, but no matching index template with data stream template was found for it' }, 'TW_ERR_ES_NOT_SET_UP'],
      [400, { type: 'illegal_argument_exception', reason: 'pipeline with id [geoip-x] does not exist' }, 'TW_ERR_ES_NOT_SET_UP'],
    ] as const) {
      const t = new BulkTally(['a', 'b']);
      t.drop('b', status, error);
      t.allAnswered();
      const o = t.outcome();
      assert.equal(o.status, 'failure');
      assert.match((o as { reason: string }).reason, new RegExp(`^${code}: `));
      assert.ok(!('dead' in o), 'a configuration problem dead-letters nothing');
    }
  });

  it('leaves every record without an answer pending when the call breaks, with the connection error as reason', () => {
    const t = new BulkTally(['a', 'b', 'c']);
    t.drop('a', 409, { type: 'version_conflict_engine_exception', reason: 'document already exists' });
    const o = t.outcome(new errors.ConnectionError('other side closed'));
    assert.equal(o.status, 'retryable');
    assert.deepEqual(o.status === 'retryable' ? o.pending : [], ['b', 'c']);
    assert.match((o as { reason: string }).reason, /^TW_ERR_ES_UNREACHABLE: .*other side closed/);
  });
});

describe('classifyCallError', () => {
  it('fails on 401/403 and other 4xx, retries 429 and 5xx', () => {
    assert.deepEqual(
      [401, 403, 400, 413, 429, 500, 503].map((s) => [s, classifyCallError(responseError(s, 'x_exception', 'why')).status, classifyCallError(responseError(s, 'x', 'y')).code]),
      [
        [401, 'failure', 'TW_ERR_ES_UNAUTHORISED'], [403, 'failure', 'TW_ERR_ES_UNAUTHORISED'], [400, 'failure', 'TW_ERR_ES_REJECTED'],
        [413, 'failure', 'TW_ERR_ES_REJECTED'], [429, 'retryable', 'TW_ERR_ES_UNREACHABLE'], [500, 'retryable', 'TW_ERR_ES_UNREACHABLE'],
        [503, 'retryable', 'TW_ERR_ES_UNREACHABLE'],
      ],
    );
    assert.match(classifyCallError(responseError(401, 'security_exception', 'unable to authenticate user [tw]')).detail, /401 security_exception: unable to authenticate user \[tw\]/);
  });

  it('fails on a certificate that does not verify and on a server that is not Elasticsearch', () => {
    const tls = new errors.ConnectionError('self-signed certificate in certificate chain');
    assert.deepEqual([classifyCallError(tls).status, classifyCallError(tls).code], ['failure', 'TW_ERR_ES_TLS']);
    const product = new errors.ProductNotSupportedError('Elasticsearch', { body: null, statusCode: 200, headers: {}, warnings: null, meta: {} } as never);
    assert.equal(classifyCallError(product).code, 'TW_ERR_ES_NOT_ELASTICSEARCH');
    assert.equal(classifyCallError(new errors.TimeoutError('Request timed out')).status, 'retryable');
  });
});
