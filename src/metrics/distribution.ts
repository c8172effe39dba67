/**
 * Chart points from a histogram, for the report: the HdrHistogram percentile distribution
 * (value against percentile on a 1/(1-p) log axis) and a CDF. Pure functions of the histogram.
 */
import type { Histogram } from 'hdr-histogram-js';
import { decodeHistogram, type MetricHistogram } from './histogram.ts';

export interface PercentilePoint {
  /** 0..100 */
  percentile: number;
  /** ms */
  value: number;
  /** 1 / (1 - p): the x position on HdrHistogram's log axis (1 = p0, 10 = p90, 100 = p99 ...). */
  inverseTail: number;
}

export interface CdfPoint {
  /** ms */
  value: number;
  /** 0..1: share of samples <= value. */
  fraction: number;
}

type Source = Histogram | MetricHistogram | string;

function histogramOf(source: Source): Histogram {
  if (typeof source === 'string') return decodeHistogram(source);
  if ('encoded' in source) return decodeHistogram(source.encoded);
  return source;
}

/**
 * HdrHistogram's percentile ticks: `ticksPerHalf` points per halving of the remaining tail
 * (p = 1 - 0.5^(k/ticksPerHalf)), up to the tail a single sample stands for; then the maximum,
 * placed at 1/(1-p) = count, where the largest of n samples sits.
 */
export function percentileDistribution(source: Source, ticksPerHalf = 5): PercentilePoint[] {
  const h = histogramOf(source);
  const count = h.totalCount;
  if (count === 0) return [];
  const points: PercentilePoint[] = [];
  for (let k = 0; ; k++) {
    const inverseTail = 2 ** (k / ticksPerHalf);
    if (inverseTail >= count) break;
    const percentile = 100 * (1 - 1 / inverseTail);
    points.push({ percentile, value: h.getValueAtPercentile(percentile) / 1000, inverseTail });
  }
  points.push({ percentile: 100, value: h.maxValue / 1000, inverseTail: Math.max(count, 1) });
  return points;
}

/** CDF points at `steps` evenly spaced quantiles plus the tail ticks; duplicates removed. */
export function cdfPoints(source: Source, steps = 200): CdfPoint[] {
  const h = histogramOf(source);
  if (h.totalCount === 0) return [];
  const quantiles = new Set<number>();
  for (let i = 0; i <= steps; i++) quantiles.add(i / steps);
  for (const p of percentileDistribution(h)) quantiles.add(p.percentile / 100);
  const points: CdfPoint[] = [];
  for (const q of [...quantiles].sort((a, b) => a - b)) {
    const value = h.getValueAtPercentile(q * 100) / 1000;
    const last = points[points.length - 1];
    if (last && last.value === value) last.fraction = q;
    else points.push({ value, fraction: q });
  }
  return points;
}
