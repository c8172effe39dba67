/**
 * A load workload split over client workers and put back together: shares that add up to the
 * workload, one open-loop schedule from one start whichever share sends an arrival, and merged
 * figures equal to those of all samples together. The percentiles are checked against an
 * independent computation (nearest rank over the sorted concatenation of every share's samples),
 * and shown to differ from the average of the shares' percentiles, which is what the merge must
 * not do.
 */
import { describe, expect, it } from 'vitest';
import { LatencyRecorder } from '../../src/metrics/histogram.ts';
import type { LoadStepDetails } from '../../src/results/details.ts';
import { boundProcesses, clientCpuOverMeasurement } from '../../src/results/load.ts';
import { clientWorkersFor, type LoadSpec } from '../../src/workloads/load.ts';
import { mergeShareResults, mergeSteps, splitEvenly, splitLoad, stepOrders, type ShareResult } from '../../src/workloads/load-split.ts';
import { runOpenLoop } from '../../src/workloads/pool.ts';

const closed: LoadSpec = { type: 'load', name: 'l', loop: 'closed', levels: [6, 24], stepDurationMs: 1000, connections: 5, h1PoolSize: 2, size: 100, clientWorkers: 3, client: 'lean' };
const open: LoadSpec = { type: 'load', name: 'l', loop: 'open', levels: [100], stepDurationMs: 1000, connections: 4, h1PoolSize: 1, size: 100, clientWorkers: 3, client: 'lean', maxInFlight: 10 };

/** mulberry32: the same samples on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The p-th percentile (0..100) of sorted values by nearest rank, as HdrHistogram defines it. */
function nearestRank(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function share(samples: number[]): ShareResult {
  const recorder = new LatencyRecorder();
  for (const ms of samples) recorder.record(ms);
  return {
    requests: { total: samples.length + 1, ok: samples.length, failed: 1, bytes: 100 * samples.length, failedBy: { timeout: 1 } },
    connections: { opened: 2, resumed: 1, earlyData: 0 },
    metrics: { 'concurrency8.latency': recorder.toMetricHistogram() },
  };
}

describe('splitting a load workload into shares', () => {
  it('splits evenly, the larger parts first, and the parts add up', () => {
    expect(splitEvenly(10, 3)).toEqual([4, 3, 3]);
    expect(splitEvenly(6, 3)).toEqual([2, 2, 2]);
    expect(splitEvenly(1, 1)).toEqual([1]);
  });

  it('gives every share connections and, open loop, part of the in-flight limit', () => {
    const shares = splitLoad(open, 3);
    expect(shares.map((s) => s.connections)).toEqual([2, 1, 1]);
    expect(shares.map((s) => s.maxInFlight)).toEqual([4, 3, 3]);
    expect(shares.map((s) => [s.index, s.shares])).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
    ]);
    expect(splitLoad(closed, 3).every((s) => s.maxInFlight === undefined)).toBe(true);
  });

  it('closed loop: the requesters of a step split evenly; open loop: every share gets the whole rate and the one start', () => {
    expect(stepOrders(closed, 24, 1000, 3)).toEqual([
      { level: 24, concurrency: 8, startAt: 1000 },
      { level: 24, concurrency: 8, startAt: 1000 },
      { level: 24, concurrency: 8, startAt: 1000 },
    ]);
    expect(stepOrders(closed, 7, 5, 3).map((o) => o.concurrency)).toEqual([3, 2, 2]);
    expect(stepOrders(open, 100, 5, 2)).toEqual([
      { level: 100, startAt: 5 },
      { level: 100, startAt: 5 },
    ]);
  });

  it('open loop: the shares send exactly the one schedule, arrival i due at start + i/rate, each once', async () => {
    const rate = 2000;
    const durationMs = 60;
    const startAt = 0; // long past on the monotonic clock: every arrival is due at once
    const sends: number[][] = [];
    const outcomes = await Promise.all(
      [0, 1, 2].map((offset) => {
        const due: number[] = [];
        sends.push(due);
        return runOpenLoop({ rate, durationMs, maxInFlight: 1000, lateAfterMs: 2, startAt, stride: 3, offset }, async (dueAt) => {
          due.push(dueAt);
        });
      }),
    );
    const total = (rate * durationMs) / 1000;
    const all = sends.flat().sort((a, b) => a - b);
    expect(all).toHaveLength(total);
    all.forEach((dueAt, i) => expect(dueAt).toBeCloseTo(startAt + (i * 1000) / rate, 9));
    expect(outcomes.map((o) => o.scheduled)).toEqual([40, 40, 40]);
    expect(mergeSteps(outcomes.map((arrivals) => ({ requests: 0, ok: 0, arrivals }))).arrivals?.scheduled).toBe(total);
    // Uneven: 10 arrivals over 3 shares.
    const uneven = await Promise.all([0, 1, 2].map((offset) => runOpenLoop({ rate: 1000, durationMs: 10, maxInFlight: 10, lateAfterMs: 2, startAt: 0, stride: 3, offset }, async () => {})));
    expect(uneven.map((o) => o.scheduled)).toEqual([4, 3, 3]);
  });

  it('auto: half the cores, at least one, at most the connections and the lowest concurrency or in-flight limit', () => {
    const auto = { ...closed, clientWorkers: 'auto' as const };
    expect(clientWorkersFor(auto, 1)).toBe(1);
    expect(clientWorkersFor(auto, 2)).toBe(1);
    expect(clientWorkersFor(auto, 8)).toBe(4);
    expect(clientWorkersFor(auto, 64)).toBe(5); // connections: 5
    expect(clientWorkersFor({ ...auto, levels: [2, 8] }, 64)).toBe(2); // the lowest concurrency
    expect(clientWorkersFor({ ...open, clientWorkers: 'auto', connections: 100, maxInFlight: 3 }, 64)).toBe(3);
    expect(clientWorkersFor(closed, 1)).toBe(3); // a number is as written (checked when the scenario loaded)
  });
});

describe('merging the shares back', () => {
  it("a step's tallies add up; first and last answers are the earliest and latest of any share; the workers' CPU is summed", () => {
    const merged = mergeSteps([
      { requests: 10, ok: 9, firstAnswer: 5, lastAnswer: 50, lastDone: 55, arrivals: { scheduled: 10, late: 1, dropped: 0, maxLatenessMs: 3 }, cpuMs: 30 },
      { requests: 7, ok: 7, firstAnswer: 4, lastAnswer: 40, lastDone: 40, arrivals: { scheduled: 8, late: 0, dropped: 1, maxLatenessMs: 9 }, cpuMs: 20 },
      { requests: 0, ok: 0, arrivals: { scheduled: 0, late: 0, dropped: 0, maxLatenessMs: 0 }, cpuMs: 1 },
    ]);
    expect(merged).toEqual({ requests: 17, ok: 16, firstAnswer: 4, lastAnswer: 50, lastDone: 55, arrivals: { scheduled: 18, late: 1, dropped: 1, maxLatenessMs: 9 }, cpuMs: 51 });
    // A share in the client process itself reports no CPU of its own: none to add.
    expect(mergeSteps([{ requests: 1, ok: 1, firstAnswer: 1, lastAnswer: 1, lastDone: 1 }]).cpuMs).toBeUndefined();
  });

  it('histograms are added: percentiles are those of every sample together, never the average of the shares', () => {
    const next = random(42);
    // Three shares of different sizes and distributions: a fast one, a middling one, a slow tail.
    const samples = [
      Array.from({ length: 5000 }, () => 0.2 + next() * 0.8),
      Array.from({ length: 3000 }, () => 1 + next() * 4),
      Array.from({ length: 400 }, () => 20 + next() ** 3 * 200),
    ];
    const merged = mergeShareResults(samples.map(share));
    const h = merged.metrics['concurrency8.latency']!;
    const all = samples.flat().sort((a, b) => a - b);
    // Independent: nearest rank over the concatenated samples, within HdrHistogram's 3 significant
    // digits (and its microsecond unit).
    for (const [p, got] of [
      [50, h.p50],
      [90, h.p90],
      [99, h.p99],
      [99.9, h.p999],
    ] as const) {
      const exact = nearestRank(all, p);
      expect(Math.abs(got - exact), `p${p}: ${got} against ${exact}`).toBeLessThanOrEqual(exact * 1e-3 + 1e-3);
    }
    expect(h.count).toBe(all.length);
    expect(h.min).toBeCloseTo(all[0]!, 3);
    expect(h.max).toBeCloseTo(all[all.length - 1]!, 3);
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    expect(h.mean).toBeCloseTo(mean, 2);
    expect(h.stdev).toBeCloseTo(Math.sqrt(all.reduce((a, b) => a + (b - mean) ** 2, 0) / all.length), 2);
    // The same as one recorder fed every sample.
    const one = new LatencyRecorder();
    for (const ms of samples.flat()) one.record(ms);
    const single = one.toMetricHistogram();
    expect([h.p50, h.p90, h.p99, h.p999]).toEqual([single.p50, single.p90, single.p99, single.p999]);
    // What averaging the shares' p99s would claim is far from the truth: the merge does not do that.
    const shares = samples.map((s) => share(s).metrics['concurrency8.latency']!);
    const averagedP99 = shares.reduce((a, s) => a + s.p99, 0) / shares.length;
    expect(Math.abs(averagedP99 - nearestRank(all, 99))).toBeGreaterThan(10);
  });

  it("counters and the workers' CPU are summed, failures by kind too; transport statistics come from the first share", () => {
    const a = { ...share([1, 2, 3]), transport: { rttMs: 1 }, cpuMs: 700 };
    const b = { ...share([4, 5]), requests: { total: 4, ok: 2, failed: 2, bytes: 200, failedBy: { timeout: 1, status: 1 } }, cpuMs: 500 };
    const merged = mergeShareResults([a, b]);
    expect(merged.cpuMs).toBe(1200);
    expect(merged.requests).toEqual({ total: 8, ok: 5, failed: 3, bytes: 500, failedBy: { timeout: 2, status: 1 } });
    expect(merged.connections).toEqual({ opened: 4, resumed: 2, earlyData: 0 });
    expect(merged.transport).toEqual({ rttMs: 1 });
    expect(merged.metrics['concurrency8.latency']!.count).toBe(5);
  });
});

describe('a client on several workers', () => {
  it('is machine-bound above 85% of a core per worker, not of one core', () => {
    const step = { windowMs: 1000, clientCpuMs: 1500, serverCpuMs: 900 };
    expect(boundProcesses(step)).toEqual(['client', 'server']);
    expect(boundProcesses(step, 2)).toEqual(['server']);
    expect(boundProcesses({ ...step, clientCpuMs: 1800 }, 2)).toEqual(['client', 'server']);
  });

  it("a load cell's client CPU share is its steps' (set-up, warm-up and the workers' start-up left out)", () => {
    const steps = [
      { windowMs: 1000, clientCpuMs: 900 },
      { windowMs: 3000, clientCpuMs: 2100 },
    ] as LoadStepDetails[];
    const cell = { clientCpuMs: 9000, durationMs: 4000, details: { load: { loop: 'closed' as const, clientWorkers: 2, steps } } };
    expect(clientCpuOverMeasurement(cell)).toEqual({ cpuMs: 3000, windowMs: 4000 });
    expect(clientCpuOverMeasurement({ clientCpuMs: 500, durationMs: 1000 })).toEqual({ cpuMs: 500, windowMs: 1000 });
    expect(clientCpuOverMeasurement({ durationMs: 1000 })).toBeUndefined();
  });
});
