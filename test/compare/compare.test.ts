/**
 * Comparisons of two results: medians, changes and verdicts checked against figures computed here
 * from the cells, on fixtures with a known injected change.
 */
import { describe, expect, it } from 'vitest';
import { compareResults, compareValues, MIN_REPETITIONS } from '../../src/compare/compare.ts';
import { median } from '../../src/metrics/stats.ts';
import type { Cell, RunResult } from '../../src/results/model.ts';
import { fixtureResult } from '../report/fixture.ts';

/** The result with one cell figure scaled in every cell of `protocol` (all protocols when omitted). */
function scaled(result: RunResult, factor: { p99?: number; rps?: number }, protocol?: Cell['protocol']): RunResult {
  const copy = structuredClone(result);
  for (const c of copy.cells) {
    if (protocol && c.protocol !== protocol) continue;
    if (factor.p99) c.metrics.latency!.p99 *= factor.p99;
    if (factor.rps) c.requestsPerSec *= factor.rps;
  }
  return copy;
}

const perRep = (r: RunResult, protocol: string, pick: (c: Cell) => number) =>
  r.cells.filter((c) => c.protocol === protocol && !c.error).sort((a, b) => a.repetition - b.repetition).map(pick);

describe('compareResults', () => {
  const baseline = fixtureResult({ repetitions: 6, requestsPerCell: 1000, seed: 3 });

  it('compares every protocol on the workload’s headline metrics, medians from the cells', () => {
    const rows = compareResults(baseline, fixtureResult({ repetitions: 6, requestsPerCell: 1000, seed: 4 }));
    expect(rows.map((r) => `${r.protocol} ${r.metric.id}`)).toEqual(
      ['h1', 'h2', 'h3'].flatMap((p) => [`${p} requestsPerSec`, `${p} latency.p50`, `${p} latency.p99`]),
    );
    for (const row of rows) {
      const pick = row.metric.id === 'requestsPerSec' ? (c: Cell) => c.requestsPerSec : (c: Cell) => c.metrics.latency![row.metric.id === 'latency.p50' ? 'p50' : 'p99'];
      expect(row.baseline!.values).toEqual(perRep(baseline, row.protocol, pick));
      expect(row.baseline!.median).toBe(median(perRep(baseline, row.protocol, pick)));
      expect(row.change).toBeCloseTo(row.candidate!.median / row.baseline!.median - 1, 12);
      expect(row.ci95![0]).toBeLessThanOrEqual(row.change!);
      expect(row.ci95![1]).toBeGreaterThanOrEqual(row.change!);
    }
  });

  it('finds no change between a result and itself', () => {
    for (const row of compareResults(baseline, baseline)) {
      expect(row.verdict).toBe('no significant change');
      expect(row.change).toBe(0);
      // Each run is resampled on its own: the interval spans the noise around no change.
      expect(row.ci95![0]).toBeLessThan(0);
      expect(row.ci95![1]).toBeGreaterThan(0);
    }
  });

  it('calls a 40% slower p99 worse and a 40% higher throughput better, each in its own direction', () => {
    const rows = compareResults(baseline, scaled(baseline, { p99: 1.4, rps: 1.4 }, 'h2'));
    const h2 = (id: string) => rows.find((r) => r.protocol === 'h2' && r.metric.id === id)!;
    expect(h2('latency.p99').change).toBeCloseTo(0.4, 12);
    expect(h2('latency.p99').verdict).toBe('worse');
    expect(h2('requestsPerSec').verdict).toBe('better');
    expect(h2('latency.p50').verdict).toBe('no significant change');
    expect(rows.filter((r) => r.protocol !== 'h2').every((r) => r.verdict === 'no significant change')).toBe(true);
  });

  it('gives no verdict with fewer than the minimum repetitions, but still the change', () => {
    const few = fixtureResult({ repetitions: MIN_REPETITIONS - 1, requestsPerCell: 1000 });
    const rows = compareResults(few, scaled(few, { p99: 2 }));
    const p99 = rows.find((r) => r.metric.id === 'latency.p99')!;
    expect(p99.verdict).toBe('too few repetitions');
    expect(p99.change).toBeCloseTo(1, 12);
    expect(p99.ci95).toBeUndefined();
  });

  it('gives no verdict on a p99 from fewer than 1,000 samples per repetition', () => {
    const small = fixtureResult({ repetitions: 6, requestsPerCell: 300 });
    const rows = compareResults(small, scaled(small, { p99: 2 }));
    expect(rows.filter((r) => r.metric.id === 'latency.p99').map((r) => r.verdict)).toEqual(['too few samples', 'too few samples', 'too few samples']);
    expect(rows.filter((r) => r.metric.id === 'latency.p50').map((r) => r.verdict)).toEqual(Array(3).fill('no significant change'));
  });

  it('marks what only one run measured', () => {
    const noH3 = structuredClone(baseline);
    noH3.cells = noH3.cells.filter((c) => c.protocol !== 'h3');
    const rows = compareResults(baseline, noH3).filter((r) => r.protocol === 'h3');
    expect(rows.length).toBe(3);
    expect(rows.every((r) => r.verdict === 'not measured' && r.baseline && !r.candidate)).toBe(true);
  });
});

describe('compareValues', () => {
  const side = (values: number[]) => ({ values, median: median(values) });
  it('is significant only when the interval excludes no change', () => {
    const lower = { better: 'lower' as const };
    const a = side([10, 10.2, 9.9, 10.1, 10, 9.8]);
    expect(compareValues(lower, a, side([13, 13.1, 12.9, 13.2, 12.8, 13])).verdict).toBe('worse');
    expect(compareValues(lower, a, side([10.1, 9.9, 10, 10.2, 9.8, 10.1])).verdict).toBe('no significant change');
    expect(compareValues({ better: 'higher' }, a, side([13, 13.1, 12.9, 13.2, 12.8, 13])).verdict).toBe('better');
    expect(compareValues(lower, side([0, 0, 0, 0, 0]), side([0, 0, 0, 0, 0]))).toEqual({ change: 0, verdict: 'no significant change' });
    expect(compareValues(lower, side([0, 0, 0, 0, 0]), side([1, 0, 0, 0, 0])).verdict).toBe('not comparable');
  });
});
