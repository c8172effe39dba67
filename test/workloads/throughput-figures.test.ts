/**
 * The throughput workload's per-round figures and the catalogue's per-repetition values, on
 * hand-made download records whose goodput is worked out here by hand.
 */
import { describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/drivers/types.ts';
import { headlineMetrics, THROUGHPUT_METRICS } from '../../src/results/catalogue.ts';
import type { Cell } from '../../src/results/model.ts';
import { roundFigures, THROUGHPUT_BIN_MS } from '../../src/workloads/throughput.ts';

/** A download of `bytes` from t=1000 whose body arrives in equal chunks at the given times. */
function download(bytes: number, chunkTimes: number[], extra: Partial<RequestRecord> = {}): RequestRecord {
  const per = bytes / chunkTimes.length;
  return {
    id: 'r',
    path: `/bytes/${bytes}`,
    queued: 1000,
    sent: 1000,
    done: chunkTimes.at(-1)!,
    bytes,
    status: 200,
    progress: chunkTimes.map((t, i) => [t, per * (i + 1)]),
    ...extra,
  };
}

describe('throughput round figures', () => {
  it('goodput is the bytes of all downloads over the time from the requests to the last byte', () => {
    // Two downloads of 1 MB from t=1000, the last byte at t=1800: 2 MB in 0.8 s = 20 Mbit/s.
    const records = [download(1_000_000, [1100, 1400, 1700]), download(1_000_000, [1200, 1500, 1800])];
    const round = roundFigures(records, 1000, 1800);
    expect(round.completeMs).toBe(800);
    expect(round.goodputBps).toBeCloseTo(20e6, 6);
    expect(round.failed).toBe(0);
    // Bins of 100 ms from the requests: every chunk in its bin, the sum is every byte.
    expect(round.goodput.binMs).toBe(THROUGHPUT_BIN_MS);
    expect(round.goodput.bytes.reduce((a, b) => a + b, 0)).toBe(2_000_000);
    expect(round.goodput.bytes[1]).toBeCloseTo(1_000_000 / 3, 6); // t=1100
    expect(round.goodput.bytes[8]).toBeCloseTo(1_000_000 / 3, 6); // t=1800
  });

  it('a round with a failed download has no goodput or time to complete', () => {
    const records = [download(1_000_000, [1100, 1500]), download(400_000, [1200], { error: 'reset', status: undefined })];
    const round = roundFigures(records, 1000, 1500);
    expect(round.failed).toBe(1);
    expect(round.goodputBps).toBeUndefined();
    expect(round.completeMs).toBeUndefined();
    expect(round.bytes).toBe(1_400_000);
  });

  it('the catalogue takes each repetition’s median round, in Mbit/s, higher is better', () => {
    expect(headlineMetrics('throughput').map((m) => `${m.id} ${m.unit} ${m.better}`)).toEqual(['goodputMbps Mbit/s higher', 'completeMs ms lower']);
    const round = (mbps: number | undefined, ms: number | undefined) => ({ bytes: 0, failed: mbps === undefined ? 1 : 0, goodputBps: mbps === undefined ? undefined : mbps * 1e6, completeMs: ms, goodput: { binMs: 100, bytes: [] } });
    const cell = {
      details: { throughput: { sizeBytes: 1, parallel: 1, connectionsPerRound: 1, flowControl: {}, rounds: [round(10, 900), round(30, 300), round(undefined, undefined), round(20, 450)] } },
    } as unknown as Cell;
    expect(THROUGHPUT_METRICS.goodputMbps.pick(cell)).toBe(20);
    expect(THROUGHPUT_METRICS.completeMs.pick(cell)).toBe(450);
    expect(THROUGHPUT_METRICS.goodputMinMbps.pick(cell)).toBe(10);
    expect(THROUGHPUT_METRICS.goodputMaxMbps.pick(cell)).toBe(30);
    expect(THROUGHPUT_METRICS.goodputMbps.pick({ details: {} } as unknown as Cell)).toBeUndefined();
  });
});
