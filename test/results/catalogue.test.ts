/**
 * The metric catalogue on results made by the real workloads over simulated drivers: every
 * headline figure is recomputed here from the raw material in the cells (each connection's
 * phases, each loss event), not from the per-mode medians the catalogue reads.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { median } from '../../src/metrics/stats.ts';
import { findMetric, headlineMetrics, workloadMetrics } from '../../src/results/catalogue.ts';
import type { RunResult } from '../../src/results/model.ts';
import { summariseCells } from '../../src/runner/summarise.ts';
import { handshakeFixture, multiplexFixture } from '../report/workloads-fixture.ts';

let handshake: RunResult;
let multiplex: RunResult;
beforeAll(async () => {
  handshake = (await handshakeFixture({ rttsMs: [100], repetitions: 2, connections: 5 })).result;
  multiplex = (await multiplexFixture({ repetitions: 2, page: true })).result;
}, 120_000);

describe('metric catalogue', () => {
  it('names each workload type’s headline metrics, with units and directions', () => {
    const ids = (t: string) => headlineMetrics(t).map((m) => `${m.id} ${m.unit} ${m.better}`);
    expect(ids('requests')).toEqual(['requestsPerSec req/s higher', 'latency.p50 ms lower', 'latency.p99 ms lower']);
    expect(ids('multiplex')).toEqual(['latency.p50 ms lower', 'latency.p99 ms lower', 'stalledPerLoss streams lower']);
    expect(ids('handshake')).toEqual(
      expect.arrayContaining(['cold.firstByte rtt lower', '0rtt.firstByte rtt lower', 'resumed.resumedConnections count higher', '0rtt.earlyDataAccepted count higher']),
    );
    expect(ids('handshake')).not.toContain('requestsPerSec req/s higher');
  });

  it('reads the handshake headline per repetition as the median over that repetition’s connections', () => {
    const cells = handshake.cells.filter((c) => !c.error);
    expect(cells.length).toBeGreaterThan(0);
    for (const cell of cells) {
      const d = cell.details!.handshake!;
      for (const mode of ['cold', 'resumed', '0rtt'] as const) {
        const ok = (d.connections ?? []).filter((c) => c.mode === mode && !c.error);
        const firstByte = findMetric('handshake', `${mode}.firstByte`)!.pick(cell);
        if (ok.length === 0) {
          expect(firstByte).toBeUndefined();
          continue;
        }
        expect(firstByte).toBeCloseTo(median(ok.map((c) => c.phasesMs.firstByte!)) / d.baseRttMs, 9);
        if (mode !== 'cold') expect(findMetric('handshake', `${mode}.resumedConnections`)!.pick(cell)).toBe(ok.filter((c) => c.resumed).length);
        if (mode === '0rtt') expect(findMetric('handshake', '0rtt.earlyDataAccepted')!.pick(cell)).toBe(ok.filter((c) => c.earlyData === true).length);
      }
    }
    // 0-RTT over TCP is not a number, and QUIC 0-RTT lands near one round trip.
    const h1 = cells.find((c) => c.protocol === 'h1')!;
    expect(findMetric('handshake', '0rtt.firstByte')!.pick(h1)).toBeUndefined();
    const h3 = cells.find((c) => c.protocol === 'h3')!;
    expect(findMetric('handshake', '0rtt.firstByte')!.pick(h3)).toBeGreaterThan(0.9);
    expect(findMetric('handshake', '0rtt.firstByte')!.pick(h3)).toBeLessThan(1.3);
  });

  it('reads streams stalled per loss event from the loss events, and page handshakes from the loads', () => {
    for (const cell of multiplex.cells.filter((c) => c.workloadType === 'multiplex' && !c.error)) {
      const stalls = cell.details!.multiplex!.stalledPerLoss;
      const value = findMetric('multiplex', 'stalledPerLoss')!.pick(cell);
      if (stalls.length === 0) expect(value).toBeUndefined();
      else expect(value).toBeCloseTo(stalls.reduce((a, b) => a + b, 0) / stalls.length, 9);
    }
    for (const cell of multiplex.cells.filter((c) => c.workloadType === 'page' && !c.error)) {
      expect(findMetric('page', 'handshakesPerLoad')!.pick(cell)).toBe(median(cell.details!.page!.handshakesPerLoad));
    }
  });

  it('resolves statistics of any recorded distribution and rejects unknown names', () => {
    const cell = multiplex.cells.find((c) => c.metrics.excess)!;
    expect(findMetric('multiplex', 'excess.p99')!.pick(cell)).toBe(cell.metrics.excess!.p99);
    expect(findMetric('requests', 'someNewHistogram.p90')?.unit).toBe('ms');
    expect(findMetric('requests', 'latency.p98')).toBeUndefined();
    expect(findMetric('requests', 'requestsPerSecond')).toBeUndefined();
    expect(workloadMetrics('requests').map((m) => m.id)).toContain('ttfb.p999');
  });

  it('gives the runner a summary for every headline metric that has values', () => {
    const summaries = summariseCells(handshake.cells);
    const h3 = summaries.filter((s) => s.protocol === 'h3');
    for (const id of ['cold.firstByte', 'resumed.firstByte', '0rtt.firstByte', '0rtt.earlyDataAccepted']) {
      const s = h3.find((x) => x.metric === id);
      expect(s, id).toBeDefined();
      const values = handshake.cells.filter((c) => c.protocol === 'h3' && c.network === s!.network && !c.error).map((c) => findMetric('handshake', id)!.pick(c)!);
      expect(s!.values).toEqual(values);
      expect(s!.median).toBe(median(values));
    }
    expect(summaries.some((s) => s.protocol === 'h1' && s.metric === '0rtt.firstByte')).toBe(false);
  });
});
