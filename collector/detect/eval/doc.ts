// docs/detection.md keeps one generated block per evaluation size between its own markers
// (`<!-- eval:detect:small:start -->` ... `<!-- eval:detect:small:end -->`); everything outside the markers
// is written by hand and left alone.
import { readFile, writeFile } from 'node:fs/promises';

export function markers(name: string): { start: string; end: string } {
  return { start: `<!-- eval:detect:${name}:start -->`, end: `<!-- eval:detect:${name}:end -->` };
}

/** The document with the block of `name` replaced by body (appended when it is not there yet). */
export function replaceSection(doc: string, name: string, body: string): string {
  const { start, end } = markers(name);
  const block = `${start}\n${body.trimEnd()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i !== -1 && j > i) return doc.slice(0, i) + block + doc.slice(j + end.length);
  if (i !== -1 || j !== -1) throw new Error(`docs/detection.md: the markers of section "${name}" are unbalanced; fix them by hand`);
  return `${doc.trimEnd()}\n\n${block}\n`;
}

export async function writeSection(path: string, name: string, body: string): Promise<void> {
  const doc = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '# Detection\n';
    throw err;
  });
  await writeFile(path, replaceSection(doc, name, body));
}
