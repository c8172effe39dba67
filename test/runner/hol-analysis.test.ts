import { describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/drivers/types.ts';
import { analyseHeadOfLine, connectionEndpoints, dropsForEndpoints } from '../../src/workloads/hol-analysis.ts';
import type { DropEvent } from '../../netem/types.ts';

/** A stream receiving a chunk every `gap` ms from `from` to `to`, with an optional silent interval. */
function stream(id: string, from: number, to: number, gap: number, silence?: [number, number]): RequestRecord {
  const progress: Array<[number, number]> = [];
  let bytes = 0;
  for (let t = from + gap; t <= to; t += gap) {
    if (silence && t > silence[0] && t < silence[1]) continue;
    progress.push([t, (bytes += 1000)]);
  }
  return { id, path: '/bytes/x', queued: from, sent: from, done: to, bytes, progress };
}

const drop = (t: number, port = 5000): DropEvent => ({ t, path: 'primary', dir: 'down', proto: 'tcp', dstPort: port, len: 1500, reason: 'loss' });

describe('analyseHeadOfLine', () => {
  it('counts every in-flight stream as stalled when all go silent (TCP-like head-of-line blocking)', () => {
    const requests = [0, 1, 2, 3].map((i) => stream(`r${i}`, 0, 1000, 5, [300, 450]));
    const [event] = analyseHeadOfLine({ requests, drops: [drop(250)], oneWayDelayMs: { up: 50, down: 50 }, baseRttMs: 100 });
    expect(event).toMatchObject({ inFlight: 4, stalled: 4 });
    for (const ms of event!.stallMs) expect(ms).toBe(150);
  });

  it('counts only the silent stream when the others keep receiving (QUIC-like)', () => {
    const requests = [stream('lost', 0, 1000, 5, [300, 450]), stream('a', 0, 1000, 5), stream('b', 0, 1000, 5)];
    const [event] = analyseHeadOfLine({ requests, drops: [drop(250)], oneWayDelayMs: { up: 50, down: 50 }, baseRttMs: 100 });
    expect(event).toMatchObject({ inFlight: 3, stalled: 1 });
  });

  it('ignores streams not in flight and merges a burst of drops into one loss event', () => {
    const requests = [stream('early', 0, 200, 5), stream('late', 400, 900, 5)];
    const events = analyseHeadOfLine({ requests, drops: [drop(250), drop(250.5)], oneWayDelayMs: { up: 50, down: 50 }, baseRttMs: 100 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ inFlight: 0, stalled: 0 });
  });

  it('splits stalls by what the link delivered meanwhile: head-of-line blocked vs congestion-stalled', () => {
    // Two connections (ports 5000, 6000), two silent streams each from 300 to 450 ms. The link kept
    // delivering data to port 5000 during the silence (packets behind the hole), nothing to 6000.
    const requests = [
      { ...stream('a1', 0, 1000, 5, [300, 450]), connectionId: 'c5000' },
      { ...stream('a2', 0, 1000, 5, [300, 450]), connectionId: 'c5000' },
      { ...stream('b1', 0, 1000, 5, [300, 450]), connectionId: 'c6000' },
      { ...stream('b2', 0, 1000, 5, [300, 450]), connectionId: 'c6000' },
    ];
    const deliveries = { 5000: [290, 310, 320, 330, 460], 6000: [290, 460] };
    const ports = new Map([['c5000', 5000], ['c6000', 6000]]);
    const [event] = analyseHeadOfLine({
      requests,
      drops: [drop(250)],
      oneWayDelayMs: { up: 50, down: 50 },
      baseRttMs: 100,
      deliveries,
      portOf: (r) => ports.get(r.connectionId!),
    });
    expect(event).toMatchObject({ inFlight: 4, stalled: 4, holBlocked: 2, congestionStalled: 2, holRequests: [0, 1], waitedRequests: [0, 1, 2, 3] });
  });

  it('names the requests that waited over half an RTT though their usual gap kept them from counting as stalled', () => {
    // A stream served every 100 ms (one chunk per round trip, as when many share the window) that then
    // waits 210 ms (from the loss at 290 to its chunk at 500): over half an RTT, not over 3 usual gaps.
    const requests = [stream('sparse', 0, 1000, 100, [280, 440]), stream('busy', 0, 1000, 5)];
    const [event] = analyseHeadOfLine({ requests, drops: [drop(240)], oneWayDelayMs: { up: 50, down: 50 }, baseRttMs: 100 });
    expect(event).toMatchObject({ inFlight: 2, stalled: 0, waitedRequests: [0] });
  });

  it('leaves the split unknown without a delivery log (never "no head-of-line blocking")', () => {
    const requests = [stream('r', 0, 1000, 5, [300, 450])];
    const [event] = analyseHeadOfLine({ requests, drops: [drop(250)], oneWayDelayMs: { up: 50, down: 50 }, baseRttMs: 100 });
    expect(event!.stalled).toBe(1);
    expect(event!.holBlocked).toBeUndefined();
    expect(event!.congestionStalled).toBeUndefined();
  });

  it('keeps only drops of the given connections: their path and client port, in either direction', () => {
    const up = (t: number, port: number, path = 'primary'): DropEvent => ({ t, path, dir: 'up', proto: 'udp', srcPort: port, dstPort: 443, len: 1200, reason: 'loss' });
    const drops = [drop(1, 5000), drop(2, 6000), up(3, 6000), up(4, 6000, 'lte'), { ...drop(5, 443), srcPort: 6000 }];
    // Drop 5 goes to port 443 on the client side: not the connection's, although its source port is 6000.
    expect(dropsForEndpoints(drops, [{ path: 'primary', port: 6000 }]).map((d) => d.t)).toEqual([2, 3]);
    expect(dropsForEndpoints(drops, [{ path: 'primary', port: 6000 }, { path: 'lte', port: 6000 }]).map((d) => d.t)).toEqual([2, 3, 4]);
  });

  it('places each connection on the path of its client address (the first path when unknown)', () => {
    const conn = (id: string, localAddress: string | undefined, localPort: number | undefined) =>
      ({ id, protocol: 'h3', start: 0, resumed: false, earlyData: 'n/a', localAddress, localPort }) as const;
    const addresses = { wifi: '198.18.0.10', lte: '198.18.0.11' };
    expect(connectionEndpoints([conn('a', '198.18.0.11', 6000), conn('b', undefined, 7000), conn('c', '198.18.0.10', undefined)], addresses)).toEqual([
      { path: 'lte', port: 6000 },
      { path: 'wifi', port: 7000 },
    ]);
  });
});
