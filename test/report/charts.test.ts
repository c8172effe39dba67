import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { cdfPoints, mergeHistograms, percentileDistribution } from '../../src/report/distributions.ts';
import { percentileTicks } from '../../src/report/charts.ts';
import { metricHistogram, mulberry32, syntheticLatencies } from './fixture.ts';

describe('distribution points from encoded histograms', () => {
  const rand = mulberry32(1);
  const a = syntheticLatencies(rand, 3000, 20, 0.02, 200);
  const b = syntheticLatencies(rand, 1000, 60, 0.0, 0);
  const merged = mergeHistograms([metricHistogram(a).encoded, metricHistogram(b).encoded]);

  it('merging keeps every sample and the extremes', () => {
    expect(merged.totalCount).toBe(4000);
    const all = [...a, ...b].sort((x, y) => x - y);
    // HdrHistogram with 3 significant digits: values within 0.1%.
    expect(merged.maxValue / 1000).toBeCloseTo(all[all.length - 1]!, -Math.log10(all[all.length - 1]! * 0.002));
    const p50 = all[Math.ceil(all.length * 0.5) - 1]!;
    expect(Math.abs(merged.getValueAtPercentile(50) / 1000 - p50) / p50).toBeLessThan(0.002);
  });

  it('percentile points are on a log scale of 1/(1-p), monotone, ending at the maximum', () => {
    const points = percentileDistribution(merged);
    expect(points[0]!.percentile).toBe(0);
    expect(points[0]!.inverseTail).toBe(1);
    for (let i = 1; i < points.length; i++) {
      expect(points[i]!.inverseTail).toBeGreaterThan(points[i - 1]!.inverseTail);
      expect(points[i]!.valueMs).toBeGreaterThanOrEqual(points[i - 1]!.valueMs);
    }
    const last = points[points.length - 1]!;
    expect(last.inverseTail).toBe(4000);
    expect(last.valueMs).toBe(merged.maxValue / 1000);
    const p99 = points.find((p) => Math.abs(p.percentile - 99) < 1e-9)!;
    expect(p99.valueMs).toBe(merged.getValueAtPercentile(99) / 1000);
  });

  it('CDF points rise from 0 to 1 with latency', () => {
    const points = cdfPoints(merged);
    expect(points[0]!.fraction).toBe(0);
    expect(points[points.length - 1]!.fraction).toBe(1);
    for (let i = 1; i < points.length; i++) {
      expect(points[i]!.fraction).toBeGreaterThanOrEqual(points[i - 1]!.fraction);
      expect(points[i]!.valueMs).toBeGreaterThanOrEqual(points[i - 1]!.valueMs);
    }
  });

  it('an empty histogram gives no points', () => {
    const empty = hdr.build();
    expect(percentileDistribution(empty)).toEqual([]);
    expect(cdfPoints(empty)).toEqual([]);
  });

  it('axis ticks are 0%, 90%, 99%, 99.9% ..., as far as the largest point', () => {
    expect(percentileTicks(50)).toEqual([1, 10, 100, 1000]);
    expect(percentileTicks(4000)).toEqual([1, 10, 100, 1000, 10000]);
    expect(percentileTicks(10000)).toEqual([1, 10, 100, 1000, 10000]);
    expect(percentileTicks(250_000)).toEqual([1, 10, 100, 1000, 10000, 100000, 1000000]);
  });
});
