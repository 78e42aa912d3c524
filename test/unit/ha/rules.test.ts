// Rules pulled from the master (connector/ha/rules.ts): validated and compiled as a whole before they are
// used, hashed independently of key order, and kept in a cache file only the owner can read.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkRules, loadRulesCache, rulesHash, saveRulesCache } from '../../../connector/ha/rules.js';

const mapping = (resources: unknown[]) => ({ virtual: 'erp.virtual:8000', internal: '10.0.0.5:8080', protocol: 'http', resources });

test('valid rules get the schema defaults and compile; the hash does not depend on key order', () => {
  const a = checkRules({ acme: { mappings: [mapping([{ path: '/api' }])] } }, 'test');
  assert.ok(a.ok);
  assert.deepEqual(a.rules.acme?.mappings[0]?.resources[0], { path: '/api', match: 'prefix', methods: ['GET', 'HEAD'], active: true, websocket: false });
  assert.deepEqual(a.rules.acme?.trusted_apps, []);
  const b = checkRules({ acme: { trusted_apps: [], mappings: [{ resources: [{ websocket: false, active: true, methods: ['GET', 'HEAD'], match: 'prefix', path: '/api' }], protocol: 'http', internal: '10.0.0.5:8080', virtual: 'erp.virtual:8000', host_header: 'virtual' }] } }, 'test');
  assert.ok(b.ok);
  assert.equal(a.hash, b.hash);
  assert.match(a.hash, /^sha256:[0-9a-f]{64}$/);
  const c = checkRules({ acme: { mappings: [mapping([{ path: '/api', methods: ['GET'] }])] } }, 'test');
  assert.ok(c.ok);
  assert.notEqual(c.hash, a.hash);
});

test('invalid rules are refused with the reason: schema errors and rules that do not compile', () => {
  const schema = checkRules({ acme: { mappings: [{ ...mapping([]), protocol: 'ftp' }] } }, 'master rules');
  assert.equal(schema.ok, false);
  assert.match(schema.ok ? '' : schema.reason, /subaccounts\.acme\.mappings\.0\.protocol|protocol/);
  const unknownKey = checkRules({ acme: { mappings: [], extra: 1 } }, 'master rules');
  assert.equal(unknownKey.ok, false);
  const notNormalised = checkRules({ acme: { mappings: [mapping([{ path: '/api/../admin' }])] } }, 'master rules');
  assert.equal(notNormalised.ok, false);
  assert.match(notNormalised.ok ? '' : notNormalised.reason, /not normalised|not a valid path/);
  const twice = checkRules({ acme: { mappings: [mapping([]), mapping([])] } }, 'master rules');
  assert.equal(twice.ok, false);
  assert.match(twice.ok ? '' : twice.reason, /mapped twice/);
  assert.equal(checkRules('not an object', 'x').ok, false);
});

test('TUNNELWATCH_* environment overrides do not apply to rules that came over the wire', () => {
  process.env.TUNNELWATCH_SUBACCOUNTS = '{}';
  try {
    const r = checkRules({ acme: { mappings: [mapping([{ path: '/api' }])] } }, 'test');
    assert.ok(r.ok);
    assert.deepEqual(Object.keys(r.rules), ['acme']);
  } finally {
    delete process.env.TUNNELWATCH_SUBACCOUNTS;
  }
});

test('the rules cache round-trips, is readable by the owner only, and a damaged cache is reported, not used', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tw-ha-rules-'));
  const path = join(dir, 'ha-rules.json');
  assert.equal(loadRulesCache(path), undefined, 'no cache yet');
  const r = checkRules({ acme: { mappings: [mapping([{ path: '/api' }])] } }, 'test');
  assert.ok(r.ok);
  await saveRulesCache(path, r.rules, r.hash, 'conn-a');
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const loaded = loadRulesCache(path);
  assert.ok(loaded?.check.ok);
  assert.equal(loaded.check.hash, rulesHash(r.rules));
  assert.equal(JSON.parse(await readFile(path, 'utf8')).master_id, 'conn-a');

  await writeFile(path, '{"schema":"tunnelwatch.ha-rules/1","subaccounts":{"acme":{"mappings":[{"virtual":"x"}]}}}');
  assert.equal(loadRulesCache(path)?.check.ok, false);
  await writeFile(path, 'garbage');
  assert.equal(loadRulesCache(path)?.check.ok, false);
});
