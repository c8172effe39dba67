import { describe, expect, it } from 'vitest';
import {
  bootstrapCI95,
  compareSamples,
  describeComparison,
  mean,
  meanCI95,
  median,
  summariseSample,
  tCritical95,
  welchCI95,
} from '../../src/metrics/index.ts';

// Cushny & Peebles' sleep data (Student 1908; R's `sleep` dataset): extra hours of sleep per patient.
const drug1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const drug2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

describe('t distribution', () => {
  it('matches textbook critical values t(0.975, df)', () => {
    expect(tCritical95(1)).toBe(12.706);
    expect(tCritical95(4)).toBe(2.776);
    expect(tCritical95(9)).toBe(2.262);
    expect(tCritical95(30)).toBe(2.042);
    // Interpolated rows against tables with more rows: t(35) = 2.030, t(50) = 2.009, t(1000) = 1.962.
    expect(tCritical95(35)).toBeCloseTo(2.03, 2);
    expect(tCritical95(50)).toBeCloseTo(2.009, 2);
    expect(tCritical95(1000)).toBeCloseTo(1.962, 3);
    expect(tCritical95(Infinity)).toBeCloseTo(1.96, 3);
    expect(() => tCritical95(0)).toThrow(RangeError);
  });
});

describe('confidence intervals', () => {
  it("paired differences of the sleep data: R's t.test gives mean 1.58, CI 0.7001-2.4599", () => {
    const diffs = drug2.map((v, i) => v - drug1[i]!);
    expect(mean(diffs)).toBeCloseTo(1.58, 10);
    const [lo, hi] = meanCI95(diffs);
    expect(lo).toBeCloseTo(0.7001, 3);
    expect(hi).toBeCloseTo(2.4599, 3);
  });

  it("Welch on the sleep groups: R gives df 17.776, CI -3.3655 to 0.2055", () => {
    const w = welchCI95(drug1, drug2);
    expect(w.difference).toBeCloseTo(-1.58, 10);
    expect(w.df).toBeCloseTo(17.776, 3);
    expect(w.ci95[0]).toBeCloseTo(-3.3655, 2);
    expect(w.ci95[1]).toBeCloseTo(0.2055, 2);
  });

  it('summariseSample: median, mean, t interval; one value has no interval', () => {
    const s = summariseSample([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(s.median).toBe(4.5);
    expect(s.mean).toBe(5);
    expect(s.ciMethod).toBe('t');
    // s = sqrt(32/7), t(7) = 2.365: half-width 2.365 * 2.13809 / sqrt(8) = 1.78777
    expect(s.ci95[0]).toBeCloseTo(3.2122, 3);
    expect(s.ci95[1]).toBeCloseTo(6.7878, 3);
    expect(summariseSample([3])).toEqual({ median: 3, mean: 3, ci95: [3, 3], ciMethod: 'none' });
    expect(() => summariseSample([])).toThrow(RangeError);
  });

  it('median of odd and even samples', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('bootstrap: reproducible from the seed, and the interval brackets the median', () => {
    const values = Array.from({ length: 41 }, (_, i) => 10 + ((i * 37) % 41));
    const a = bootstrapCI95(values, median, { seed: 42 });
    expect(bootstrapCI95(values, median, { seed: 42 })).toEqual(a);
    // Means of resamples vary continuously, so another seed shows in the interval's ends.
    expect(bootstrapCI95(values, mean, { seed: 43 })).not.toEqual(bootstrapCI95(values, mean, { seed: 42 }));
    expect(a[0]).toBeLessThanOrEqual(median(values));
    expect(a[1]).toBeGreaterThanOrEqual(median(values));
    expect(a[1] - a[0]).toBeLessThan(41);
  });
});

describe('compareSamples', () => {
  const h2p99 = [120, 131, 118, 125, 140];
  const h3p99 = h2p99.map((v, i) => v * 0.59 * (1 + (i % 2 ? 0.02 : -0.02)));

  it('finds a 41% reduction with an interval that excludes no change', () => {
    const c = compareSamples(h3p99, h2p99);
    expect(c.method).toBe('welch-log');
    expect(c.ratio).toBeCloseTo(0.59, 2);
    expect(c.ci95[0]).toBeLessThan(c.ratio);
    expect(c.ci95[1]).toBeGreaterThan(c.ratio);
    expect(c.ci95[1]).toBeLessThan(1);
    expect(c.significant).toBe(true);
    expect(describeComparison(c, 'h2')).toMatch(/^41% lower than h2 \(95% CI \d+% to \d+%\)$/);
  });

  it('calls identical-looking samples not significant', () => {
    const c = compareSamples([10, 12, 11], [11, 10, 12]);
    expect(c.ratio).toBeCloseTo(1, 6);
    expect(c.significant).toBe(false);
    expect(describeComparison(c, 'h1')).toMatch(/not significant|the same as/);
  });

  it('bootstrap on medians when asked (seeded), and no interval from single values', () => {
    const c = compareSamples(h3p99, h2p99, { method: 'bootstrap', seed: 7 });
    expect(c.method).toBe('bootstrap');
    expect(c.ratio).toBeCloseTo(median(h3p99) / median(h2p99), 10);
    expect(c.ci95[0]).toBeLessThanOrEqual(c.ratio);
    expect(c.ci95[1]).toBeGreaterThanOrEqual(c.ratio);
    expect(compareSamples(h3p99, h2p99, { method: 'bootstrap', seed: 7 })).toEqual(c);
    const single = compareSamples([50], [100]);
    expect(single).toMatchObject({ ratio: 0.5, ci95: [0.5, 0.5], method: 'none', significant: false });
    expect(describeComparison(single, 'h2')).toBe('50% lower than h2 (one repetition each: no interval)');
  });

  it('higher values read as "higher than"', () => {
    const c = compareSamples([200, 210, 190], [100, 105, 95]);
    expect(describeComparison(c, 'h2')).toMatch(/^100% higher than h2/);
  });
});
