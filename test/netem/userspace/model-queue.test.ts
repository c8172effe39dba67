import { describe, expect, it } from 'vitest';
import { DEFAULT_QUEUE_LIMIT_PACKETS, parseRateTrace, RateBottleneck, TraceBottleneck } from '../../../netem/userspace/model/bottleneck.ts';
import { PacketScheduler } from '../../../netem/userspace/model/scheduler.ts';
import { Xoshiro128 } from '../../../netem/userspace/model/rng.ts';

describe('rate bottleneck', () => {
  it('serializes back-to-back packets at the rate and counts the wait as queue delay', () => {
    const b = new RateBottleneck(12_000_000, { packets: 100 }); // 1500 B = 1 ms
    const admissions = Array.from({ length: 5 }, () => b.admit(0, 1500)!);
    expect(admissions.map((a) => a.departMs)).toEqual([1, 2, 3, 4, 5]);
    expect(admissions.map((a) => a.queueDelayMs)).toEqual([0, 1, 2, 3, 4]);
    // An idle link serves a packet at once.
    expect(b.admit(100, 750)).toEqual({ departMs: 100.5, queueDelayMs: 0 });
  });

  it('drops at the tail when the packet limit is reached, and accepts again as the queue drains', () => {
    const b = new RateBottleneck(12_000_000, { packets: 3 });
    expect([0, 0, 0, 0].map(() => b.admit(0, 1500) !== null)).toEqual([true, true, true, false]);
    expect(b.backlog(0)).toEqual({ packets: 3, bytes: 4500 });
    expect(b.backlog(1)).toEqual({ packets: 2, bytes: 3000 });
    expect(b.admit(1, 1500)?.departMs).toBe(4);
  });

  it('drops at the tail on the byte limit', () => {
    const b = new RateBottleneck(8_000_000, { bytes: 3000 });
    expect(b.admit(0, 1500)).not.toBeNull();
    expect(b.admit(0, 1000)).not.toBeNull();
    expect(b.admit(0, 600)).toBeNull();
    expect(b.admit(0, 500)).not.toBeNull();
  });

  it('uses netem default limit when none is given', () => {
    const b = new RateBottleneck(1_000, {});
    let accepted = 0;
    for (let i = 0; i < DEFAULT_QUEUE_LIMIT_PACKETS + 10; i++) if (b.admit(0, 100)) accepted++;
    expect(accepted).toBe(DEFAULT_QUEUE_LIMIT_PACKETS);
  });

  it('delivers the rate under overload', () => {
    const rateBps = 20_000_000;
    const b = new RateBottleneck(rateBps, { packets: 50 });
    let bytes = 0;
    let lastDepart = 0;
    // Offer 30 Mbit/s of 1200-byte packets for 2 s.
    const interval = (1200 * 8 * 1000) / 30_000_000;
    for (let t = 0; t < 2000; t += interval) {
      const a = b.admit(t, 1200);
      if (a) {
        bytes += 1200;
        lastDepart = a.departMs;
      }
    }
    expect(Math.abs((bytes * 8 * 1000) / lastDepart / rateBps - 1)).toBeLessThan(0.001);
  });
});

describe('trace bottleneck (Mahimahi mm-link)', () => {
  it('gives each opportunity 1500 bytes, repeating the trace with its last timestamp as period', () => {
    const b = new TraceBottleneck([1, 2, 3], 0, { packets: 100 });
    expect([0, 0, 0, 0, 0].map(() => b.admit(0, 1500)!.departMs)).toEqual([1, 2, 3, 4, 5]);
  });

  it('packs small packets into one opportunity and lets a big one span two', () => {
    const b = new TraceBottleneck([10, 20, 30, 40], 1000, { packets: 100 });
    expect(b.admit(1000, 500)!.departMs).toBe(1010);
    expect(b.admit(1000, 500)!.departMs).toBe(1010);
    expect(b.admit(1000, 1000)!.departMs).toBe(1020); // 500 bytes left at 1010, 500 more at 1020
    expect(b.admit(1000, 1000)!.departMs).toBe(1020);
  });

  it('wastes opportunities while nothing is queued', () => {
    const b = new TraceBottleneck([10, 20, 30, 40], 0, { packets: 100 });
    expect(b.admit(0, 100)!.departMs).toBe(10);
    // 1400 bytes of the 10 ms opportunity were left, but it has passed.
    expect(b.admit(25, 100)).toEqual({ departMs: 30, queueDelayMs: 5 });
    expect(b.admit(41, 100)!.departMs).toBe(50);
  });

  it('delivers the trace rate under overload', () => {
    // One opportunity per ms = 12 Mbit/s of 1500-byte packets.
    const trace = Array.from({ length: 100 }, (_, i) => i + 1);
    const b = new TraceBottleneck(trace, 0, { packets: 20 });
    let delivered = 0;
    for (let t = 0; t < 1000; t += 0.5) if (b.admit(t, 1500)) delivered++;
    expect(Math.abs(delivered - 1000)).toBeLessThanOrEqual(21);
  });

  it('parses the Mahimahi format and rejects bad lines', () => {
    expect(parseRateTrace('1\n1\n5\n\n# c\n9\n')).toEqual([1, 1, 5, 9]);
    expect(() => parseRateTrace('1\nx\n', 't.trace')).toThrow(/t.trace:2/);
    expect(() => parseRateTrace('5\n3\n')).toThrow(/must not decrease/);
    expect(() => parseRateTrace('0\n')).toThrow(/> 0/);
    expect(() => parseRateTrace('\n')).toThrow(/no delivery/);
  });
});

describe('packet scheduler', () => {
  it('releases in due order, ties in arrival order', () => {
    const s = new PacketScheduler<number>();
    const r = new Xoshiro128(9);
    const pushed: Array<[number, number]> = [];
    for (let i = 0; i < 5000; i++) {
      const due = Math.floor(r.next() * 100);
      s.push(due, i);
      pushed.push([due, i]);
    }
    const expected = pushed.sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[1]);
    const got: number[] = [];
    expect(s.peekDue()).toBe(0);
    while (s.size > 0) got.push(s.pop());
    expect(got).toEqual(expected);
    expect(s.peekDue()).toBe(Infinity);
  });
});
