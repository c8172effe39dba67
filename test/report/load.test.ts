/**
 * The load section of report.html and the `bench run --json` rows of a load workload, on synthetic
 * sweeps whose knees are set by construction: HTTP/1.1 falls short of the offered rate at the third
 * step, HTTP/2's p99 passes 3x the first step's at the fourth, HTTP/3 never breaks. Percentiles are
 * checked against the pooled samples sorted here, not against the histograms the code merges.
 */
import { describe, expect, it } from 'vitest';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { Protocol } from '../../src/drivers/types.ts';
import { seededRandom } from '../../src/metrics/stats.ts';
import { renderReport } from '../../src/report/html.ts';
import { summaryJson } from '../../src/report/summary.ts';
import type { LoadStepDetails } from '../../src/results/details.ts';
import type { Cell, NetworkVariantResult, RunResult } from '../../src/results/model.ts';
import { summariseCells, validityWarnings } from '../../src/runner/summarise.ts';
import { metricHistogram, syntheticLatencies } from './fixture.ts';

const LEVELS = [100, 200, 400, 800];
const PROTOCOLS: Protocol[] = ['h1', 'h2', 'h3'];
const REPETITIONS = 2;
const NETWORK: NetworkVariantResult = { label: 'none', backend: 'none', spec: { kind: 'none' } } as NetworkVariantResult;

/** Per protocol and step: achieved share of the offered rate and median latency (ms). */
const SHAPE: Record<Protocol, Array<{ share: number; medianMs: number }>> = {
  h1: [{ share: 1, medianMs: 2 }, { share: 1, medianMs: 2 }, { share: 0.8, medianMs: 3 }, { share: 0.5, medianMs: 4 }],
  h2: [{ share: 1, medianMs: 2 }, { share: 1, medianMs: 2 }, { share: 1, medianMs: 2.5 }, { share: 1, medianMs: 20 }],
  h3: [{ share: 1, medianMs: 2 }, { share: 1, medianMs: 2 }, { share: 1, medianMs: 2 }, { share: 1, medianMs: 2 }],
};

const samples = new Map<string, number[]>();

function cell(protocol: Protocol, repetition: number, order: number): Cell {
  const rand = seededRandom(order + 1);
  const metrics: Cell['metrics'] = {};
  const steps: LoadStepDetails[] = LEVELS.map((level, i) => {
    const metricPrefix = `rate${level}`;
    const values = syntheticLatencies(rand, 2 * level, SHAPE[protocol][i]!.medianMs, 0, 0);
    samples.set(`${protocol}/${level}`, [...(samples.get(`${protocol}/${level}`) ?? []), ...values]);
    metrics[`${metricPrefix}.latency`] = metricHistogram(values);
    metrics[`${metricPrefix}.service`] = metricHistogram(values.map((v) => v / 2));
    return {
      level,
      metricPrefix,
      windowMs: 2000,
      requests: values.length,
      ok: values.length,
      failed: 0,
      achievedPerSec: level * SHAPE[protocol][i]!.share,
      arrivals: { scheduled: values.length, late: 0, dropped: 0, maxLatenessMs: 0.5 },
      clientCpuMs: 100 * (repetition + 1),
      serverCpuMs: i === 3 && protocol === 'h3' ? 1900 : 50,
      machineBound: i === 3 && protocol === 'h3' ? ['server'] : [],
    };
  });
  const total = steps.reduce((n, s) => n + s.ok, 0);
  return {
    network: NETWORK.label,
    protocol,
    workload: 'sweep',
    workloadType: 'load',
    repetition,
    order,
    durationMs: 8000,
    requests: { total, ok: total, failed: 0, bytes: total * 1000 },
    requestsPerSec: total / 8,
    goodputBps: total,
    connections: { opened: 1, resumed: 0, earlyData: 0 },
    metrics,
    details: {
      load: {
        loop: 'open',
        lateAfterMs: 2,
        maxInFlight: 1000,
        steps,
        // h1 and h2 name their client; h2 its windows; h3 (one client) neither.
        ...(protocol !== 'h3' && { client: protocol === 'h2' ? ('lean' as const) : ('library' as const) }),
        ...(protocol === 'h2' && {
          flowControl: { receive: { streamBytes: 6 * 2 ** 20, connectionBytes: 15 * 2 ** 20 }, send: { streamBytes: 65_535, connectionBytes: 65_535 }, windowUpdates: { connection: 3, stream: 0 } },
        }),
      },
    },
  };
}

function fixture(): RunResult {
  const cells = PROTOCOLS.flatMap((p, i) => Array.from({ length: REPETITIONS }, (_, r) => cell(p, r, i * REPETITIONS + r)));
  const result = {
    schemaVersion: 1,
    tool: { name: 'bench', version: '0.1.0', dependencies: {} },
    run: { id: 'load-fixture', startedAt: '2025-01-01T12:00:00.000Z', durationMs: 60_000, argv: ['run'], seed: 1, status: 'complete' },
    environment: { node: 'v20', platform: 'linux', kernel: '6.1', cpu: { model: 'Test', cores: 2 }, memoryBytes: 1, emulator: { backend: 'none', shaped: false } },
    scenario: { name: 'load', file: 'scenarios/load.yaml', description: '', protocols: PROTOCOLS, repetitions: REPETITIONS },
    networks: [NETWORK],
    cells,
    summaries: summariseCells(cells),
    warnings: [],
  } as unknown as RunResult;
  result.warnings = validityWarnings(result);
  return result;
}

/** The nearest-rank percentile of the pooled samples (what an HdrHistogram reports, to its 3 significant digits). */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

describe('load results', () => {
  const result = fixture();
  const rows = summaryJson(result).rows;

  it('--json rows carry every step, the knee where the sweep broke, and percentiles of all repetitions pooled', () => {
    const knee = (p: Protocol) => rows.find((r) => r.protocol === p)!.steps!.findIndex((s) => s.knee);
    expect(knee('h1')).toBe(1); // the third step achieved 80% of the offered rate
    expect(knee('h2')).toBe(2); // the fourth step's p99 is 10x the first's
    expect(knee('h3')).toBe(3); // never broke: the last step
    for (const row of rows) {
      expect(row.steps!.map((s) => s.level)).toEqual(LEVELS);
      // Results from before client workers: the client's own thread.
      expect(row.clientWorkers).toBe(1);
      for (const step of row.steps!) {
        const pooled = samples.get(`${row.protocol}/${step.level}`)!;
        expect(step.requests).toBe(pooled.length);
        for (const [p, q] of [['p50', 0.5], ['p90', 0.9], ['p99', 0.99]] as const) {
          expect(step.latency![p]).toBeGreaterThan(percentile(pooled, q) * 0.998);
          expect(step.latency![p]).toBeLessThan(percentile(pooled, q) * 1.002);
        }
        // CPU per request: total CPU of the repetitions over their total answers.
        expect(step.clientCpuPerRequestMs).toBeCloseTo((100 + 200) / pooled.length, 9);
        // network none: no link, so no link CPU and no bytes; never 0.
        expect(step.linkCpuPerRequestMs).toBeNull();
        expect(step.wireBytesPerRequest).toBeNull();
      }
    }
    const h3 = rows.find((r) => r.protocol === 'h3')!;
    expect(h3.steps![3]!.machineBound).toEqual(['server']);
    const headline = (p: Protocol, id: string) => rows.find((r) => r.protocol === p)!.metrics.find((m) => m.metric === id)?.median;
    expect(headline('h1', 'knee.requestsPerSec')).toBe(200);
    expect(headline('h2', 'knee.requestsPerSec')).toBe(400);
    expect(headline('h3', 'knee.requestsPerSec')).toBe(800);
  });

  it('names the client of each h1/h2 cell in the --json rows and the tables, with HTTP/2 flow control', () => {
    expect(Object.fromEntries(rows.map((r) => [r.protocol, r.client]))).toEqual({ h1: 'library', h2: 'lean', h3: undefined });
    const tables = renderReport(result).split('<table class="compact load"').slice(1);
    const caption = (p: Protocol) => tables.find((t) => t.startsWith(` data-protocol="${p}"`))!.split('</caption>')[0]!;
    expect(caption('h1')).toContain('Client: library (undici).');
    expect(caption('h2')).toContain('Client: lean (bench&#39;s HTTP/2 client written for load).');
    expect(caption('h2')).toMatch(/advertised 6\.00 MiB per stream and 15\.0 MiB per connection; the server 64.0 KiB per stream \(3 connection and 0 stream WINDOW_UPDATEs/);
    expect(caption('h3')).not.toContain('Client:');
  });

  it('warns of the machine-bound step, naming the process and its share of a core', () => {
    const bound = result.warnings.filter((w) => w.code === 'LOAD_STEP_MACHINE_BOUND');
    expect(bound).toHaveLength(REPETITIONS);
    for (const w of bound) {
      expect(w.protocol).toBe('h3');
      expect(w.message).toContain('the step at 800 requests/s');
      expect(w.message).toContain('server 95% of a core');
    }
  });

  it('the section draws one curve per protocol with the knees ringed, and tables that say unavailable, never 0', () => {
    const html = renderReport(result);
    const section = html.split('<div class="workload-analysis load-analysis">')[1]!;
    expect(section).toContain('Load: latency against throughput');
    for (const protocol of PROTOCOLS) {
      const table = new RegExp(`<table class="compact load" data-protocol="${protocol}">([\\s\\S]*?)</table>`).exec(section)![1]!;
      expect(table.match(/<tr data-level=/g)).toHaveLength(LEVELS.length);
      expect(table.match(/class="knee"/g)).toHaveLength(1);
      expect(table).toContain('unavailable');
    }
    const charts = JSON.parse(/<script type="application\/json" id="bench-charts">([\s\S]*?)<\/script>/.exec(html)![1]!) as Array<{ spec: Record<string, unknown> }>;
    const curve = charts.find((c) => JSON.stringify(c.spec).includes('Throughput achieved'))!;
    const view = new vega.View(vega.parse(vegaLite.compile({ ...curve.spec, width: 600 } as vegaLite.TopLevelSpec).spec), { renderer: 'none' });
    return view.runAsync().then(() => {
      const rowsOf = (curve.spec.data as { values: Array<{ knee: boolean; protocolName: string }> }).values;
      expect(rowsOf.filter((r) => r.knee)).toHaveLength(PROTOCOLS.length);
      expect(rowsOf).toHaveLength(PROTOCOLS.length * LEVELS.length);
    });
  });
});
