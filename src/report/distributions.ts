/**
 * Distribution points for the charts, from the encoded HdrHistograms of result.json (values in
 * microseconds; points in milliseconds). Histograms of repetitions are merged, never averaged.
 */
import * as hdr from 'hdr-histogram-js';
import type { MetricHistogram } from './model.ts';

const US_PER_MS = 1000;

export function decodeHistogram(encoded: string): hdr.Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 64, false);
}

/** One histogram holding every value of the given encoded histograms. */
export function mergeHistograms(encoded: readonly string[]): hdr.Histogram {
  const merged = hdr.build({ bitBucketSize: 64, autoResize: true, numberOfSignificantValueDigits: 3 });
  for (const e of encoded) {
    const h = decodeHistogram(e);
    merged.add(h);
    h.destroy();
  }
  return merged;
}

export interface PercentilePoint {
  /** 0..100 */
  percentile: number;
  /** 1 / (1 - percentile/100): the x coordinate of an HdrHistogram percentile plot (log scale). */
  inverseTail: number;
  valueMs: number;
}

/**
 * Points of an HdrHistogram-style percentile distribution: `ticksPerDecade` points per factor 10
 * of 1/(1-p), up to where the sample runs out (p = 1 - 1/count), ending at the maximum.
 */
export function percentileDistribution(h: hdr.Histogram, ticksPerDecade = 10): PercentilePoint[] {
  const count = h.totalCount;
  if (count === 0) return [];
  const points: PercentilePoint[] = [];
  const lastInverseTail = Math.max(count, 1);
  for (let i = 0; ; i++) {
    const inverseTail = 10 ** (i / ticksPerDecade);
    if (inverseTail >= lastInverseTail) break;
    const percentile = 100 - 100 / inverseTail;
    points.push({ percentile, inverseTail, valueMs: h.getValueAtPercentile(percentile) / US_PER_MS });
  }
  points.push({ percentile: 100 - 100 / lastInverseTail, inverseTail: lastInverseTail, valueMs: h.maxValue / US_PER_MS });
  return points;
}

export interface CdfPoint {
  valueMs: number;
  /** Fraction of samples at or below valueMs, 0..1. */
  fraction: number;
}

/** The empirical CDF sampled every `stepPercent` percent, plus the tail and the maximum. */
export function cdfPoints(h: hdr.Histogram, stepPercent = 0.5): CdfPoint[] {
  if (h.totalCount === 0) return [];
  const percentiles: number[] = [];
  for (let p = 0; p < 100; p += stepPercent) percentiles.push(p);
  percentiles.push(99.9, 99.99);
  const points = percentiles
    .sort((a, b) => a - b)
    .map((p) => ({ valueMs: h.getValueAtPercentile(p) / US_PER_MS, fraction: p / 100 }));
  points.push({ valueMs: h.maxValue / US_PER_MS, fraction: 1 });
  return points;
}

/** Percentiles of a merged histogram, in the MetricHistogram shape (without the encoding). */
export function histogramSummary(h: hdr.Histogram): Omit<MetricHistogram, 'encoded'> {
  const ms = (us: number) => us / US_PER_MS;
  return {
    unit: 'ms',
    count: h.totalCount,
    min: ms(h.minNonZeroValue),
    max: ms(h.maxValue),
    mean: ms(h.mean),
    stdev: ms(h.stdDeviation),
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
  };
}
