import { describe, expect, it } from 'vitest';
import {
  cdfPoints,
  decodeHistogram,
  LatencyRecorder,
  mergeHistograms,
  metricFromHistogram,
  percentileDistribution,
  seededRandom,
} from '../../src/metrics/index.ts';

/** Log-normal latencies (ms), seeded: a heavy tail like real ones. */
function latencies(n: number, seed: number, medianMs = 40): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return Math.round(medianMs * Math.exp(0.8 * z) * 1000) / 1000;
  });
}

/** Nearest rank as HdrHistogram counts it: the value at rank max(1, round(p% of n)). */
function exactPercentile(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.round((p / 100) * sorted.length)) - 1]!;
}

function recorderOf(values: number[]): LatencyRecorder {
  const r = new LatencyRecorder();
  for (const v of values) r.record(v);
  return r;
}

const closeTo = (actual: number, expected: number) => {
  // 3 significant digits: within 0.1% (plus one microsecond of rounding).
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(expected * 1e-3 + 1e-3);
};

describe('LatencyRecorder', () => {
  const values = latencies(20_000, 7);
  const sorted = [...values].sort((a, b) => a - b);
  const metric = recorderOf(values).toMetricHistogram();

  it('percentiles match a sorted array to 3 significant digits', () => {
    closeTo(metric.p50, exactPercentile(sorted, 50));
    closeTo(metric.p90, exactPercentile(sorted, 90));
    closeTo(metric.p99, exactPercentile(sorted, 99));
    closeTo(metric.p999, exactPercentile(sorted, 99.9));
  });

  it('count, min, max, mean and stdev are exact', () => {
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    expect(metric.count).toBe(values.length);
    expect(metric.min).toBe(sorted[0]);
    expect(metric.max).toBe(sorted[sorted.length - 1]);
    expect(metric.mean).toBeCloseTo(mean, 6);
    expect(metric.stdev).toBeCloseTo(sd, 6);
    expect(metric.unit).toBe('ms');
  });

  it('keeps microsecond resolution for sub-millisecond values', () => {
    const m = recorderOf([0.123, 0.123, 0.456]).toMetricHistogram();
    expect(m.min).toBe(0.123);
    expect(m.p50).toBeCloseTo(0.123, 3);
    expect(m.max).toBe(0.456);
  });

  it('refuses negative or non-finite values and clamps above one hour', () => {
    const r = new LatencyRecorder();
    expect(() => r.record(-1)).toThrow(RangeError);
    expect(() => r.record(Number.NaN)).toThrow(RangeError);
    r.record(5_000_000);
    expect(r.clamped).toBe(1);
    expect(r.toMetricHistogram().max).toBe(3_600_000);
  });

  it('an empty recorder gives zeros and a decodable histogram', () => {
    const m = new LatencyRecorder().toMetricHistogram();
    expect(m).toMatchObject({ count: 0, p99: 0, max: 0 });
    expect(decodeHistogram(m.encoded).totalCount).toBe(0);
  });
});

describe('encoding and merging', () => {
  it('encode -> decode keeps every count and percentile', () => {
    const r = recorderOf(latencies(5000, 3));
    const decoded = decodeHistogram(r.toMetricHistogram().encoded);
    expect(decoded.totalCount).toBe(5000);
    for (const p of [0, 10, 50, 90, 99, 99.9, 100]) {
      expect(decoded.getValueAtPercentile(p)).toBe(r.histogram.getValueAtPercentile(p));
    }
    const again = metricFromHistogram(decoded);
    expect(again.count).toBe(5000);
    closeTo(again.p99, r.toMetricHistogram().p99);
  });

  it('merging parts equals recording everything in one histogram', () => {
    const a = latencies(3000, 11, 20);
    const b = latencies(7000, 12, 80);
    const merged = mergeHistograms(recorderOf(a).toMetricHistogram(), recorderOf(b).toMetricHistogram(), new LatencyRecorder().toMetricHistogram());
    const whole = recorderOf([...a, ...b]).toMetricHistogram();
    expect(merged.count).toBe(10_000);
    for (const k of ['p50', 'p90', 'p99', 'p999', 'min', 'max'] as const) expect(merged[k]).toBe(whole[k]);
    expect(merged.mean).toBeCloseTo(whole.mean, 6);
    expect(merged.stdev).toBeCloseTo(whole.stdev, 6);
    // ... and is not the average of the parts' percentiles.
    const avgP99 = (recorderOf(a).toMetricHistogram().p99 + recorderOf(b).toMetricHistogram().p99) / 2;
    expect(Math.abs(merged.p99 - avgP99)).toBeGreaterThan(merged.p99 * 0.05);
  });

  it('encoded histograms stay small', () => {
    expect(recorderOf(latencies(100_000, 5)).toMetricHistogram().encoded.length).toBeLessThan(20_000);
  });
});

describe('chart points', () => {
  const values = latencies(10_000, 21);
  const metric = recorderOf(values).toMetricHistogram();

  it('percentile distribution: HdrHistogram ticks, monotone, ending at the maximum', () => {
    const points = percentileDistribution(metric);
    expect(points[0]).toMatchObject({ percentile: 0, inverseTail: 1 });
    for (let i = 1; i < points.length; i++) {
      expect(points[i]!.percentile).toBeGreaterThan(points[i - 1]!.percentile);
      expect(points[i]!.value).toBeGreaterThanOrEqual(points[i - 1]!.value);
    }
    // Five ticks per halving: the 5th tick is the median, the 10th p75, the 15th p87.5.
    expect(points.slice(5, 16).filter((_, i) => i % 5 === 0).map((p) => p.percentile)).toEqual([50, 75, 87.5]);
    const sorted = [...values].sort((a, b) => a - b);
    for (const point of points.slice(0, -1)) {
      expect(point.inverseTail).toBeCloseTo(1 / (1 - point.percentile / 100), 6);
      // At fractional ranks float rounding may pick a neighbouring sample: allow rank +-1.
      const rank = Math.max(1, Math.round((point.percentile / 100) * sorted.length));
      const lo = sorted[Math.max(0, rank - 2)]!;
      const hi = sorted[Math.min(sorted.length - 1, rank)]!;
      expect(point.value).toBeGreaterThanOrEqual(lo * (1 - 1e-3) - 1e-3);
      expect(point.value).toBeLessThanOrEqual(hi * (1 + 1e-3) + 1e-3);
    }
    const last = points[points.length - 1]!;
    expect(last.percentile).toBe(100);
    closeTo(last.value, metric.max);
    expect(last.inverseTail).toBe(10_000);
  });

  it('CDF: monotone from the minimum to 1 at the maximum, passing the median at 0.5', () => {
    const points = cdfPoints(metric);
    for (let i = 1; i < points.length; i++) {
      expect(points[i]!.value).toBeGreaterThan(points[i - 1]!.value);
      expect(points[i]!.fraction).toBeGreaterThan(points[i - 1]!.fraction);
    }
    expect(points[points.length - 1]!.fraction).toBe(1);
    closeTo(points[points.length - 1]!.value, metric.max);
    const atMedian = points.find((p) => p.fraction >= 0.5)!;
    closeTo(atMedian.value, metric.p50);
    expect(percentileDistribution(new LatencyRecorder().toMetricHistogram())).toEqual([]);
  });
});
