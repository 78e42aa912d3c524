// The HTML pages: each is a small shell (navigation, a heading, an empty main) that its script fills from
// /api/v1. The shell is sent only to a signed-in user whose role may see the page; everyone else is sent
// to /login (or gets a 403 page), so no page structure leaks. Data is checked again by every API route.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { DashboardContext } from './context.js';
import { roleAllows, type Principal, type Role } from './roles.js';

export interface PageSpec {
  readonly path: string;
  readonly title: string;
  /** Module under /assets/js/pages/ */
  readonly script: string;
  readonly role: Role;
  /** Shown in the navigation bar (pages reached by a link, like a trace, are not). */
  readonly nav: boolean;
}

export const PAGES: readonly PageSpec[] = [
  { path: '/', title: 'Overview', script: 'overview', role: 'viewer', nav: true },
  { path: '/findings', title: 'Findings', script: 'findings', role: 'analyst', nav: true },
  { path: '/subaccounts', title: 'Subaccounts', script: 'subaccounts', role: 'viewer', nav: true },
  { path: '/subaccounts/:name', title: 'Subaccount', script: 'subaccount', role: 'viewer', nav: false },
  { path: '/calls', title: 'Calls', script: 'calls', role: 'analyst', nav: true },
  { path: '/traces/:traceId', title: 'Trace', script: 'trace', role: 'analyst', nav: false },
  { path: '/backends', title: 'Backends', script: 'backends', role: 'viewer', nav: true },
  { path: '/rules', title: 'Access rules', script: 'rules', role: 'viewer', nav: true },
  { path: '/integrity', title: 'Audit integrity', script: 'integrity', role: 'viewer', nav: true },
  { path: '/exporters', title: 'Exporters', script: 'exporters', role: 'analyst', nav: true },
  { path: '/admin', title: 'Administration', script: 'admin', role: 'admin', nav: true },
];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function nav(principal: Principal, current: string): string {
  const links = PAGES.filter((p) => p.nav && roleAllows(principal.role, p.role))
    .map((p) => `<a href="${p.path}"${p.path === current ? ' aria-current="page"' : ''}>${escapeHtml(p.title)}</a>`)
    .join('');
  return `<header class="top"><a class="brand" href="/">Tunnelwatch</a><nav>${links}</nav>`
    + `<div class="who"><span data-testid="who">${escapeHtml(principal.name)} · ${principal.role}</span>`
    + '<button id="sign-out" type="button">Sign out</button></div></header>';
}

/** The page document; `body` is trusted markup, everything from the user is escaped by the caller. */
export function pageHtml(title: string, script: string, header: string, body: string, heading = true): string {
  return '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    + '<meta name="viewport" content="width=device-width, initial-scale=1">'
    + `<title>${escapeHtml(title)} · Tunnelwatch</title>`
    + '<link rel="stylesheet" href="/assets/app.css">'
    + '<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">'
    + `<script type="module" src="/assets/js/pages/${script}.js"></script>`
    + `</head><body>${header}<main id="app" data-page="${script}">${heading ? `<h1>${escapeHtml(title)}</h1>` : ''}${body}</main></body></html>`;
}

function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(html);
}

export async function pageRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  app.get('/login', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
    sendPage(reply, 200, pageHtml('Sign in', 'login', '', '<div id="login"></div>', false)));

  for (const page of PAGES) {
    app.get(page.path, { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
      const principal = await ctx.auth.identify(request);
      if (!principal) {
        const next = encodeURIComponent(request.url);
        return reply.redirect(`/login?next=${next}`, 303);
      }
      if (!roleAllows(principal.role, page.role)) {
        return sendPage(reply, 403, pageHtml('Not allowed', 'forbidden', nav(principal, ''),
          `<p class="notice">${escapeHtml(page.title)} needs the ${page.role} role; you are signed in as ${escapeHtml(principal.name)} (${principal.role}).</p>`));
      }
      return sendPage(reply, 200, pageHtml(page.title, page.script, nav(principal, page.path), '<div id="content" aria-busy="true"></div>'));
    });
  }
}
