/**
 * A realistic RunResult for report tests: real HdrHistograms recorded from seeded synthetic
 * latency samples (log-normal body, occasional retransmission-like tail), h1/h2/h3 x repetitions,
 * summaries computed from the cells as the runner does (median, t-interval).
 */
import * as hdr from 'hdr-histogram-js';
import type { Protocol } from '../../src/drivers/types.ts';
import type { Cell, MetricHistogram, RunResult, Summary } from '../../src/results/model.ts';
import { SCHEMA_VERSION } from '../../src/results/model.ts';
import type { RawEvent } from '../../src/results/events.ts';
import { seededRandom } from '../../src/metrics/stats.ts';


/** Latencies (ms) of one synthetic cell. */
export function syntheticLatencies(rand: () => number, n: number, medianMs: number, tailShare: number, tailMs: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    let v = medianMs * Math.exp(0.25 * z);
    if (rand() < tailShare) v += tailMs * (0.5 + rand());
    out.push(v);
  }
  return out;
}

export function metricHistogram(samplesMs: number[]): MetricHistogram {
  const h = hdr.build({ bitBucketSize: 32, numberOfSignificantValueDigits: 3 });
  for (const ms of samplesMs) h.recordValue(Math.round(ms * 1000));
  const us = (v: number) => v / 1000;
  const m: MetricHistogram = {
    unit: 'ms',
    count: h.totalCount,
    min: us(h.minNonZeroValue),
    max: us(h.maxValue),
    mean: us(h.mean),
    stdev: us(h.stdDeviation),
    p50: us(h.getValueAtPercentile(50)),
    p90: us(h.getValueAtPercentile(90)),
    p99: us(h.getValueAtPercentile(99)),
    p999: us(h.getValueAtPercentile(99.9)),
    encoded: hdr.encodeIntoCompressedBase64(h),
  };
  h.destroy();
  return m;
}

const PROFILE: Record<Protocol, { medianMs: number; tailShare: number; tailMs: number; cpuMs: number }> = {
  h1: { medianMs: 42, tailShare: 0.02, tailMs: 300, cpuMs: 900 },
  h2: { medianMs: 36, tailShare: 0.04, tailMs: 320, cpuMs: 700 },
  h3: { medianMs: 31, tailShare: 0.01, tailMs: 200, cpuMs: 1300 },
};

// Two-sided 95% t quantiles by degrees of freedom.
const T95 = [NaN, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262];

function summarise(values: number[]): Pick<Summary, 'median' | 'mean' | 'ci95' | 'ciMethod'> {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { median, mean, ci95: [median, median], ciMethod: 'none' };
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  const half = (T95[values.length - 1] ?? 1.96) * (sd / Math.sqrt(values.length));
  return { median, mean, ci95: [mean - half, mean + half], ciMethod: 't' };
}

export interface FixtureOptions {
  description?: string;
  repetitions?: number;
  requestsPerCell?: number;
  seed?: number;
  /** Network variants by loss probability; default one variant "lte" with 1% loss. */
  losses?: number[];
}

export function fixtureResult(opts: FixtureOptions = {}): RunResult {
  return fixtureRun(opts).result;
}

/** A result and the raw.jsonl events of the same samples (request events queued at concurrency 10). */
export function fixtureRun(opts: FixtureOptions = {}): { result: RunResult; raw: RawEvent[] } {
  const reps = opts.repetitions ?? 2;
  const n = opts.requestsPerCell ?? 2000;
  const rand = seededRandom(opts.seed ?? 7);
  const protocols: Protocol[] = ['h1', 'h2', 'h3'];
  const losses = opts.losses ?? [0.01];
  const label = (loss: number) => (losses.length === 1 ? 'lte' : `loss-${loss * 100}%`);
  const cells: Cell[] = [];
  const raw: RawEvent[] = [];
  let order = 0;
  let clock = 1000;
  for (const loss of losses) {
    for (let rep = 0; rep < reps; rep++) {
      // Interleaved order, as the runner does: h1 h2 h3, h3 h1 h2, ...
      const rotated = protocols.map((_, i) => protocols[(i - rep + protocols.length * 10) % protocols.length]!);
      for (const protocol of rotated) {
        const p = PROFILE[protocol];
        const tailShare = p.tailShare * (loss / 0.01);
        const samples = syntheticLatencies(rand, n, p.medianMs * (1 + 0.05 * rep), tailShare, p.tailMs);
        const latency = metricHistogram(samples);
        const key = { network: label(loss), protocol, workload: 'small-objects', repetition: rep };
        raw.push({ type: 'cell-start', t: clock, ...key });
        // Closed loop at concurrency 10: each slot queues its next request when the previous one is done.
        const slots = new Array<number>(10).fill(clock);
        samples.forEach((ms, i) => {
          const slot = i % slots.length;
          const queued = slots[slot]!;
          slots[slot] = queued + ms;
          raw.push({ type: 'request', ...key, id: `${protocol}-${rep}-${i}`, path: '/bytes/10240', queued, done: queued + ms, bytes: 10_240, status: 200 });
        });
        clock = Math.max(...slots) + 100;
        const ttfb = metricHistogram(syntheticLatencies(rand, n, p.medianMs * 0.8, p.tailShare, p.tailMs));
        const durationMs = 4000 + rand() * 400;
        const failed = protocol === 'h2' && rep === 1 ? 3 : 0;
        const bytes = (n - failed) * 10_240;
        cells.push({
          network: label(loss),
          protocol,
          workload: 'small-objects',
          workloadType: 'requests',
          repetition: rep,
          order: order++,
          durationMs,
          requests: { total: n, ok: n - failed, failed, bytes },
          requestsPerSec: (n - failed) / (durationMs / 1000),
          goodputBps: (bytes * 8) / (durationMs / 1000),
          connections: { opened: protocol === 'h1' ? 6 : 1, resumed: 0, earlyData: 0 },
          metrics: { latency, ttfb },
          serverCpuMs: p.cpuMs * (0.9 + rand() * 0.2),
          clientCpuMs: p.cpuMs * 1.5,
        });
      }
    }
  }
  const summaries: Summary[] = [];
  for (const loss of losses) {
    for (const protocol of protocols) {
      const own = cells.filter((c) => c.protocol === protocol && c.network === label(loss));
      const add = (metric: string, unit: string, values: number[]) =>
        summaries.push({ network: label(loss), protocol, workload: 'small-objects', metric, unit, values, ...summarise(values) });
      add('requestsPerSec', 'req/s', own.map((c) => c.requestsPerSec));
      add('goodputBps', 'bit/s', own.map((c) => c.goodputBps));
      add('serverCpuMs', 'ms', own.map((c) => c.serverCpuMs!));
      for (const name of ['latency', 'ttfb']) {
        for (const stat of ['p50', 'p90', 'p99', 'p999', 'mean', 'max'] as const) {
          add(`${name}.${stat}`, 'ms', own.map((c) => c.metrics[name]![stat]));
        }
      }
    }
  }
  const result: RunResult = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'bench', version: '0.1.0', dependencies: { undici: '7.30.2', 'hdr-histogram-js': '3.0.1' } },
    run: {
      id: '20250101T120000Z-abc123',
      startedAt: '2025-01-01T12:00:00.000Z',
      finishedAt: '2025-01-01T12:00:30.000Z',
      durationMs: 30_000,
      argv: ['run', 'scenarios/lte.yaml', '--repetitions', String(reps)],
      seed: 42,
      status: 'complete',
    },
    environment: {
      node: 'v20.20.0',
      platform: 'linux',
      kernel: '6.1.0-test',
      cpu: { model: 'Test CPU @ 2.0GHz', cores: 2 },
      memoryBytes: 8 * 1024 ** 3,
      emulator: {
        backend: 'userspace',
        shaped: true,
        fidelity: {
          backend: 'userspace',
          measuredAt: '2025-01-01T11:59:00.000Z',
          target: { delayMs: 35, jitterMs: 0, loss: 0.01, rateBps: 12e6 },
          oneWayDelayMeanMs: 35.2,
          jitterStdMs: 0.3,
          loss: 0.0104,
          lossInterval95: [0.0085, 0.0126],
          rateBps: 11.9e6,
          schedulerLatenessP99Ms: 0.4,
          pass: { delay: true, jitter: true, loss: true, rate: true, scheduler: true },
        },
      },
    },
    scenario: {
      name: 'lte-small-objects',
      file: 'scenarios/lte.yaml',
      description: opts.description ?? 'Small objects over an LTE-like link with 1% loss.',
      protocols,
      repetitions: reps,
    },
    networks: losses.map((loss) => ({
        label: label(loss),
        backend: 'userspace' as const,
        spec: {
          kind: 'shaped',
          backend: 'userspace',
          profile: 'lte',
          mtu: 1500,
          congestionControl: 'cubic',
          phases: [],
          paths: [
            {
              name: 'primary',
              up: dir(35, 12e6, loss),
              down: dir(35, 12e6, loss),
            },
          ],
        },
      })),
    cells,
    summaries,
    warnings: [
      { level: 'warn', code: 'REQUESTS_FAILED', message: '3 of 2000 requests failed in repetition 2', network: 'lte', protocol: 'h2', workload: 'small-objects' },
      { level: 'info', code: 'FEW_REPETITIONS', message: `${reps} repetition(s): confidence intervals need at least 3 to be informative` },
    ],
  };
  return { result, raw };
}

function dir(delayMs: number, rateBps: number, loss: number) {
  return {
    delayMs,
    jitterMs: 0,
    jitterDistribution: 'normal' as const,
    jitterCorrelation: 0,
    loss: { model: 'random' as const, probability: loss, correlation: 0 },
    duplicate: 0,
    reorder: 0,
    reorderCorrelation: 0,
    corrupt: 0,
    rateBps,
    blackhole: false,
  };
}
