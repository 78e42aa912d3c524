// docs/benchmarks.md holds one section per benchmark, each between its own markers, so every benchmark
// rewrites only its block: `<!-- bench:NAME:start -->` ... `<!-- bench:NAME:end -->`.
import { readFile, writeFile } from 'node:fs/promises';

const HEADER = `# Benchmarks

Written by \`npm run bench\` (each benchmark rewrites only its own section, between its markers; edit
outside the markers). Absolute figures drift between machines and runs: each section compares against a
baseline measured in the same run, and the targets are stated as ratios or bounds.
`;

export function markers(name: string): { start: string; end: string } {
  return { start: `<!-- bench:${name}:start -->`, end: `<!-- bench:${name}:end -->` };
}

/** The document with the block of `name` replaced by body (or appended when it is not there yet). */
export function replaceSection(doc: string, name: string, body: string): string {
  const { start, end } = markers(name);
  const block = `${start}\n${body.trimEnd()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i !== -1 && j > i) return doc.slice(0, i) + block + doc.slice(j + end.length);
  if (i !== -1 || j !== -1) throw new Error(`docs/benchmarks.md: the markers of section "${name}" are unbalanced; fix them by hand`);
  const base = doc.trim() === '' ? HEADER : doc.trimEnd() + '\n';
  return `${base}\n${block}\n`;
}

export async function writeSection(path: string, name: string, body: string): Promise<void> {
  const doc = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  await writeFile(path, replaceSection(doc, name, body));
}
