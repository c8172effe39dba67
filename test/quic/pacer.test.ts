/**
 * bench's QUIC pacer on a simulated clock: a sender that always has data sends as fast as the pacer
 * allows, and what leaves over a second must match gain x cwnd / srtt, with Linux TCP's gains.
 */
import { describe, expect, it } from 'vitest';
import { BURST_PACKETS, MIN_WAIT_MS, Pacer } from '../../src/quic/pacer.ts';

const PACKET = 1350;

/** Sends full packets whenever allowed, waking when the pacer says (as the connection's timer). */
function saturate(pacer: Pacer, untilMs: number, wakeLateMs = 0): { bytes: number; sends: number[] } {
  const sends: number[] = [];
  let now = 0;
  let bytes = 0;
  while (now < untilMs) {
    const at = pacer.nextSendAt(now);
    if (at > now) {
      now = at + wakeLateMs;
      continue;
    }
    pacer.onSent(PACKET, now);
    sends.push(now);
    bytes += PACKET;
  }
  return { bytes, sends };
}

describe('Pacer', () => {
  it('sends at 2 x cwnd/srtt in slow start and 1.2 x after', () => {
    const cwnd = 100 * PACKET;
    const slow = new Pacer(PACKET);
    slow.update(cwnd, 100, true);
    // 2 x 135,000 bytes per 100 ms = 2,700 bytes per ms, plus the first burst of 10 packets.
    const inSlowStart = saturate(slow, 1000).bytes;
    expect(inSlowStart).toBeGreaterThanOrEqual(2700 * 1000);
    expect(inSlowStart).toBeLessThanOrEqual(2700 * 1000 + (BURST_PACKETS + 1) * PACKET);

    const avoidance = new Pacer(PACKET);
    avoidance.update(cwnd, 100, false);
    const after = saturate(avoidance, 1000).bytes;
    expect(after).toBeGreaterThanOrEqual(1620 * 1000);
    expect(after).toBeLessThanOrEqual(1620 * 1000 + (BURST_PACKETS + 1) * PACKET);
  });

  it('lets the first 10 packets go at once, then never waits less than 1 ms', () => {
    const pacer = new Pacer(PACKET);
    pacer.update(10 * PACKET, 100, true); // 270 bytes per ms: one packet per 5 ms
    const { sends } = saturate(pacer, 100);
    expect(sends.slice(0, BURST_PACKETS).every((t) => t === 0)).toBe(true);
    const gaps = sends.slice(BURST_PACKETS).map((t, i) => t - sends[BURST_PACKETS - 1 + i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(MIN_WAIT_MS);
    expect(gaps[0]).toBeCloseTo(PACKET / 270, 6);
  });

  it('makes up for a late timer within a burst, and an idle sender saves no more than a burst', () => {
    const cwnd = 800 * PACKET;
    const onTime = new Pacer(PACKET);
    onTime.update(cwnd, 100, false);
    const late = new Pacer(PACKET);
    late.update(cwnd, 100, false);
    // Timers 0.9 ms late: the budget refilled meanwhile still goes out (a burst holds 2 ms), so
    // the rate holds; later than the burst allows, the sender falls behind.
    const full = saturate(onTime, 1000).bytes;
    expect(saturate(late, 1000, 0.9).bytes / full).toBeGreaterThan(0.97);
    const veryLate = new Pacer(PACKET);
    veryLate.update(cwnd, 100, false);
    expect(saturate(veryLate, 1000, 2).bytes / full).toBeLessThan(0.8);

    const idle = new Pacer(PACKET);
    idle.update(cwnd, 100, false); // 12,960 bytes per ms: a burst is 2 ms' worth
    idle.onSent(PACKET, 0);
    expect(idle.budget(10_000)).toBeCloseTo(2 * 12960, 6);
    expect(idle.maxBurst).toBeCloseTo(2 * 12960, 6);
  });

  it('does not hold packets before it knows a rate, nor small packets while the budget lasts', () => {
    const pacer = new Pacer(PACKET);
    expect(pacer.nextSendAt(5)).toBe(5);
    pacer.update(10 * PACKET, 100, true);
    for (let i = 0; i < 100; i++) pacer.onSent(60, 0); // 6,000 bytes of ACKs: under the burst
    expect(pacer.nextSendAt(0)).toBe(0);
  });
});
