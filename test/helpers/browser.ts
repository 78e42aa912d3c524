// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for the dashboard's end-to-end
// tests. Every page's console errors and uncaught exceptions are collected (a CSP violation or a script
// error shows up there), and screenshots go to test-artifacts/screenshots/ as the tests' artefacts.
import { mkdirSync } from 'node:fs';
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

export interface TestBrowser {
  readonly browser: Browser;
  /** A fresh context (own cookies) with a desktop viewport; its pages record problems in `problems`. */
  context(): Promise<BrowserContext>;
  /** Console errors and page errors seen so far, as "url: text". */
  readonly problems: string[];
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 });
  const problems: string[] = [];
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return {
    browser,
    problems,
    async context() {
      const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1, locale: 'en-US', timezoneId: 'UTC' });
      ctx.on('page', (page) => {
        page.on('console', (msg) => {
          if (msg.type() === 'error') problems.push(`${page.url()}: ${msg.text()}`);
        });
        page.on('pageerror', (err) => problems.push(`${page.url()}: ${err.message}`));
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

/** The data a chart.js chart draws, read from window.__twCharts (see dashboard/web/src/lib/charts.ts). */
export async function chartData(page: Page, testid: string): Promise<{ labels: unknown[]; datasets: { label: string; data: number[] }[] }> {
  await page.waitForFunction((id) => {
    const chart = (globalThis as unknown as { __twCharts?: Record<string, { data: { datasets: unknown[] } }> }).__twCharts?.[id];
    return chart !== undefined && chart.data.datasets.length > 0;
  }, testid, { timeout: 15_000 });
  return page.evaluate((id) => {
    const chart = (globalThis as unknown as { __twCharts: Record<string, { data: { labels: unknown[]; datasets: { label: string; data: number[] }[] } }> }).__twCharts[id];
    if (!chart) throw new Error(`no chart ${id}`);
    return { labels: [...chart.data.labels], datasets: chart.data.datasets.map((d) => ({ label: d.label, data: [...d.data] })) };
  }, testid);
}
