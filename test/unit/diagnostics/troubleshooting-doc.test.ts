// docs/troubleshooting.md carries the classification catalogue word for word: the tables between its
// markers must equal what classifications.ts says. On a mismatch the assertion prints the block to paste.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CLASSIFICATIONS, DOCTOR_CLASSIFICATIONS, RELAY_FIXES, type ClassificationInfo } from '../../../connector/diagnostics/classifications.js';

const doc = readFileSync(new URL('../../../../docs/troubleshooting.md', import.meta.url), 'utf8');

function block(name: string): string {
  const start = `<!-- ${name}:start -->\n`;
  const end = `\n<!-- ${name}:end -->`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  assert.ok(i >= 0 && j > i, `docs/troubleshooting.md lacks the ${name} markers`);
  return doc.slice(i + start.length, j);
}

function catalogueTable(entries: [string, ClassificationInfo][]): string {
  return ['| classification | meaning | fix |', '| --- | --- | --- |', ...entries.map(([id, i]) => `| \`${id}\` | **${i.title}.** ${i.cause} | ${i.fix} |`)].join('\n');
}

test('the backend table lists every classification with its title, cause and fix', () => {
  const expected = catalogueTable(Object.entries(CLASSIFICATIONS).filter(([id]) => id !== 'ok'));
  assert.equal(block('classifications'), expected, `replace the classifications block with:\n${expected}`);
});

test('the doctor tables list its own classifications and the relay-side fixes', () => {
  const own = catalogueTable(Object.entries(DOCTOR_CLASSIFICATIONS));
  assert.equal(block('doctor-classifications'), own, `replace the doctor-classifications block with:\n${own}`);
  const fixes = ['| classification | fix when doctor reports it |', '| --- | --- |', ...Object.entries(RELAY_FIXES).map(([id, fix]) => `| \`${id}\` | ${fix} |`)].join('\n');
  assert.equal(block('doctor-fixes'), fixes, `replace the doctor-fixes block with:\n${fixes}`);
});

test('every id appears in the doc, so a search for an id from a report or a SIEM alert finds it', () => {
  for (const id of [...Object.keys(CLASSIFICATIONS).filter((x) => x !== 'ok'), ...Object.keys(DOCTOR_CLASSIFICATIONS)]) {
    assert.ok(doc.includes(`| \`${id}\` |`), `${id} is not in docs/troubleshooting.md`);
  }
});
