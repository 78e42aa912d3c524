// Rewrites the generated part of docs/dashboard-api.md from the dashboard's OpenAPI document (run after
// `npm run build`). test/unit/dashboard-api-doc.test.ts fails when the page is out of date.
import { readFileSync, writeFileSync } from 'node:fs';

const { generatedApiReference, API_DOC_MARKERS } = await import('../dist/dashboard/api-doc.js');
const path = new URL('../docs/dashboard-api.md', import.meta.url);
const doc = readFileSync(path, 'utf8');
const [start, end] = API_DOC_MARKERS;
const i = doc.indexOf(start);
const j = doc.indexOf(end);
if (i === -1 || j === -1) throw new Error(`docs/dashboard-api.md lacks the ${start} ... ${end} markers`);
writeFileSync(path, doc.slice(0, i + start.length) + '\n' + (await generatedApiReference()) + doc.slice(j));
console.log('docs/dashboard-api.md: reference regenerated');
