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
import { bootstrapRatioTest, holmAdjust, mannWhitneyMinimumP, mannWhitneyTest } from '../../src/metrics/stats.ts';

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

describe('significance tests and the family-wise correction', () => {
  it('holmAdjust: worked by hand, in input order', () => {
    // Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04 -> running maximum 0.02, 0.03, 0.06, 0.06.
    const adjusted = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((x, i) => expect(adjusted[i]).toBeCloseTo(x, 12));
    // Step-down at alpha 0.05: 0.005 <= 0.05/4, 0.01 <= 0.05/3, 0.03 > 0.05/2 -> stop: the first and the last rejected.
    expect(adjusted.map((p) => p <= 0.05)).toEqual([true, false, false, true]);
    // Capped at 1; a family of one is unadjusted; equal p-values get equal adjustments.
    expect(holmAdjust([0.4, 0.5])).toEqual([0.8, 0.8]);
    expect(holmAdjust([0.03])).toEqual([0.03]);
    expect(holmAdjust([0.02, 0.02, 0.02])).toEqual([0.06, 0.06, 0.06]);
    expect(holmAdjust([])).toEqual([]);
  });

  it('mannWhitneyTest: exact two-sided p-values, counted by hand and by SciPy', () => {
    // 3 vs 3: rank sum of a = 1 + 2 + 4 = 7, mean 10.5; of the 20 ways to pick 3 ranks of 6, sums 6, 7, 14
    // and 15 lie 3.5 or more from the mean: p = 4/20.
    expect(mannWhitneyTest([1, 2, 4], [3, 5, 6])).toMatchObject({ u: 1, p: 0.2, method: 'exact' });
    // Complete separation of 5 and 5: 2 of C(10, 5) = 252 splits (scipy.stats.mannwhitneyu, method='exact': 0.0079365).
    expect(mannWhitneyTest([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]).p).toBeCloseTo(2 / 252, 12);
    expect(mannWhitneyMinimumP(5, 5)).toBeCloseTo(2 / 252, 12);
    expect(mannWhitneyMinimumP(10, 10)).toBeCloseTo(2 / 184_756, 15);
    const overlap = mannWhitneyTest([5.2, 5.9, 6.1, 6.4, 7.0], [5.0, 5.3, 5.5, 5.8, 6.0]);
    expect(overlap.u).toBe(20);
    expect(overlap.p).toBeCloseTo(0.15079365079, 10); // SciPy, exact
    // Ties: midranks, and the exact distribution of their sums (enumerated over all 462 splits in Python: 62 of them).
    const tied = mannWhitneyTest([1, 2, 2, 3, 5], [2, 3, 4, 4, 6, 7]);
    expect(tied.u).toBe(6.5);
    expect(tied.p).toBeCloseTo(62 / 462, 12);
    expect(mannWhitneyTest([3, 3, 3, 3, 3], [3, 3, 3, 3, 3]).p).toBe(1);
  });

  it('mannWhitneyTest: the normal approximation (tie and continuity corrections) above 100 values', () => {
    const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
    // SciPy: mannwhitneyu(x, y, method='asymptotic', use_continuity=True).
    const tied = mannWhitneyTest(range(70, (i) => i / 2), range(50, (i) => i / 2 + 3));
    expect(tied).toMatchObject({ u: 1950, method: 'normal' });
    expect(tied.p).toBeCloseTo(0.2882134783, 6);
    const apart = mannWhitneyTest(range(60, (i) => i + 1), range(60, (i) => i + 41));
    expect(apart.u).toBe(200);
    expect(apart.p / 4.639580007e-17).toBeCloseTo(1, 4);
  });

  it('bootstrapRatioTest: never 0, 1 for identical samples, and below 0.05 exactly where the 95% interval excludes the null ratio', () => {
    const base = [5.5, 5.43, 5.4, 5.41, 5.66];
    const slower = base.map((v) => v * 1.2);
    // Every resampled median of the slower sample exceeds every one of the base: 1 + 0 of 10,000 below 1, doubled.
    expect(bootstrapRatioTest(slower, base).p).toBeCloseTo(2 / 10_001, 12);
    expect(bootstrapRatioTest(base, base).p).toBe(1);
    const noisy = [5.2, 6.3, 5.6, 5.9, 6.8];
    for (const nullRatio of [1, 1.05, 1.1, 1.15]) {
      const { ci95 } = compareSamples(noisy, base, { method: 'bootstrap', seed: 3 });
      const { p } = bootstrapRatioTest(noisy, base, { seed: 3, nullRatio });
      expect(p < 0.05, `null ${nullRatio}: p ${p}, interval ${ci95}`).toBe(ci95[0] > nullRatio || ci95[1] < nullRatio);
    }
  });
});
