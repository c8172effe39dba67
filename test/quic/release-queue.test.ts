import { describe, expect, it } from 'vitest';
import { recordRelease, ReleaseQueue } from '../../src/quic/release-queue.ts';

describe('ReleaseQueue', () => {
  it('sends at once only when nothing waits and the release time is within the horizon', () => {
    const q = new ReleaseQueue<string>(1);
    expect(q.sendsNow(undefined, 100)).toBe(true);
    expect(q.sendsNow(100.9, 100)).toBe(true);
    expect(q.sendsNow(101.5, 100)).toBe(false);
    q.push('a', 105);
    // Due, but something waits ahead of it: order is kept.
    expect(q.sendsNow(100, 100)).toBe(false);
  });

  it('releases in build order what is due, and records how late each packet left', () => {
    const q = new ReleaseQueue<string>(1);
    q.push('a', 10);
    q.push('b', 12);
    q.push('c', 20);
    expect(q.nextAt).toBe(10);
    expect(q.lastAt).toBe(20);
    const out: string[] = [];
    q.takeDue(9.5, (p) => out.push(p)); // 'a' is within the 1 ms horizon: 0.5 ms early
    expect(out).toEqual(['a']);
    q.takeDue(14, (p) => out.push(p)); // 'b' 2 ms late
    expect(out).toEqual(['a', 'b']);
    expect(q.size).toBe(1);
    expect(q.stats).toMatchObject({ queued: 3, lateSumMs: 1.5, lateMaxMs: 2, lateOver1Ms: 1, maxDepth: 3 });
    q.takeAll((p) => out.push(p));
    expect(out).toEqual(['a', 'b', 'c']);
    expect(q.size).toBe(0);
    expect(q.nextAt).toBeUndefined();
    // takeAll (closing) is not a release at a scheduled time: it adds nothing to the lateness.
    expect(q.stats.lateSumMs).toBe(1.5);
  });

  it('keeps order across many pushes and partial takes', () => {
    const q = new ReleaseQueue<number>(0);
    const out: number[] = [];
    for (let i = 0; i < 5000; i++) {
      q.push(i, i);
      if (i % 7 === 0) q.takeDue(i - 3, (p) => out.push(p));
    }
    q.takeDue(Infinity, (p) => out.push(p));
    expect(out).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });

  it('counts a packet bench\'s pacer held before it was built as one that waited, with its lateness', () => {
    const q = new ReleaseQueue<number>(1);
    recordRelease(q.stats, 0.4, true);
    recordRelease(q.stats, 2.5, true);
    expect(q.stats).toEqual({ queued: 2, lateSumMs: 2.9, lateMaxMs: 2.5, lateOver1Ms: 1, maxDepth: 1 });
  });
});
