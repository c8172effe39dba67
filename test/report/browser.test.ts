/**
 * report.html opened from disk in Debian's chromium (playwright-core): charts drawn, no console
 * errors, no network requests, and the headline table showing the numbers of result.json.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { writeReport } from '../../src/report/write.ts';
import type { RunResult } from '../../src/results/model.ts';
import { launchChromium, openReport, type Chromium } from '../support/browser.ts';
import { CHROMIUM_PATH, peerMissing } from '../support/peers.ts';
import { fixtureResult, fixtureRun } from './fixture.ts';

const skip = peerMissing(CHROMIUM_PATH !== undefined, 'chromium (apt-get install -y chromium)');
const SCREENSHOT = path.join(os.tmpdir(), 'bench-report-test.png');

describe.skipIf(skip)('report.html in headless chromium', () => {
  let context: BrowserContext;
  let page: Page;
  let result: RunResult;
  let consoleErrors: string[] = [];
  const externalRequests: string[] = [];
  let browser: Chromium;

  beforeAll(async () => {
    result = fixtureResult({ repetitions: 3, description: 'Small objects; a </script> in the description must stay text.' });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-browser-'));
    writeFileSync(path.join(dir, 'result.json'), JSON.stringify(result));
    const { reportPath } = await writeReport(dir);
    browser = await launchChromium();
    context = browser.context;
    // Anything but the file itself is a self-containment failure: record it and refuse it.
    await context.route(/^(?!file:|data:|blob:)/, (route) => {
      externalRequests.push(route.request().url());
      return route.abort();
    });
    ({ page, errors: consoleErrors } = await openReport(context, reportPath));
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`report screenshot: ${SCREENSHOT}`);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('draws every chart as a non-empty SVG with its marks', async () => {
    const charts = await page.$$eval('[data-chart]', (els) =>
      els.map((el) => {
        const svg = el.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          rendered: el.getAttribute('data-rendered'),
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          marks: el.querySelectorAll('.mark-line path, .mark-symbol path, .mark-tick rect').length,
        };
      }),
    );
    expect(charts).toHaveLength(5);
    for (const c of charts) {
      expect(c.rendered).toBe('true');
      expect(c.width).toBeGreaterThan(200);
      expect(c.height).toBeGreaterThan(80);
      expect(c.marks).toBeGreaterThanOrEqual(3);
    }
  });

  it('logs no console errors and requests nothing from the network', () => {
    expect(consoleErrors).toEqual([]);
    expect(externalRequests).toEqual([]);
  });

  it('shows the medians and confidence intervals of result.json in the headline table', async () => {
    for (const protocol of ['h1', 'h2', 'h3'] as const) {
      for (const metric of ['latency.p50', 'latency.p99', 'requestsPerSec'] as const) {
        const summary = result.summaries.find((s) => s.protocol === protocol && s.metric === metric)!;
        const cell = page.locator(`table.headline tr[data-protocol="${protocol}"] td[data-metric="${metric}"]`);
        const value = Number((await cell.locator('.value').innerText()).replace(/,/g, ''));
        const ci = await cell.locator('.ci').innerText();
        // Three significant digits: within half of the last printed digit.
        const tolerance = (x: number) => Math.max(0.5 * 10 ** (Math.floor(Math.log10(Math.abs(x))) - 2), 1e-9);
        expect(Math.abs(value - summary.median), `${protocol} ${metric}`).toBeLessThanOrEqual(tolerance(summary.median));
        const [lo, hi] = ci.replace(/^CI /, '').split(/\u2013| to /).map((x) => Number(x.replace(/,/g, '')));
        expect(Math.abs(lo! - summary.ci95[0])).toBeLessThanOrEqual(tolerance(summary.median));
        expect(Math.abs(hi! - summary.ci95[1])).toBeLessThanOrEqual(tolerance(summary.median));
      }
    }
    const reps = await page.locator('table.headline tr[data-protocol="h2"] td').first().innerText();
    expect(reps.trim()).toBe('3');
  });

  it('keeps the scenario description as text', async () => {
    expect(await page.locator('header .description').innerText()).toBe(String(result.scenario.description));
  });

  it('shows exact values in a tooltip on hover', async () => {
    await page.locator('[data-chart]').first().scrollIntoViewIfNeeded();
    const symbols = page.locator('#chart-0 .mark-symbol path');
    const box = await symbols.nth(5).boundingBox();
    expect(box, 'a point of the percentile chart').not.toBeNull();
    await page.mouse.move(box!.x + box!.width / 2, box!.y + box!.height / 2);
    const tooltip = page.locator('#vg-tooltip-element');
    await expect.poll(async () => (await tooltip.isVisible()) && (await tooltip.innerText())).toMatch(/percentile[\s\S]*latency \(ms\)/);
    expect(await tooltip.innerText()).toMatch(/network\s+lte/);
  });

  it('renders the detail views too: several networks and raw.jsonl', async () => {
    const { result: multi, raw } = fixtureRun({ repetitions: 3, losses: [0, 0.02, 0.05], requestsPerCell: 500 });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-browser-'));
    writeFileSync(path.join(dir, 'result.json'), JSON.stringify(multi));
    writeFileSync(path.join(dir, 'raw.jsonl'), raw.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const { reportPath, bytes } = await writeReport(dir);
    const { page: second, errors } = await openReport(context, reportPath);
    const states = await second.$$eval('[data-chart]', (els) => els.map((el) => el.getAttribute('data-rendered')));
    // Per network: percentile, CDF, timeline, 3 strips; plus 3 across-network charts.
    expect(states).toEqual(new Array(3 * 6 + 3).fill('true'));
    expect(await second.locator('#across svg.marks').count()).toBe(3);
    expect(errors).toEqual([]);
    expect(externalRequests).toEqual([]);
    console.log(`report.html with 3 networks x 3 protocols x 3 repetitions and raw.jsonl: ${bytes} bytes`);
    await second.close();
  });
});
