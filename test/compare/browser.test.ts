/**
 * compare.html opened from disk in Debian's chromium (playwright-core): every chart drawn, no
 * console errors, no requests, and the numbers in the tables equal the medians and changes
 * computed here from the two results' cells. A screenshot is kept for people to look at.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildComparison } from '../../src/compare/comparison.ts';
import { renderComparePage } from '../../src/compare/html.ts';
import { median } from '../../src/metrics/stats.ts';
import { findMetric } from '../../src/results/catalogue.ts';
import type { RunResult } from '../../src/results/model.ts';
import { launchChromium, openReport, type Chromium } from '../support/browser.ts';
import { CHROMIUM_PATH, peerMissing } from '../support/peers.ts';
import { fixtureResult } from '../report/fixture.ts';
import { handshakeFixture } from '../report/workloads-fixture.ts';

const skip = peerMissing(CHROMIUM_PATH !== undefined, 'chromium (apt-get install -y chromium)');
const SCREENSHOT = path.join(os.tmpdir(), 'bench-compare-test.png');

/** One result with a requests workload and a handshake workload (on its own network). */
async function run(seed: number, slower: number): Promise<RunResult> {
  // The same requests samples in both runs, then a known change: p99 and requests/s by `slower`.
  const requests = fixtureResult({ repetitions: 5, requestsPerCell: 2000, seed: 1 });
  const handshake = (await handshakeFixture({ rttsMs: [100], repetitions: 5, connections: 3, seed })).result;
  for (const c of requests.cells) {
    c.metrics.latency!.p99 *= slower;
    c.requestsPerSec /= slower;
  }
  return {
    ...requests,
    run: { ...requests.run, id: `run-${seed}`, startedAt: `2026-12-0${seed}T10:00:00.000Z` },
    networks: [...requests.networks, ...handshake.networks],
    cells: [...requests.cells, ...handshake.cells],
    summaries: [],
  };
}

describe.skipIf(skip)('compare.html in headless chromium', () => {
  let browser: Chromium;
  let page: Page;
  let errors: string[] = [];
  const requests: string[] = [];
  let baseline: RunResult;
  let candidate: RunResult;

  beforeAll(async () => {
    baseline = await run(1, 1);
    candidate = await run(2, 2);
    candidate.environment = { ...candidate.environment, kernel: '6.1.0-other' };
    const comparison = buildComparison([
      { label: 'main', file: 'main/result.json', result: baseline },
      { label: 'branch', file: 'branch/result.json', result: candidate },
    ]);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-compare-browser-'));
    const file = path.join(dir, 'compare.html');
    writeFileSync(file, renderComparePage(comparison));
    browser = await launchChromium();
    await browser.context.route(/^(?!file:|data:|blob:)/, (route) => {
      requests.push(route.request().url());
      return route.abort();
    });
    ({ page, errors } = await openReport(browser.context, file));
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`compare screenshot: ${SCREENSHOT}`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('draws every chart as an SVG with marks, and logs no errors and requests nothing', async () => {
    const charts = await page.$$eval('[data-chart]', (els) =>
      els.map((el) => ({ rendered: el.getAttribute('data-rendered'), marks: el.querySelectorAll('.mark-line path, .mark-symbol path, .mark-tick rect').length })),
    );
    // Requests: 3 protocols x (percentile + CDF) + 3 headline strips; handshake: 3 protocols x 2 + its strips.
    expect(charts.length).toBeGreaterThanOrEqual(15);
    for (const c of charts) {
      expect(c.rendered).toBe('true');
      expect(c.marks).toBeGreaterThan(0);
    }
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  });

  it('shows the medians of both runs and the change, as computed from the cells', async () => {
    const rows = await page.$$eval('table.changes tbody tr', (trs) =>
      trs.map((tr) => ({
        protocol: tr.getAttribute('data-protocol')!,
        metric: tr.getAttribute('data-metric')!,
        baseline: tr.querySelector('.baseline')!.textContent!,
        candidate: tr.querySelector('.candidate')!.textContent!,
        change: tr.querySelector('.change')!.textContent!,
        verdict: tr.querySelector('.verdict')!.textContent!,
      })),
    );
    expect(rows.length).toBeGreaterThanOrEqual(9 + 3 * 3);
    const number = (s: string) => Number(s.replace(/,/g, '').match(/-?\d+(\.\d+)?/)![0]);
    /** Printed with three significant digits: within half of the last digit. */
    const near = (printed: number, exact: number) => Math.abs(printed - exact) <= 0.5 * 10 ** (Math.floor(Math.log10(Math.abs(exact))) - 2) + 1e-9;
    for (const row of rows) {
      const type = row.metric.includes('.firstByte') || row.metric.includes('Connections') || row.metric.includes('earlyData') ? 'handshake' : 'requests';
      const metric = findMetric(type, row.metric)!;
      const perRep = (r: RunResult) => r.cells.filter((c) => c.protocol === row.protocol && c.workloadType === type && !c.error).map(metric.pick).filter((v): v is number => v !== undefined);
      const a = median(perRep(baseline));
      const b = median(perRep(candidate));
      expect(near(number(row.baseline), a), `${row.protocol} ${row.metric} baseline ${row.baseline} vs ${a}`).toBe(true);
      expect(near(number(row.candidate), b), `${row.protocol} ${row.metric} candidate ${row.candidate} vs ${b}`).toBe(true);
      if (a !== 0 && b !== a) expect(near(number(row.change), (b / a - 1) * 100), `${row.metric} change ${row.change}`).toBe(true);
    }
    // The injected change is called worse; the untouched p50 did not change. (HTTP/3's p99 is left
    // out: its 1% of slow requests puts the p99 on the edge of the tail, too noisy to call.)
    const verdict = (protocol: string, metric: string) => rows.find((r) => r.protocol === protocol && r.metric === metric)!.verdict;
    expect(['h1', 'h2', 'h3'].map((p) => verdict(p, 'requestsPerSec'))).toEqual(['worse', 'worse', 'worse']);
    expect(['h1', 'h2'].map((p) => verdict(p, 'latency.p99'))).toEqual(['worse', 'worse']);
    expect(rows.filter((r) => r.metric === 'latency.p50').map((r) => r.change)).toEqual(['0%', '0%', '0%']);
  });

  it('lists the environment difference and embeds the comparison as JSON', async () => {
    const diff = await page.locator('table.differences tr', { hasText: 'kernel' }).innerText();
    expect(diff).toContain('6.1.0-other');
    const embedded = JSON.parse((await page.locator('#bench-compare').textContent())!) as { runs: Array<{ label: string }> };
    expect(embedded.runs.map((r) => r.label)).toEqual(['main', 'branch']);
  });
});
