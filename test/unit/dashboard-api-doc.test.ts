import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { API_DOC_MARKERS, generatedApiReference, openApiDocument } from '../../dashboard/api-doc.js';

test('docs/dashboard-api.md holds the reference generated from the routes', async () => {
  const doc = readFileSync(new URL('../../../docs/dashboard-api.md', import.meta.url), 'utf8');
  const [start, end] = API_DOC_MARKERS;
  const section = doc.slice(doc.indexOf(start) + start.length, doc.indexOf(end));
  assert.equal(section.trim(), (await generatedApiReference()).trim(), 'run `npm run build && node scripts/api-doc.mjs` and commit docs/dashboard-api.md');
});

test('every /api/v1 operation names the role it needs and describes its responses', async () => {
  const doc = await openApiDocument();
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  assert.ok(operations.length > 0);
  for (const { path, method, op } of operations) {
    assert.ok(['public', 'viewer', 'analyst', 'admin'].includes(op['x-required-role'] ?? ''), `${method} ${path} has no x-required-role`);
    assert.ok(op.responses && Object.keys(op.responses).some((s) => s.startsWith('2')), `${method} ${path} documents no success response`);
    assert.ok(op.tags && op.tags.length > 0, `${method} ${path} has no tag`);
  }
});
