/**
 * Latency distributions as HdrHistograms (hdr-histogram-js): values recorded in microseconds from
 * 1 us to 1 hour with 3 significant digits, stored compressed (base64) in result.json, merged by
 * adding counts (never by averaging percentiles). Summary numbers are in milliseconds.
 */
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

/**
 * A distribution as result.json stores it: summary numbers plus the encoded HdrHistogram for
 * merging. Defined here, where it is made; src/results/model.ts uses it in the result format.
 */
export interface MetricHistogram {
  /** Unit of min/max/mean/stdev/percentiles. */
  unit: 'ms';
  count: number;
  min: number;
  max: number;
  mean: number;
  stdev: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  /** Compressed HdrHistogram (base64), values recorded in microseconds. Merge these, never average percentiles. */
  encoded: string;
}

export const LOWEST_US = 1;
export const HIGHEST_US = 3_600_000_000;
export const SIGNIFICANT_DIGITS = 3;

export function newHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: LOWEST_US,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
    bitBucketSize: 32,
    autoResize: false,
    useWebAssembly: false,
  });
}

/** Exact moments kept next to the histogram (its own min/max/mean are bucket-rounded). */
interface Moments {
  count: number;
  min: number;
  max: number;
  mean: number;
  /** Sum of squared deviations from the mean (Welford's update), for an exact stdev. */
  m2: number;
}

/** Records durations in milliseconds (microsecond resolution). */
export class LatencyRecorder {
  readonly histogram = newHistogram();
  private readonly moments: Moments = { count: 0, min: Infinity, max: -Infinity, mean: 0, m2: 0 };
  /** Values above 1 hour, recorded as 1 hour. */
  clamped = 0;

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency must be a finite, non-negative number of ms, got ${ms}`);
    let us = Math.round(ms * 1000);
    if (us > HIGHEST_US) {
      us = HIGHEST_US;
      this.clamped++;
    }
    this.histogram.recordValue(us);
    const m = this.moments;
    const value = us / 1000;
    m.count++;
    m.min = Math.min(m.min, value);
    m.max = Math.max(m.max, value);
    const delta = value - m.mean;
    m.mean += delta / m.count;
    m.m2 += delta * (value - m.mean);
  }

  get count(): number {
    return this.moments.count;
  }

  /** ms at a percentile (0..100). */
  valueAt(percentile: number): number {
    return clamp(this.histogram.getValueAtPercentile(percentile) / 1000, this.moments);
  }

  toMetricHistogram(): MetricHistogram {
    const m = this.moments;
    if (m.count === 0) return emptyMetric(encodeIntoCompressedBase64(this.histogram));
    return summarise(this.histogram, {
      count: m.count,
      min: m.min,
      max: m.max,
      mean: m.mean,
      stdev: m.count > 1 ? Math.sqrt(m.m2 / m.count) : 0,
    });
  }
}

export function decodeHistogram(encoded: string): Histogram {
  return decodeFromCompressedBase64(encoded, 32, false);
}

export function encodeHistogram(histogram: Histogram): string {
  return encodeIntoCompressedBase64(histogram);
}

/**
 * One distribution from several (repetitions, workers): counts are added, so percentiles are those
 * of all samples together; count, min, max, mean and (population) stdev are combined exactly.
 */
export function mergeHistograms(...parts: MetricHistogram[]): MetricHistogram {
  const merged = newHistogram();
  for (const part of parts) merged.add(decodeHistogram(part.encoded));
  const nonEmpty = parts.filter((p) => p.count > 0);
  const count = nonEmpty.reduce((s, p) => s + p.count, 0);
  if (count === 0) return emptyMetric(encodeIntoCompressedBase64(merged));
  const mean = nonEmpty.reduce((s, p) => s + p.mean * p.count, 0) / count;
  // Parallel-axis theorem: total variance = within-part variance + between-part variance.
  const variance = nonEmpty.reduce((s, p) => s + p.count * (p.stdev ** 2 + (p.mean - mean) ** 2), 0) / count;
  return summarise(merged, {
    count,
    min: Math.min(...nonEmpty.map((p) => p.min)),
    max: Math.max(...nonEmpty.map((p) => p.max)),
    mean,
    stdev: Math.sqrt(variance),
  });
}

/** A MetricHistogram from a bare histogram (e.g. decoded from a file without summary numbers). */
export function metricFromHistogram(histogram: Histogram): MetricHistogram {
  if (histogram.totalCount === 0) return emptyMetric(encodeIntoCompressedBase64(histogram));
  return summarise(histogram, {
    count: histogram.totalCount,
    min: histogram.minNonZeroValue / 1000,
    max: histogram.maxValue / 1000,
    mean: histogram.mean / 1000,
    stdev: histogram.stdDeviation / 1000,
  });
}

type Exact = Pick<MetricHistogram, 'count' | 'min' | 'max' | 'mean' | 'stdev'>;

function summarise(histogram: Histogram, exact: Exact): MetricHistogram {
  const at = (p: number) => clamp(histogram.getValueAtPercentile(p) / 1000, exact);
  return {
    unit: 'ms',
    ...exact,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    encoded: encodeIntoCompressedBase64(histogram),
  };
}

/** Bucket rounding may put a percentile a hair outside the exact [min, max]; keep it inside. */
function clamp(value: number, range: { min: number; max: number }): number {
  return Math.min(Math.max(value, range.min), range.max);
}

function emptyMetric(encoded: string): MetricHistogram {
  return { unit: 'ms', count: 0, min: 0, max: 0, mean: 0, stdev: 0, p50: 0, p90: 0, p99: 0, p999: 0, encoded };
}
