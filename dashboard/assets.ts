// Static assets, all served from this process so the dashboard works offline: the stylesheet, the
// compiled page scripts (dashboard/web -> dist/dashboard/web) and chart.js's UMD build. The set of files
// is read once at start-up into a table; a request can only name an entry of it (no path from the URL
// ever reaches the file system).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { TunnelwatchError } from '../common/errors.js';

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};

/** The repository (or installed package) root: this file is dist/dashboard/assets.js. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

function asset(file: string): Asset | undefined {
  const type = TYPES[extname(file)];
  if (!type) return undefined;
  const body = readFileSync(file);
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** URL path (under /assets/) -> file. */
export function loadAssets(): Map<string, Asset> {
  const table = new Map<string, Asset>();
  const add = (urlPath: string, file: string): void => {
    const a = asset(file);
    if (a) table.set(urlPath, a);
  };
  const staticDir = join(PACKAGE_ROOT, 'dashboard', 'web', 'static');
  for (const file of walk(staticDir)) add(relative(staticDir, file).split(sep).join('/'), file);
  const scriptDir = join(PACKAGE_ROOT, 'dist', 'dashboard', 'web');
  for (const file of walk(scriptDir)) if (file.endsWith('.js')) add(`js/${relative(scriptDir, file).split(sep).join('/')}`, file);
  // chart.js does not export its dist folder; find it from its main entry (dist/chart.cjs).
  const chartDist = dirname(createRequire(import.meta.url).resolve('chart.js'));
  add('vendor/chart.umd.min.js', join(chartDist, 'chart.umd.min.js'));
  return table;
}

export async function assetRoutes(app: FastifyInstance): Promise<void> {
  const assets = loadAssets();
  if (!assets.has('js/pages/overview.js')) throw new Error(`dashboard scripts are missing under ${join(PACKAGE_ROOT, 'dist', 'dashboard', 'web')}: run npm run build`);
  app.get<{ Params: { '*': string } }>('/assets/*', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const found = assets.get(request.params['*']);
    if (!found) throw new TunnelwatchError('TW_ERR_DASH_NOT_FOUND', `no asset ${request.params['*']}`);
    reply.header('etag', found.etag).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === found.etag) return reply.code(304).send();
    return reply.type(found.type).send(found.body);
  });
}
