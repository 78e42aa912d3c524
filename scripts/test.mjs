#!/usr/bin/env node
// `npm test [-- FILTER... | RUNNER_FLAG...]`: system packages, build, lint, then node's test runner over
// the compiled tests, unit first, then integration, then e2e, one file at a time.
//   npm test                                   everything
//   npm test -- test/unit/acl                  only test files whose path contains test/unit/acl
//   npm test -- --test-name-pattern=prefix     also --test-only, --test-timeout=MS, --test-shard=I/N
// Exits 1 when a test fails, and prints nothing after the runner's summary.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
process.chdir(ROOT);

const GROUP_ORDER = ['unit', 'integration', 'e2e'];

function step(title, cmd, args) {
  console.log(`\n==> ${title}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.error) {
    console.error(`test: cannot run ${cmd}: ${r.error.message}`);
    process.exit(1);
  }
  if (r.status !== 0) {
    console.error(`test: ${title} failed (exit ${r.status ?? r.signal}); tests not run`);
    process.exit(r.status || 1);
  }
}

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : [path];
  });
}

/** Posix path of the TypeScript source of a compiled test, e.g. test/unit/acl/x.test.ts. */
function sourceOf(distFile) {
  return relative('dist', distFile).split(sep).join('/').replace(/\.js$/, '.ts');
}

function group(source) {
  const index = GROUP_ORDER.indexOf(source.split('/')[1] ?? '');
  return index === -1 ? GROUP_ORDER.length : index;
}

/** "./dist/test/unit/acl.test.js" and "test/unit/acl.test.ts" both mean the same file. */
function normaliseFilter(filter) {
  return filter.replace(/^\.\//, '').replace(/^dist\//, '').replace(/\.(ts|js)$/, '');
}

function collectTests(filters) {
  const wanted = filters.map(normaliseFilter);
  return walk(join('dist', 'test'))
    .filter((file) => file.endsWith('.test.js'))
    // dist/ keeps the output of tests that were deleted or renamed since: run only those with a source.
    .filter((file) => existsSync(sourceOf(file)))
    .filter((file) => wanted.length === 0 || wanted.some((w) => sourceOf(file).replace(/\.ts$/, '').includes(w)))
    .sort((a, b) => group(sourceOf(a)) - group(sourceOf(b)) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Maps the runner flags we pass through onto run() options; anything else is a usage error. */
function runnerOptions(flags) {
  const options = { testNamePatterns: [] };
  for (const flag of flags) {
    const [name, value] = flag.split(/=(.*)/s);
    if (name === '--test-name-pattern' && value) options.testNamePatterns.push(value);
    else if (name === '--test-only' && value === undefined) options.only = true;
    else if (name === '--test-timeout' && /^\d+$/.test(value ?? '')) options.timeout = Number(value);
    else if (name === '--test-shard' && /^\d+\/\d+$/.test(value ?? '')) {
      const [index, total] = value.split('/').map(Number);
      options.shard = { index, total };
    } else {
      console.error(`test: unsupported option ${flag}; use --test-name-pattern=RE, --test-only, --test-timeout=MS or --test-shard=I/N`);
      process.exit(2);
    }
  }
  if (options.testNamePatterns.length === 0) delete options.testNamePatterns;
  return options;
}

const extra = process.argv.slice(2);
const filters = extra.filter((a) => !a.startsWith('-'));
const options = runnerOptions(extra.filter((a) => a.startsWith('-')));

step('system packages', process.execPath, [join('scripts', 'system-deps.mjs')]);
step('build', 'npx', ['tsc', '-p', 'tsconfig.json']);
step('build (dashboard pages)', 'npx', ['tsc', '-p', join('dashboard', 'web', 'tsconfig.json')]);
step('lint', 'npx', ['eslint', '.']);

const files = collectTests(filters);
if (files.length === 0) {
  console.error(filters.length > 0 ? `test: no test file matches ${filters.join(', ')}` : 'test: no test files under dist/test');
  process.exit(1);
}
console.log(`\n==> tests: ${files.length} file(s)`);

// Node 20's `node --test` sorts the files it is given alphabetically (integration before unit), so the
// runner is driven through run(), which keeps our order, with the spec reporter the CLI would use.
const { run } = await import('node:test');
const { spec } = await import('node:test/reporters');
const stream = run({
  ...options,
  files,
  // One file at a time: system tests start real servers and must not compete for 2 cores or for ports.
  concurrency: 1,
  // No forceExit: on Node 20 it can end a file's process before the runner has read all its results,
  // and the tests not yet reported then vanish from the summary (seen: 13 tests of one file). A test
  // that hangs fails at this timeout instead of hanging the run.
  timeout: 10 * 60_000,
});
stream.on('test:fail', (event) => {
  if (!event.todo) process.exitCode = 1;
});
stream.compose(new spec()).pipe(process.stdout);
