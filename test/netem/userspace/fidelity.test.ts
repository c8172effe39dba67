/**
 * Fidelity of the userspace link against the bounds the product promises (root):
 * 25 ms each way, 10 ms jitter, 1% loss, 20 Mbit/s.
 */
import { describe, expect, it } from 'vitest';
import { binomialInterval95, formatFidelity, measureFidelity, rateFromArrivals } from '../../../netem/fidelity.ts';
import { createUserspaceBackend } from '../../../netem/userspace/index.ts';
import { requireRoot } from './root-env.ts';

describe('fidelity arithmetic', () => {
  it('Wilson interval contains the estimate and narrows with n', () => {
    const [lo, hi] = binomialInterval95(100, 10_000);
    expect(lo).toBeLessThan(0.01);
    expect(hi).toBeGreaterThan(0.01);
    // Normal approximation half-width for comparison: 1.96 * sqrt(p(1-p)/n).
    expect(hi - lo).toBeCloseTo(2 * 1.96 * Math.sqrt((0.01 * 0.99) / 10_000), 3);
    const [lo2, hi2] = binomialInterval95(1000, 100_000);
    expect(hi2 - lo2).toBeLessThan(hi - lo);
    expect(binomialInterval95(0, 100)[0]).toBe(0);
  });

  it('rate over the busy middle ignores a slow start and a tail', () => {
    // 1000 packets of 1472 payload bytes every 0.6 ms (20 Mbit/s of 1500-byte IP packets), plus stragglers.
    const arrivals = Array.from({ length: 1000 }, (_, i) => ({ arrivedAt: 100 + i * 0.6, bytes: 1472 }));
    arrivals.push({ arrivedAt: 0, bytes: 1472 }, { arrivedAt: 2000, bytes: 1472 });
    expect(rateFromArrivals(arrivals, 28) / 20e6).toBeCloseTo(1, 6);
  });
});

const { skip } = requireRoot('userspace link fidelity');

/**
 * The bounds the product promises: mean one-way delay within 0.5 ms, jitter std within 10%, loss
 * inside the 95% binomial interval, rate within 3%, scheduler p99 lateness under 1 ms. What the link
 * itself decides (loss, rate, never early, jitter kept) must hold in every measurement. How late
 * packets are also depends on the machine (a busy 2-core VM stalls the link thread for tens of ms),
 * so up to three measurements are taken, every one printed, and all bounds must hold in one of them.
 */
const ATTEMPTS = 3;

describe.skipIf(skip)('userspace link fidelity (measured)', () => {
  it('meets the delay, jitter, loss, rate and lateness bounds', async () => {
    const texts: string[] = [];
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const r = await measureFidelity(() => createUserspaceBackend());
      const text = `attempt ${attempt}/${ATTEMPTS}\n${formatFidelity(r)}\n${JSON.stringify(r.details)}`;
      console.log(text);
      texts.push(text);
      expect(r.pass.loss, `loss\n${text}`).toBe(true);
      expect(r.pass.rate, `rate\n${text}`).toBe(true);
      expect(r.oneWayDelayMeanMs, `delivered early\n${text}`).toBeGreaterThanOrEqual(r.target.delayMs - 0.5);
      expect(r.jitterStdMs, `jitter lost\n${text}`).toBeGreaterThanOrEqual(0.9 * r.target.jitterMs);
      if (Object.values(r.pass).every(Boolean)) return;
    }
    expect.fail(`no measurement met every bound:\n${texts.join('\n\n')}`);
  }, 360_000);
});
