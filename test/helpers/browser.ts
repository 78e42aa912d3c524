// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for the dashboard's end-to-end
// tests. Every page's console errors, uncaught exceptions and unexpected HTTP errors are collected in
// `problems` (a CSP violation or a script error shows up there), and screenshots go to
// test-artifacts/screenshots/ as the tests' artefacts.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const SCREENSHOT_DIR = join('test-artifacts', 'screenshots');

/** Chromium's console line for an HTTP error answer; the response listener judges those by status and path. */
const HTTP_ERROR_LINE = /^Failed to load resource: the server responded with a status of \d+/;

interface AllowedHttpError {
  readonly status: number;
  readonly path: RegExp;
}

/**
 * Errors every page may see: the sign-in page asks GET /api/v1/session whether someone is signed in (401
 * when nobody is), and a refused password is a 401 of POST /api/v1/session.
 */
const ALWAYS_ALLOWED: readonly AllowedHttpError[] = [{ status: 401, path: /^\/api\/v1\/session$/ }];

export interface TestBrowser {
  readonly browser: Browser;
  /** A fresh context (own cookies) with a desktop viewport; its pages record problems in `problems`. */
  context(): Promise<BrowserContext>;
  /** Console errors, page errors and unexpected HTTP errors seen so far, as "[label] url: text". */
  readonly problems: string[];
  /** Prefix of later problems (the running test's name), so that each problem names its test. */
  label(text: string): void;
  /** An HTTP error this page provokes on purpose (a 403 page, a refused POST) is not a problem. */
  allowHttpError(page: Page, status: number, path: RegExp): void;
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 });
  const problems: string[] = [];
  const allowed = new WeakMap<Page, AllowedHttpError[]>();
  let label = '';
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const note = (page: Page, text: string): void => void problems.push(`[${label}] ${page.url()}: ${text}`);
  return {
    browser,
    problems,
    label: (text) => void (label = text),
    allowHttpError(page, status, path) {
      allowed.set(page, [...(allowed.get(page) ?? []), { status, path }]);
    },
    async context() {
      const ctx = await browser.newContext({
        viewport: { width: 1440, height: 900 },
        deviceScaleFactor: 1,
        locale: 'en-US',
        timezoneId: 'UTC',
        acceptDownloads: true,
      });
      ctx.on('page', (page) => {
        page.on('console', (msg) => {
          if (msg.type() === 'error' && !HTTP_ERROR_LINE.test(msg.text())) note(page, `console: ${msg.text()}`);
        });
        page.on('pageerror', (err) => note(page, `page error: ${err.message}`));
        page.on('response', (response) => {
          const status = response.status();
          if (status < 400) return;
          const path = new URL(response.url()).pathname;
          const ok = [...ALWAYS_ALLOWED, ...(allowed.get(page) ?? [])].some((a) => a.status === status && a.path.test(path));
          if (!ok) note(page, `HTTP ${status} for ${response.request().method()} ${path}`);
        });
      });
      return ctx;
    },
    async screenshot(page, name) {
      const file = join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    close: () => browser.close(),
  };
}

export interface ChartData {
  readonly labels: unknown[];
  readonly datasets: { label: string; data: (number | null)[] }[];
}

/** The data a chart.js chart draws, read from window.__twCharts (see dashboard/web/src/lib/charts.ts). */
export async function chartData(page: Page, testid: string): Promise<ChartData> {
  await page.waitForFunction((id) => {
    const chart = (globalThis as unknown as { __twCharts?: Record<string, { data: { datasets: unknown[] } }> }).__twCharts?.[id];
    return chart !== undefined && chart.data.datasets.length > 0;
  }, testid, { timeout: 15_000 });
  return page.evaluate((id) => {
    const chart = (globalThis as unknown as { __twCharts: Record<string, { data: { labels: unknown[]; datasets: { label: string; data: (number | null)[] }[] } }> }).__twCharts[id];
    if (!chart) throw new Error(`no chart ${id}`);
    return { labels: [...chart.data.labels], datasets: chart.data.datasets.map((d) => ({ label: d.label, data: [...d.data] })) };
  }, testid);
}

export interface PageResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
}

/**
 * fetch() from inside the page: same origin, same session cookie as the page itself. JSON bodies are
 * parsed; anything else comes back as text.
 */
export async function pageFetch<T = unknown>(page: Page, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<PageResponse<T>> {
  return page.evaluate(async ({ path, init }) => {
    const response = await fetch(path, { credentials: 'same-origin', ...init });
    const text = await response.text();
    const json = (response.headers.get('content-type') ?? '').includes('json') && text !== '';
    return { status: response.status, body: json ? JSON.parse(text) : text };
  }, { path, init }) as Promise<PageResponse<T>>;
}

/** Runs `click` and returns the file the browser downloads because of it. */
export async function downloadOf(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), click()]);
  const failure = await download.failure();
  if (failure) throw new Error(`download of ${download.url()} failed: ${failure}`);
  const file = await download.path();
  return { name: download.suggestedFilename(), text: readFileSync(file, 'utf8') };
}

/** RFC 4180 text (quoted fields, doubled quotes, CRLF or LF between records) as records of fields. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(cell);
      records.push(record);
      record = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || record.length > 0) records.push([...record, cell]);
  return records;
}

/** CSV records with a header row as objects keyed by the header's names. */
export function csvObjects(records: readonly string[][]): Record<string, string>[] {
  const [header, ...rows] = records;
  if (!header) return [];
  return rows.map((r) => Object.fromEntries(header.map((name, i) => [name, r[i] ?? ''])));
}
