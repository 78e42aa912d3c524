#!/usr/bin/env node
// Entry point of the `tunnelwatch` command: the compiled CLI lives in dist/ (built by `npm install`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('tunnelwatch: dist/ is missing. Run `npm install` (it builds), or `npm run build`.');
  process.exit(2);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));
