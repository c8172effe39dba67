/**
 * bench's QUIC pacer on a simulated clock: a sender that always has data sends as fast as the pacer
 * allows. What leaves over a second must match gain x cwnd / srtt with Linux TCP's gains, and
 * every packet must get a send date within 1 ms by quiche 0.18's pacer clock, restated here from
 * its source (recovery/pacer.rs with pacing off: the clock moves to "now" only when more than
 * 10 packets / (1.25 x cwnd/srtt) passed since it last did).
 */
import { describe, expect, it } from 'vitest';
import { BURST_PACKETS, MIN_WAIT_MS, Pacer } from '../../src/quic/pacer.ts';

const PACKET = 1350;

/** quiche's date for packets sent at the given times (pacing off; ms). */
function quicheDates(sends: number[], cwnd: number, srttMs: number): number[] {
  const interval = (10 * PACKET) / ((1.25 * cwnd) / srttMs);
  let clock = -Infinity;
  let lastUpdate = -Infinity;
  return sends.map((t) => {
    if (t - lastUpdate > interval) {
      clock = Math.max(clock, t);
      lastUpdate = t;
    }
    return clock;
  });
}

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

const maxDateError = (sends: number[], cwnd: number, srtt: number) => {
  const dates = quicheDates(sends, cwnd, srtt);
  return Math.max(...sends.map((t, i) => t - dates[i]!));
};

describe('Pacer', () => {
  it('sends at 2 x cwnd/srtt in slow start and 1.2 x after', () => {
    for (const cwndPackets of [80, 100, 400, 2000]) {
      const cwnd = cwndPackets * PACKET;
      const slow = new Pacer(PACKET);
      slow.update(cwnd, 100, true);
      const inSlowStart = saturate(slow, 1000).bytes;
      const expected = (2 * cwnd) / 100;
      expect(inSlowStart / 1000 / expected, `${cwndPackets} packets`).toBeGreaterThan(0.97);
      expect(inSlowStart / 1000 / expected, `${cwndPackets} packets`).toBeLessThan(1.05 + (BURST_PACKETS * PACKET) / 1000 / expected);

      const avoidance = new Pacer(PACKET);
      avoidance.update(cwnd, 100, false);
      const after = saturate(avoidance, 1000).bytes;
      expect(after / 1000 / ((1.2 * cwnd) / 100), `${cwndPackets} packets`).toBeGreaterThan(0.97);
    }
  });

  it('dates every packet right by quiche\'s pacer clock, from 80-packet windows up', () => {
    for (const cwndPackets of [80, 100, 400, 2000]) {
      for (const slowStart of [true, false]) {
        const cwnd = cwndPackets * PACKET;
        const pacer = new Pacer(PACKET);
        pacer.update(cwnd, 100, slowStart);
        const { sends } = saturate(pacer, 2000, 0.3);
        expect(maxDateError(sends, cwnd, 100), `${cwndPackets} packets, slow start ${slowStart}`).toBeLessThanOrEqual(1.3);
      }
    }
  });

  it('below that, does not pace: a small window leaves as its ACKs allow', () => {
    for (const cwndPackets of [2, 10, 40, 70]) {
      const pacer = new Pacer(PACKET);
      pacer.update(cwndPackets * PACKET, 100, false);
      expect(pacer.bytesPerMs, `${cwndPackets} packets`).toBe(Infinity);
      for (let i = 0; i < 100; i++) pacer.onSent(PACKET, 0);
      expect(pacer.nextSendAt(0)).toBe(0);
    }
  });

  it('keeps following quiche\'s clock while unpaced, so dates stay right when pacing resumes', () => {
    const pacer = new Pacer(PACKET);
    const sends: Array<{ t: number; cwnd: number }> = [];
    // A small window sent as ACKs allow (a few packets every 7 ms), then a large one, paced.
    pacer.update(40 * PACKET, 100, true);
    for (let t = 0; t < 50; t += 7) for (let k = 0; k < 3; k++) {
      pacer.onSent(PACKET, t + k * 0.1);
      sends.push({ t: t + k * 0.1, cwnd: 40 * PACKET });
    }
    pacer.update(400 * PACKET, 100, true);
    let now = 50;
    while (now < 300) {
      const at = pacer.nextSendAt(now);
      if (at > now) now = at + 0.3;
      else {
        pacer.onSent(PACKET, now);
        sends.push({ t: now, cwnd: 400 * PACKET });
      }
    }
    // quiche's clock (pacer.rs, pacing off), with the window it had at each send.
    let lastUpdate = -Infinity;
    const errors = sends.map(({ t, cwnd }) => {
      if (t - lastUpdate > (10 * PACKET) / ((1.25 * cwnd) / 100)) lastUpdate = t;
      return t - lastUpdate;
    });
    expect(Math.max(...errors.slice(24))).toBeLessThanOrEqual(1.3);
  });

  it('lets the first 10 packets go at once, and never wakes sooner than 1 ms', () => {
    const pacer = new Pacer(PACKET);
    pacer.update(400 * PACKET, 100, true);
    const { sends } = saturate(pacer, 100);
    expect(sends.slice(0, BURST_PACKETS).every((t) => t === 0)).toBe(true);
    const wakes = [...new Set(sends)];
    const gaps = wakes.slice(1).map((t, i) => t - wakes[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(MIN_WAIT_MS);
  });

  it('makes up for late timers within a burst, and an idle sender saves no more than a burst', () => {
    const cwnd = 800 * PACKET;
    const onTime = new Pacer(PACKET);
    onTime.update(cwnd, 100, false);
    const full = saturate(onTime, 1000).bytes;
    const late = new Pacer(PACKET);
    late.update(cwnd, 100, false);
    expect(saturate(late, 1000, 0.9).bytes / full).toBeGreaterThan(0.97);

    const idle = new Pacer(PACKET);
    idle.update(cwnd, 100, false); // 12,960 bytes per ms: a burst is 2 ms' worth
    idle.onSent(PACKET, 0);
    expect(idle.budget(10_000)).toBeCloseTo(2 * 12960, 6);
  });

  it('does not hold packets before it knows a rate', () => {
    const pacer = new Pacer(PACKET);
    expect(pacer.nextSendAt(5)).toBe(5);
    pacer.onSent(PACKET, 5);
    expect(pacer.nextSendAt(5)).toBe(5);
  });
});
