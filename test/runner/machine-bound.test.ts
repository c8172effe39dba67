/**
 * Validity warnings that say a figure may be the machine's: the userspace link process busy or
 * late (LINK_SATURATED), bench's HTTP/3 server releasing its paced packets late (QUIC_SENDER_LATE).
 */
import { describe, expect, it } from 'vitest';
import { DIRECTION_DEFAULTS, type NetworkSpec } from '../../netem/model.ts';
import type { Cell, RunResult } from '../../src/results/model.ts';
import { quicReleaseLateness, validityWarnings } from '../../src/runner/summarise.ts';

function spec(oneWayMs: number): NetworkSpec {
  const d = { ...DIRECTION_DEFAULTS, delayMs: oneWayMs, rateBps: 100e6 };
  return { kind: 'shaped', backend: 'userspace', mtu: 1500, congestionControl: 'cubic', paths: [{ name: 'primary', up: d, down: d }], phases: [] };
}

function cell(extra: Partial<Cell>): Cell {
  return {
    network: 'n',
    protocol: 'h3',
    workload: 'w',
    workloadType: 'throughput',
    repetition: 0,
    order: 0,
    durationMs: 1000,
    requests: { total: 1, ok: 1, failed: 0, bytes: 1 },
    requestsPerSec: 1,
    goodputBps: 8,
    connections: { opened: 1, resumed: 0, earlyData: 0 },
    metrics: {},
    ...extra,
  };
}

function resultOf(c: Cell): RunResult {
  return { cells: [c], networks: [{ label: 'n', spec: spec(5), backend: 'userspace' }], run: {}, environment: { emulator: {} } } as unknown as RunResult;
}

const codes = (c: Cell) => validityWarnings(resultOf(c)).map((w) => w.code);

describe('machine-bound figures', () => {
  it('LINK_SATURATED: the link process above 85% of a core, or packets over 1 ms late at p99', () => {
    expect(codes(cell({ linkProcess: { cpuMs: 900, latenessP99Ms: 0.2 } }))).toContain('LINK_SATURATED');
    expect(codes(cell({ linkProcess: { cpuMs: 100, latenessP99Ms: 3 } }))).toContain('LINK_SATURATED');
    expect(codes(cell({ linkProcess: { cpuMs: 800, latenessP99Ms: 0.9 } }))).not.toContain('LINK_SATURATED');
    expect(codes(cell({}))).not.toContain('LINK_SATURATED');
  });

  it('QUIC_SENDER_LATE: paced packets late on average by more than a quarter of the base RTT (at least 1 ms)', () => {
    const sender = (lateSumMs: number, queued = 1000) =>
      cell({ serverQuic: [{ sentPackets: 1000, sentBytes: 1e6, lostPackets: 0, retransmittedPackets: 0, pacing: { queued, lateSumMs, lateMaxMs: 50, lateOver1Ms: 400, maxDepth: 10 } }] });
    // 10 ms RTT: bound 2.5 ms.
    expect(quicReleaseLateness(sender(4000), spec(5))).toEqual({ lateShare: 0.4, meanMs: 4, boundMs: 2.5 });
    expect(quicReleaseLateness(sender(2000), spec(5))).toBeUndefined();
    // 2 ms RTT: the bound is 1 ms, not 0.5.
    expect(quicReleaseLateness(sender(900), spec(1))).toBeUndefined();
    expect(quicReleaseLateness(sender(4000, 0), spec(5))).toBeUndefined();
    expect(codes(sender(4000))).toContain('QUIC_SENDER_LATE');
  });
});
