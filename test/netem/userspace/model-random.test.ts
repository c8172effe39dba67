import { describe, expect, it } from 'vitest';
import { CorrelatedBernoulli, distributionQuantile, inverseNormalCdf, JitterSampler, normalCdf } from '../../../netem/userspace/model/distributions.ts';
import { createLoss, expectedLossRate, GilbertElliottLoss } from '../../../netem/userspace/model/loss.ts';
import { rngFor, Xoshiro128 } from '../../../netem/userspace/model/rng.ts';
import { lag1Correlation, max, mean, min, stdev } from './helpers.ts';

describe('seeded random numbers', () => {
  it('repeats the same sequence for the same seed and label, and differs otherwise', () => {
    const a = rngFor('run-1', 'primary/up/loss');
    const b = rngFor('run-1', 'primary/up/loss');
    const c = rngFor('run-1', 'primary/down/loss');
    const xa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xa);
  });

  it('is uniform on [0, 1)', () => {
    const r = new Xoshiro128(7);
    const xs = Array.from({ length: 100_000 }, () => r.next());
    expect(min(xs)).toBeGreaterThanOrEqual(0);
    expect(max(xs)).toBeLessThan(1);
    expect(mean(xs)).toBeCloseTo(0.5, 2);
    expect(stdev(xs)).toBeCloseTo(Math.sqrt(1 / 12), 2);
  });
});

describe('normal distribution helpers', () => {
  it('inverts the normal CDF at tabulated quantiles', () => {
    // Standard normal table values.
    expect(inverseNormalCdf(0.5)).toBeCloseTo(0, 9);
    expect(inverseNormalCdf(0.975)).toBeCloseTo(1.959964, 5);
    expect(inverseNormalCdf(0.001)).toBeCloseTo(-3.090232, 5);
    expect(normalCdf(1.644854)).toBeCloseTo(0.95, 6);
  });
});

describe('jitter as netem draws it', () => {
  const n = 200_000;
  const draw = (dist: 'normal' | 'uniform' | 'pareto' | 'paretonormal', corr: number, delay = 100, jitter = 10) => {
    const s = new JitterSampler(rngFor(1, dist), dist, corr);
    return Array.from({ length: n }, () => s.sample(delay, jitter));
  };

  it('normal: mean = delay, standard deviation = jitter', () => {
    const xs = draw('normal', 0);
    expect(Math.abs(mean(xs) - 100)).toBeLessThan(0.1);
    expect(Math.abs(stdev(xs) / 10 - 1)).toBeLessThan(0.01);
    expect(Math.abs(lag1Correlation(xs))).toBeLessThan(0.01);
  });

  it('uniform: flat on [delay - jitter, delay + jitter]', () => {
    const xs = draw('uniform', 0);
    expect(min(xs)).toBeGreaterThanOrEqual(90);
    expect(max(xs)).toBeLessThan(110);
    expect(Math.abs(stdev(xs) - 10 / Math.sqrt(3))).toBeLessThan(0.05);
  });

  it('pareto and paretonormal: moments match the quantile function of the table', () => {
    for (const dist of ['pareto', 'paretonormal'] as const) {
      // Moments of the table by numerical integration of its quantile function.
      const k = 200_000;
      let m1 = 0;
      let m2 = 0;
      for (let i = 0; i < k; i++) {
        const q = distributionQuantile(dist, (i + 0.5) / k);
        m1 += q / k;
        m2 += (q * q) / k;
      }
      const xs = draw(dist, 0);
      expect(Math.abs(mean(xs) - (100 + 10 * m1))).toBeLessThan(0.1);
      expect(Math.abs(stdev(xs) / (10 * Math.sqrt(m2 - m1 * m1)) - 1)).toBeLessThan(0.02);
    }
  });

  it('correlation gives consecutive draws that correlation and keeps the marginal', () => {
    for (const rho of [0.25, 0.5, 0.9]) {
      const xs = draw('normal', rho);
      expect(Math.abs(lag1Correlation(xs) - rho)).toBeLessThan(0.02);
      expect(Math.abs(stdev(xs) / 10 - 1)).toBeLessThan(0.03);
    }
    const us = draw('uniform', 0.5);
    expect(lag1Correlation(us)).toBeGreaterThan(0.4);
    expect(Math.abs(stdev(us) - 10 / Math.sqrt(3))).toBeLessThan(0.1);
  });

  it('never returns a negative delay', () => {
    const xs = draw('normal', 0, 5, 10);
    expect(min(xs)).toBe(0);
    expect(xs.filter((x) => x === 0).length / n).toBeCloseTo(normalCdf(-0.5), 2);
  });
});

describe('correlated Bernoulli (random loss, duplicate, reorder, corrupt)', () => {
  it('keeps the probability and gives the lag-1 correlation', () => {
    for (const [p, rho] of [
      [0.01, 0],
      [0.05, 0.25],
      [0.2, 0.6],
    ] as const) {
      const b = new CorrelatedBernoulli(rngFor(3, `${p}/${rho}`));
      const xs = Array.from({ length: 400_000 }, () => (b.draw(p, rho) ? 1 : 0));
      const rate = mean(xs);
      const se = Math.sqrt((p * (1 - p)) / xs.length) * Math.sqrt((1 + rho) / (1 - rho));
      expect(Math.abs(rate - p)).toBeLessThan(4 * se);
      expect(Math.abs(lag1Correlation(xs) - rho)).toBeLessThan(0.02);
    }
  });
});

describe('Gilbert-Elliott loss (netem gemodel)', () => {
  it('loses at the stationary rate', () => {
    const model = { model: 'gilbert-elliott', p: 0.02, r: 0.3, oneMinusH: 0.8, oneMinusK: 0.001 } as const;
    const loss = createLoss(model, rngFor(5, 'ge'));
    const n = 500_000;
    let lost = 0;
    for (let i = 0; i < n; i++) if (loss.lose()) lost++;
    const expected = expectedLossRate(model);
    expect(Math.abs(lost / n - expected)).toBeLessThan(0.05 * expected);
  });

  it('with 1-h = 1, 1-k = 0 gives bursts of mean length 1/r and gaps of mean length 1/p', () => {
    const p = 0.01;
    const r = 0.25;
    const ge = new GilbertElliottLoss(rngFor(6, 'ge-bursts'), p, r, 1, 0);
    const bursts: number[] = [];
    const gaps: number[] = [];
    let run = 0;
    let inLoss = false;
    for (let i = 0; i < 2_000_000; i++) {
      const l = ge.lose();
      if (l === inLoss) run++;
      else {
        if (run > 0) (inLoss ? bursts : gaps).push(run);
        inLoss = l;
        run = 1;
      }
    }
    expect(Math.abs(mean(bursts) - 1 / r) / (1 / r)).toBeLessThan(0.03);
    expect(Math.abs(mean(gaps) - 1 / p) / (1 / p)).toBeLessThan(0.03);
  });
});
