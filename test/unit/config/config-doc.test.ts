import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CONFIG_DOC_MARKERS, generatedConfigReference } from '../../../common/config/config-doc.js';

test('docs/configuration.md holds the reference generated from the current schemas', () => {
  const doc = readFileSync(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8');
  const [start, end] = CONFIG_DOC_MARKERS;
  const section = doc.slice(doc.indexOf(start) + start.length, doc.indexOf(end));
  assert.equal(section.trim(), generatedConfigReference().trim(), 'run `npm run build && node scripts/config-doc.mjs` and commit docs/configuration.md');
});

test('every key of the schemas is described', () => {
  for (const line of generatedConfigReference().split('\n').filter((l) => l.startsWith('| `'))) {
    const meaning = line.split(' | ').at(-1)?.replace(/ \|$/, '').trim();
    assert.ok(meaning, `no description for ${line.split(' | ')[0]}`);
  }
});
