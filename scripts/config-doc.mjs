// Rewrites the generated reference in docs/configuration.md from the config schemas (run after `npm run build`).
import { readFileSync, writeFileSync } from 'node:fs';

const { generatedConfigReference, CONFIG_DOC_MARKERS } = await import('../dist/common/config/config-doc.js');
const path = new URL('../docs/configuration.md', import.meta.url);
const doc = readFileSync(path, 'utf8');
const [start, end] = CONFIG_DOC_MARKERS;
const i = doc.indexOf(start);
const j = doc.indexOf(end);
if (i === -1 || j === -1) throw new Error(`docs/configuration.md lacks the ${start} ... ${end} markers`);
writeFileSync(path, doc.slice(0, i + start.length) + '\n' + generatedConfigReference() + doc.slice(j));
console.log('docs/configuration.md: reference regenerated');
