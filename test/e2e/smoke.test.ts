/**
 * The user's first command, end to end: `bench run scenarios/smoke.yaml` through the real binary,
 * then report.html opened in headless chromium. Needs root (the smoke scenario shapes the network).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/results/model.ts';
import { launchChromium, openReport, type Chromium } from '../support/browser.ts';
import { CHROMIUM_PATH, isRoot, peerMissing } from '../support/peers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'src/bin.mjs');
const skip = peerMissing(isRoot(), 'root (the smoke scenario shapes the network)') || peerMissing(CHROMIUM_PATH !== undefined, 'chromium (apt-get install -y chromium)');

function runBench(args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(skip)('bench run scenarios/smoke.yaml, end to end', () => {
  let out: string;
  let run: { code: number; stdout: string; stderr: string };
  let result: RunResult;
  let browser: Chromium;

  beforeAll(async () => {
    out = mkdtempSync(path.join(os.tmpdir(), 'bench-e2e-'));
    run = await runBench(['run', 'scenarios/smoke.yaml', '--out', out, '--quiet'], 180_000);
    if (existsSync(path.join(out, 'result.json'))) result = JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8'));
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('exits 0 and writes result.json, raw.jsonl and report.html where it says', () => {
    expect(run.stderr).not.toMatch(/internal error/);
    expect(run.code, run.stderr).toBe(0);
    for (const file of ['result.json', 'raw.jsonl', 'report.html']) expect(existsSync(path.join(out, file)), file).toBe(true);
    expect(run.stderr).toContain(out);
  });

  it('measured every protocol over the shaped link, every request succeeded', () => {
    expect(result.run.status).toBe('complete');
    expect(result.environment.emulator.shaped).toBe(true);
    const protocols = new Set(result.cells.map((c) => c.protocol));
    expect([...protocols].sort()).toEqual(['h1', 'h2', 'h3']);
    for (const cell of result.cells) {
      expect(cell.error, `${cell.protocol} rep ${cell.repetition}`).toBeUndefined();
      expect(cell.requests.failed).toBe(0);
      expect(cell.requests.ok).toBeGreaterThan(0);
      // A shaped link of 5 ms each way: no request can be faster than one round trip.
      expect(cell.metrics.latency!.min).toBeGreaterThanOrEqual(10);
    }
    const lines = readFileSync(path.join(out, 'raw.jsonl'), 'utf8').trim().split('\n');
    const requests = lines.map((l) => JSON.parse(l)).filter((e) => e.type === 'request' && e.phase !== 'warmup');
    expect(requests.length).toBe(result.cells.reduce((n, c) => n + c.requests.total, 0));
  });

  it('report.html renders its charts with no console errors and shows result.json numbers', async () => {
    const { page, errors } = await openReport(browser.context, path.join(out, 'report.html'));
    const svgCount = await page.locator('[data-chart] svg').count();
    expect(svgCount).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([]);
    for (const protocol of ['h1', 'h2', 'h3'] as const) {
      const summary = result.summaries.find((s) => s.protocol === protocol && s.metric === 'latency.p99')!;
      const text = await page.locator(`table.headline tr[data-protocol="${protocol}"] td[data-metric="latency.p99"] .value`).first().innerText();
      const shown = Number(text.replace(/,/g, ''));
      expect(Math.abs(shown - summary.median) / summary.median, `${protocol} p99 ${text} vs ${summary.median}`).toBeLessThan(0.01);
    }
    console.log(`report.html: ${statSync(path.join(out, 'report.html')).size} bytes`);
  });
});
