/** Headless Debian chromium through playwright-core, with the flags this machine needs. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { CHROMIUM_PATH } from './peers.ts';

export const CHROMIUM_BASE_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(extraArgs: string[] = []): Promise<Chromium> {
  const { chromium } = await import('playwright-core');
  const profileDir = mkdtempSync(path.join(os.tmpdir(), 'bench-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_BASE_ARGS, ...extraArgs],
    viewport: { width: 1360, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

/**
 * Opens a report.html, collecting console errors and uncaught page errors, and waits until every
 * chart container says it rendered (or failed to).
 */
export async function openReport(context: BrowserContext, reportPath: string): Promise<{ page: import('playwright-core').Page; errors: string[] }> {
  const { pathToFileURL } = await import('node:url');
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pathToFileURL(reportPath).href);
  // A string: the test files compile without the DOM library.
  await page.waitForFunction(
    `[...document.querySelectorAll('[data-chart]')].every((el) => el.getAttribute('data-rendered') !== null)`,
    null,
    { timeout: 30_000 },
  );
  return { page, errors };
}
