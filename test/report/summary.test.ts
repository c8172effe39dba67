import { describe, expect, it } from 'vitest';
import { median } from '../../src/metrics/stats.ts';
import { renderSummaryMarkdown, renderSummaryText, summaryJson } from '../../src/report/summary.ts';
import { fixtureResult } from './fixture.ts';
import { handshakeFixture } from './workloads-fixture.ts';

/** The first number in a string, grouping commas removed. */
const firstNumber = (s: string) => Number(s.replace(/,/g, '').match(/-?\d+(\.\d+)?/)![0]);
/** Printed with three significant digits: within half a unit of the last printed digit. */
const printedAs = (printed: number, exact: number) => Math.abs(printed - exact) <= Math.max(0.5, Math.abs(exact) * 0.005);

describe('summaries', () => {
  const result = fixtureResult({ repetitions: 3 });

  it('JSON carries the medians and CIs of result.json per network, workload and protocol', () => {
    const json = summaryJson(result);
    expect(json.rows).toHaveLength(3);
    for (const row of json.rows) {
      const p99 = result.summaries.find((s) => s.protocol === row.protocol && s.metric === 'latency.p99')!;
      expect(row.metrics.map((m) => m.metric)).toEqual(['requestsPerSec', 'latency.p50', 'latency.p99']);
      expect(row.metrics.find((m) => m.metric === 'latency.p99')).toEqual({
        metric: 'latency.p99',
        label: 'latency p99',
        better: 'lower',
        median: p99.median,
        ci95: p99.ci95,
        interval: 'ci',
        n: 3,
        unit: 'ms',
      });
      expect(row.repetitions).toBe(3);
      expect(row.backend).toBe('userspace');
    }
    expect(json.warnings).toEqual({ error: 0, warn: 1, info: 1 });
  });

  it('terminal table prints requests/s, p50 and p99 with CIs for every protocol', () => {
    const text = renderSummaryText(result);
    const lines = text.split('\n');
    for (const [protocol, name] of [['h1', 'HTTP/1.1'], ['h2', 'HTTP/2'], ['h3', 'HTTP/3']] as const) {
      const line = lines.find((l) => l.trim().startsWith(name))!;
      const cols = line.trim().slice(name.length).trim().split(/\s{2,}/);
      const metrics = ['requestsPerSec', 'latency.p50', 'latency.p99'];
      cols.forEach((col, i) => {
        const s = result.summaries.find((x) => x.protocol === protocol && x.metric === metrics[i])!;
        expect(printedAs(firstNumber(col), s.median), `${name} ${metrics[i]}: ${col} vs ${s.median}`).toBe(true);
        expect(col).toMatch(/\(CI -?[\d.,]+(-| to )-?[\d.,]+, 3 reps\)/);
      });
    }
    expect(text).toContain('network lte, workload small-objects (requests)');
  });

  it('markdown has a table per network and workload, and the warnings', () => {
    const md = renderSummaryMarkdown(result);
    expect(md).toContain('| protocol | Requests/s | Latency p50 (ms) | Latency p99 (ms) |');
    expect(md.match(/^\| HTTP\//gm)).toHaveLength(3);
    expect(md).toContain('`REQUESTS_FAILED`');
  });

  it('shows the handshake workload by its own headline metrics, not requests/s', async () => {
    const { result: hs } = await handshakeFixture({ rttsMs: [100], repetitions: 3, connections: 4 });
    const json = summaryJson(hs);
    for (const row of json.rows) {
      const ids = row.metrics.map((m) => m.metric);
      expect(ids).not.toContain('requestsPerSec');
      expect(ids.slice(0, 2)).toEqual(['cold.firstByte', 'resumed.firstByte']);
      // 0-RTT exists only over QUIC.
      expect(ids.includes('0rtt.firstByte')).toBe(row.protocol === 'h3');
      // Each figure is the median over repetitions of the per-repetition median first byte in RTTs.
      const perRep = hs.cells
        .filter((c) => c.protocol === row.protocol && !c.error)
        .map((c) => {
          const ms = (c.details!.handshake!.connections ?? []).filter((x) => x.mode === 'cold' && !x.error).map((x) => x.phasesMs.firstByte!);
          return median(ms) / c.details!.handshake!.baseRttMs;
        });
      expect(row.metrics[0]!.median).toBeCloseTo(median(perRep), 9);
      expect(row.metrics[0]!.unit).toBe('rtt');
    }
    const text = renderSummaryText(hs);
    expect(text).toContain('Cold first byte (RTT)');
    expect(text).not.toContain('Requests/s');
  });
});
