/**
 * A report with the handshake, multiplex, page and migration sections opened from disk in Debian's chromium:
 * every chart drawn with its marks, no console errors, nothing fetched, exact values on hover.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { writeReport } from '../../src/report/write.ts';
import { type Chromium, launchChromium } from '../support/browser.ts';
import { CHROMIUM_PATH, peerMissing } from '../support/peers.ts';
import { workloadsFixture } from './workloads-fixture.ts';

const skip = peerMissing(CHROMIUM_PATH !== undefined, 'chromium (apt-get install -y chromium)');
const SCREENSHOT_DIR = path.join(os.tmpdir(), 'bench-report-workloads');

describe.skipIf(skip)('workload sections in headless chromium', () => {
  let browser: Chromium;
  let page: Page;
  const errors: string[] = [];
  const external: string[] = [];

  beforeAll(async () => {
    const { result, raw } = await workloadsFixture();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-workloads-'));
    writeFileSync(path.join(dir, 'result.json'), JSON.stringify(result));
    writeFileSync(path.join(dir, 'raw.jsonl'), raw.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const { reportPath, bytes } = await writeReport(dir);
    console.log(`report.html with handshake, multiplex and page sections: ${bytes} bytes`);
    browser = await launchChromium();
    await browser.context.route(/^(?!file:|data:|blob:)/, (route) => {
      external.push(route.request().url());
      return route.abort();
    });
    page = await browser.context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(reportPath).href);
    await page.waitForFunction(
      `[...document.querySelectorAll('[data-chart]')].every((el) => el.getAttribute('data-rendered') !== null)`,
      null,
      { timeout: 60_000 },
    );
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const sections = page.locator('.workload-analysis');
    const count = await sections.count();
    for (let i = 0; i < count; i++) await sections.nth(i).screenshot({ path: path.join(SCREENSHOT_DIR, `section-${i}.png`) });
    console.log(`screenshots of ${count} workload sections: ${SCREENSHOT_DIR}/section-*.png`);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('draws every chart of the report with no console error and no network request', async () => {
    const states = await page.$$eval('[data-chart]', (els) => els.map((el) => el.getAttribute('data-rendered')));
    expect(states.length).toBeGreaterThan(20);
    expect(states.filter((s) => s !== 'true')).toEqual([]);
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
  });

  it('draws the marks of each workload chart', async () => {
    const marks = await page.$$eval('.workload-analysis figure.chart', (figures) =>
      figures.map((f) => ({
        title: f.querySelector('.chart-title')?.textContent ?? '',
        symbols: f.querySelectorAll('.mark-symbol path').length,
        rects: f.querySelectorAll('.mark-rect path').length,
        rules: f.querySelectorAll('.mark-rule line').length,
        lines: f.querySelectorAll('.mark-line path').length,
        width: f.querySelector('svg')?.getBoundingClientRect().width ?? 0,
      })),
    );
    const find = (re: RegExp) => marks.filter((m) => re.test(m.title));
    // Handshake: one dot per phase of every protocol and mode, on two networks.
    for (const m of find(/^When each phase/)) expect(m.symbols).toBeGreaterThanOrEqual(7 * 5);
    expect(find(/^When each phase/)).toHaveLength(2);
    // Waterfalls: a bar per request and a rule per drop, one per protocol.
    const waterfalls = find(/: repetition \d+, round \d+ of \d+$/);
    expect(waterfalls).toHaveLength(3);
    for (const m of waterfalls) {
      expect(m.rects).toBeGreaterThanOrEqual(60);
      expect(m.rules).toBeGreaterThan(0);
    }
    expect(find(/Stall time|Excess latency|Page load time CDF/)).toHaveLength(3);
    for (const m of find(/Stall time|Excess latency|Page load time CDF/)) expect(m.lines).toBeGreaterThanOrEqual(3);
    expect(find(/Streams stalled per loss event/)).toHaveLength(1);
    for (const m of find(/Streams stalled per loss event/)) expect(m.symbols).toBeGreaterThan(10);
    // Migration: a line per protocol through the move, and the rule marking it, per mode.
    const goodput = find(/^Goodput over time/);
    expect(goodput).toHaveLength(2);
    for (const m of goodput) {
      expect(m.lines).toBeGreaterThanOrEqual(3);
      expect(m.rules).toBeGreaterThanOrEqual(1);
    }
    for (const m of marks) expect(m.width, m.title).toBeGreaterThan(250);
  });

  it('shows exact values of a waterfall bar on hover', async () => {
    const bar = page.locator('.multiplex-analysis figure.chart').filter({ hasText: 'HTTP/2: repetition' }).locator('.mark-rect path').nth(10);
    await bar.scrollIntoViewIfNeeded();
    const box = await bar.boundingBox();
    expect(box).not.toBeNull();
    await page.mouse.move(box!.x + box!.width / 2, box!.y + box!.height / 2);
    const tooltip = page.locator('#vg-tooltip-element');
    await expect.poll(async () => (await tooltip.isVisible()) && (await tooltip.innerText())).toMatch(/sent at \(ms\)[\s\S]*latency \(ms\)[\s\S]*connection/);
  });

  it('shows n/a for 0-RTT over TCP in the rendered handshake table', async () => {
    const cells = await page.locator('table.handshake tr[data-mode="0rtt"] td.na').allInnerTexts();
    expect(cells.length).toBe(4);
    for (const text of cells) expect(text).toMatch(/^n\/a: .*early data/);
  });
});
