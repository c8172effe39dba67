/**
 * The throughput workload end to end over the userspace link (`bench run --json`, the real binary):
 * goodput against the link's configured rate and its own packet counters, and the receive windows
 * taking effect alike for HTTP/2 and HTTP/3 (a window smaller than the path's bandwidth-delay
 * product caps goodput at window / RTT). Needs root (namespaces).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SummaryJson } from '../../src/report/summary.ts';
import { throughputDetails } from '../../src/results/details.ts';
import type { RunResult } from '../../src/results/model.ts';
import { isRoot, peerMissing } from '../support/peers.ts';
import { availableProtocols, BIN, ROOT, writeScenario } from './run-harness.ts';

const RATE_MBPS = 20;
const SIZE_BYTES = 5_000_000;
const SMALL_WINDOW = 65_535;
const MTU = 1500;

const skip = peerMissing(isRoot(), 'root (network namespaces for the userspace link)');

function scenario(opts: { rttMs: number; workload: string[] }): string {
  return [
    'name: throughput-e2e',
    `protocols: [${availableProtocols().join(', ')}]`,
    'repetitions: 1',
    'network:',
    '  backend: userspace',
    '  link:',
    `    delay: ${opts.rttMs / 2}ms`,
    `    rate: ${RATE_MBPS}mbit`,
    '    loss: 0%',
    'workloads:',
    '  - type: throughput',
    ...opts.workload.map((line) => `    ${line}`),
    'timeouts:',
    '  request: 30s',
    '  cell: 2m',
    '',
  ].join('\n');
}

/** `bench run --json` of a scenario text: the printed rows and result.json. */
async function benchRun(dir: string, text: string): Promise<{ summary: SummaryJson; result: RunResult; report: string }> {
  const file = writeScenario(dir, 'throughput.yaml', text);
  const out = path.join(dir, 'run');
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [BIN, 'run', file, '--json', '--out', out, '--quiet'], { cwd: ROOT, timeout: 240_000, maxBuffer: 16 << 20 }, (error, so, se) => {
      if (error) reject(new Error(`bench run failed: ${se}`));
      else resolve(so);
    });
  });
  return {
    summary: JSON.parse(stdout),
    result: JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8')),
    report: readFileSync(path.join(out, 'report.html'), 'utf8'),
  };
}

const goodput = (summary: SummaryJson, protocol: string) => summary.rows.find((r) => r.protocol === protocol)?.metrics.find((m) => m.metric === 'goodputMbps');

describe.skipIf(skip)('throughput workload over a 20 Mbit/s userspace link, 10 ms RTT', () => {
  let dir: string;
  let summary: SummaryJson;
  let result: RunResult;
  let report: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bench-throughput-'));
    ({ summary, result, report } = await benchRun(dir, scenario({ rttMs: 10, workload: [`size: ${SIZE_BYTES}`, 'rounds: 2'] })));
  }, 260_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(availableProtocols())('%s: goodput is below the configured rate and above 80% of it', (protocol) => {
    const g = goodput(summary, protocol);
    expect(g).toBeDefined();
    expect(g!.unit).toBe('Mbit/s');
    expect(g!.median).toBeLessThan(RATE_MBPS);
    expect(g!.median).toBeGreaterThan(0.8 * RATE_MBPS);
  });

  it.each(availableProtocols())('%s: every byte of every round crossed the link, no faster than its rate', (protocol) => {
    const cell = result.cells.find((c) => c.protocol === protocol)!;
    const d = throughputDetails(cell)!;
    expect(d.rounds).toHaveLength(2);
    for (const round of d.rounds) {
      expect(round.failed).toBe(0);
      expect(round.bytes).toBe(SIZE_BYTES);
      // The bytes need at least this long at the configured rate, whatever the client's clock says.
      expect(round.completeMs!).toBeGreaterThan((SIZE_BYTES * 8) / (RATE_MBPS * 1000));
      // The goodput bins add up to the bytes received.
      expect(round.goodput.bytes.reduce((a, b) => a + b, 0)).toBe(SIZE_BYTES);
    }
    // The link's own counter: the packets it delivered toward the client carried at least the bodies.
    expect(cell.link!.primary!.down.packetsOut * MTU).toBeGreaterThanOrEqual(2 * SIZE_BYTES);
  });

  it('report.html has the throughput section: goodput over time, the table with each protocol\'s goodput and the link rate', () => {
    expect(report).toContain('throughput-analysis');
    expect(report).toContain('Goodput over time');
    expect(report).toContain('the link\u2019s bottleneck toward the client is 20 Mbit/s');
    for (const protocol of availableProtocols()) {
      const row = new RegExp(`<tr data-protocol="${protocol}">.*?data-metric="goodputMbps"[^>]*><span class="value">([0-9.]+) Mbit/s`).exec(report);
      expect(row, protocol).not.toBeNull();
      expect(Number(row![1])).toBeCloseTo(goodput(summary, protocol)!.median, 0);
    }
  });

  it('the goodput-over-time chart draws a line per protocol', async () => {
    const charts = JSON.parse(/<script type="application\/json" id="bench-charts">([\s\S]*?)<\/script>/.exec(report)![1]!) as Array<{ spec: Record<string, unknown> }>;
    const chart = charts.find((c) => JSON.stringify(c.spec).includes('Time from the requests'));
    expect(chart).toBeDefined();
    const view = new vega.View(vega.parse(vegaLite.compile({ ...chart!.spec, width: 600 } as vegaLite.TopLevelSpec).spec), { renderer: 'none' });
    await view.runAsync();
    const svg = await view.toSVG();
    expect(svg).toContain('class="mark-line');
    // One series per protocol in the chart's data.
    expect(new Set((JSON.stringify(chart!.spec).match(/"protocolName":"[^"]+"/g) ?? [])).size).toBe(availableProtocols().length);
  });
});

describe.skipIf(skip)('throughput workload: receive windows', () => {
  const RTT_MS = 60;
  let dir: string;
  let summary: SummaryJson;
  let result: RunResult;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bench-throughput-'));
    ({ summary, result } = await benchRun(dir, scenario({ rttMs: RTT_MS, workload: ['size: 2MB', 'rounds: 1', 'windows:', `  stream: ${SMALL_WINDOW}`] })));
  }, 260_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a stream window below the path's bandwidth-delay product caps HTTP/2 and HTTP/3 alike at window / RTT", () => {
    const bound = (SMALL_WINDOW * 8) / (RTT_MS * 1000); // Mbit/s
    expect(bound).toBeLessThan(RATE_MBPS / 2);
    for (const protocol of availableProtocols().filter((p) => p !== 'h1')) {
      const g = goodput(summary, protocol);
      expect(g, protocol).toBeDefined();
      expect(g!.median, protocol).toBeLessThan(bound * 1.05);
      const cell = result.cells.find((c) => c.protocol === protocol)!;
      expect(throughputDetails(cell)!.flowControl.http).toEqual({ streamBytes: SMALL_WINDOW, connectionBytes: 15 * 1024 * 1024 });
    }
    // HTTP/1.1 has no HTTP window: the same download is limited by the link (and TCP's slow start) only.
    if (availableProtocols().includes('h1')) expect(goodput(summary, 'h1')!.median).toBeGreaterThan(bound * 1.2);
  });
});
