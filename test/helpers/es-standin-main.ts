// The Elasticsearch wire stand-in (es-standin.ts; NOT Elasticsearch) as a process of its own, for a
// benchmark or a test whose collector must not share an event loop with it:
//   node dist/test/helpers/es-standin-main.js [--port N] [--no-mapping-check] [--no-sources] [--user NAME:PASSWORD]... [--api-key ID:KEY]...
// It prints one JSON line {"msg":"es stand-in listening","url":...} once ready, and stops on SIGTERM.
// Its fault controls are in-process only; from outside, count documents with GET <index>/_count.
import { parseArgs } from 'node:util';
import { startEsStandin } from './es-standin.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'no-mapping-check': { type: 'boolean' },
    'no-sources': { type: 'boolean' },
    user: { type: 'string', multiple: true },
    'api-key': { type: 'string', multiple: true },
  },
});
const pairs = (list: string[] | undefined): Record<string, string> =>
  Object.fromEntries((list ?? []).map((p) => [p.slice(0, p.indexOf(':')), p.slice(p.indexOf(':') + 1)]));
const users = pairs(values.user);
const apiKeys = pairs(values['api-key']);
const secured = Object.keys(users).length + Object.keys(apiKeys).length > 0;

const es = await startEsStandin({
  ...(values.port ? { port: Number(values.port) } : {}),
  checkMappings: !values['no-mapping-check'],
  keepSources: !values['no-sources'],
  ...(secured ? { auth: { users, apiKeys } } : {}),
});
process.stdout.write(`${JSON.stringify({ msg: 'es stand-in listening', url: es.url, pid: process.pid })}\n`);
process.once('SIGTERM', () => void es.close().then(() => process.exit(0)));
