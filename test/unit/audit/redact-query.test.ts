// Redaction of secret query parameters before a query reaches an audit event.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redactQuery } from '../../../common/audit/redact-query.js';

const SECRETS = ['password', 'token', 'access_token', 'api_key', 'code'] as const;

describe('redactQuery', () => {
  const cases: readonly (readonly [string, string, string])[] = [
    ['redacts the value of a secret parameter', 'user=bob&password=hunter2', 'user=bob&password=REDACTED'],
    ['redacts a secret parameter at the start', 'token=abc&x=1', 'token=REDACTED&x=1'],
    ['redacts every occurrence of a repeated parameter', 'token=a&token=b', 'token=REDACTED&token=REDACTED'],
    ['matches the name case-insensitively', 'PassWord=x&TOKEN=y', 'PassWord=REDACTED&TOKEN=REDACTED'],
    ['matches a percent-encoded name', 'pass%77ord=x&%74oken=y', 'pass%77ord=REDACTED&%74oken=REDACTED'],
    ['matches a percent-encoded name with upper-case hex', 'API%5FKEY=k', 'API%5FKEY=REDACTED'],
    ['keeps a value that contains "="', 'token=a=b=c&x=1', 'token=REDACTED&x=1'],
    ['redacts a value that holds percent-escapes and "+"', 'password=p%40ss+word', 'password=REDACTED'],
    ['treats ";" as a separator too, so servers that split on it leak nothing', 'q=a;token=x', 'q=a;token=REDACTED'],
    ['redacts PHP and Rails array and nested names', 'password[]=a&user[password]=b&x[token][0]=c', 'password[]=REDACTED&user[password]=REDACTED&x[token][0]=REDACTED'],
    ['redacts dotted names that Spring binds to a secret property', 'user.password=x', 'user.password=REDACTED'],
    ['leaves other parameters byte-for-byte unchanged', 'a=%2F%2f&b=+x+&c=%zz&d', 'a=%2F%2f&b=+x+&c=%zz&d'],
    ['leaves a name that only contains a secret name', 'mytoken=1&passwords=2&tokens=3', 'mytoken=1&passwords=2&tokens=3'],
    ['leaves a secret name without a value', 'token&x=1', 'token&x=1'],
    ['leaves an empty secret value empty', 'token=&x=1', 'token=&x=1'],
    ['keeps empty parameters and trailing separators', '&&token=a&&', '&&token=REDACTED&&'],
    ['does not match a value that looks like a secret name', 'x=token&y=password=1', 'x=token&y=password=1'],
    ['copes with a malformed escape in a name', 'tok%zzen=1&%74oken%=2&%74oken=3', 'tok%zzen=1&%74oken%=2&%74oken=REDACTED'],
    ['copes with a non-UTF-8 escape in a name', '%C0%74oken=1&%74oken=2', '%C0%74oken=1&%74oken=REDACTED'],
    ['does not decode names twice', '%2574oken=1', '%2574oken=1'],
    ['redacts an OAuth authorization code', 'code=xyz&state=abc', 'code=REDACTED&state=abc'],
    ['leaves raw non-ASCII and spaces elsewhere unchanged', 'q=caf\u00e9 au lait&token=t', 'q=caf\u00e9 au lait&token=REDACTED'],
  ];
  for (const [what, raw, expected] of cases) {
    it(`${what}: ${JSON.stringify(raw)}`, () => {
      assert.equal(redactQuery(raw, SECRETS), expected);
    });
  }

  it('returns an empty query unchanged', () => {
    assert.equal(redactQuery('', SECRETS), '');
  });

  it('returns the query unchanged when no secret names are configured', () => {
    assert.equal(redactQuery('token=a', []), 'token=a');
  });

  it('returns the very same string when nothing is secret', () => {
    const q = 'a=1&b=2';
    assert.equal(redactQuery(q, SECRETS), q);
  });

  it('matches configured names case-insensitively too', () => {
    assert.equal(redactQuery('sessionid=1', ['SessionID']), 'sessionid=REDACTED');
  });

  it('handles a hostile query of many parameters in linear time', () => {
    const q = `${'a&'.repeat(200_000)}token=x`;
    const started = process.hrtime.bigint();
    assert.equal(redactQuery(q, SECRETS).endsWith('token=REDACTED'), true);
    assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
  });
});
