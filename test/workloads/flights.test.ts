import { describe, expect, it } from 'vitest';
import { medianPerRoundTrip, packetsPerRoundTrip } from '../../src/workloads/flights.ts';

describe('packets per round trip', () => {
  it('buckets deliveries by whole round trips from the first, in any order', () => {
    // A sender with an initial window of 10 doubling each round trip of 100 ms: 10, 20, 40.
    const times = [
      ...Array.from({ length: 10 }, (_, i) => 1000 + i),
      ...Array.from({ length: 20 }, (_, i) => 1100 + i * 2),
      ...Array.from({ length: 40 }, (_, i) => 1200 + i * 2),
    ].reverse();
    expect(packetsPerRoundTrip(times, 100)).toEqual([10, 20, 40]);
  });

  it('keeps empty round trips inside a transfer (a retransmission timeout) and drops trailing ones', () => {
    expect(packetsPerRoundTrip([0, 10, 250, 260], 100)).toEqual([2, 0, 2]);
  });

  it('stops at maxRounds and gives nothing without deliveries or a round-trip time', () => {
    expect(packetsPerRoundTrip([0, 150, 250, 950], 100, 3)).toEqual([1, 1, 1]);
    expect(packetsPerRoundTrip([], 100)).toEqual([]);
    expect(packetsPerRoundTrip([1, 2], 0)).toEqual([]);
  });

  it('takes the median per round trip over the transfers that reached it', () => {
    expect(medianPerRoundTrip([[10, 20, 40], [8, 22], [12, 18, 44, 5]])).toEqual([10, 20, 42, 5]);
  });
});
