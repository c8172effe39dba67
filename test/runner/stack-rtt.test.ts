import { describe, expect, it } from 'vitest';
import { DIRECTION_DEFAULTS, type NetworkSpec } from '../../netem/model.ts';
import type { QuicSenderStats } from '../../src/quic/stats.ts';
import type { Cell } from '../../src/results/model.ts';
import { stackRttInflation } from '../../src/runner/summarise.ts';

function spec(oneWayMs: number, extra: Partial<typeof DIRECTION_DEFAULTS> = {}): NetworkSpec {
  const d = { ...DIRECTION_DEFAULTS, delayMs: oneWayMs, ...extra };
  return { kind: 'shaped', backend: 'userspace', mtu: 1500, congestionControl: 'cubic', paths: [{ name: 'primary', up: d, down: d }], phases: [] };
}

function cellWithSenderRtts(srtts: number[]): Cell {
  const sender = (srttMs: number): QuicSenderStats => ({
    srttMs,
    sentPackets: 900,
    sentBytes: 1e6,
    lostPackets: 0,
    retransmittedPackets: 0,
    pacing: { queued: 0, lateSumMs: 0, lateMaxMs: 0, lateOver1Ms: 0, maxDepth: 0 },
  });
  return { protocol: 'h3', serverQuic: srtts.map(sender) } as unknown as Cell;
}

describe('stack RTT inflation (the HTTP/3 server saw a longer RTT than the link can cause)', () => {
  it('flags a median sender RTT more than 10% above a queue-free path', () => {
    expect(stackRttInflation(cellWithSenderRtts([125, 130, 118]), spec(50))).toEqual({ srttMs: 125, pathRttMs: 100, connections: 3 });
  });

  it('accepts up to 10% above the path RTT', () => {
    expect(stackRttInflation(cellWithSenderRtts([104, 109, 101]), spec(50))).toBeUndefined();
  });

  it('says nothing when the link itself can queue (a rate limit or jitter)', () => {
    expect(stackRttInflation(cellWithSenderRtts([150, 160]), spec(50, { rateBps: 10e6 }))).toBeUndefined();
    expect(stackRttInflation(cellWithSenderRtts([150, 160]), spec(50, { jitterMs: 10 }))).toBeUndefined();
  });
});
