import { describe, expect, it } from 'vitest';
import { percentileTicks } from '../../src/report/charts.ts';

describe('percentile axis', () => {
  it('ticks are 0%, 90%, 99%, 99.9% ..., as far as the largest point', () => {
    expect(percentileTicks(50)).toEqual([1, 10, 100, 1000]);
    expect(percentileTicks(4000)).toEqual([1, 10, 100, 1000, 10000]);
    expect(percentileTicks(10000)).toEqual([1, 10, 100, 1000, 10000]);
    expect(percentileTicks(250_000)).toEqual([1, 10, 100, 1000, 10000, 100000, 1000000]);
  });
});
