/**
 * A scenario's `reference:` in the report: each claim with bench's figures for its metric per
 * network, and the change from the first network to the last, checked against medians computed
 * here from the cells.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { median } from '../../src/metrics/index.ts';
import { renderReport } from '../../src/report/html.ts';
import { referenceFigures } from '../../src/report/reference.ts';
import { renderSummaryMarkdown } from '../../src/report/summary.ts';
import type { RunResult } from '../../src/results/model.ts';
import { multiplexFixture } from './workloads-fixture.ts';

let result: RunResult;
beforeAll(async () => {
  const { result: r } = await multiplexFixture({ losses: [0.01, 0.05], repetitions: 3, requests: 30, rounds: 2 });
  result = { ...r, scenario: { ...r.scenario, reference: { source: 'A study (2024)', claims: [{ workload: 'hol', metric: 'latency.p50', says: 'HTTP/3 degrades less than HTTP/2 as loss grows' }] } } };
});

describe('a study\u2019s claims beside the figures', () => {
  it('gives the metric per protocol and network, and the change from the first network to the last', () => {
    const ref = referenceFigures(result)!;
    expect(ref.source).toBe('A study (2024)');
    const claim = ref.claims[0]!;
    expect(claim.networks).toEqual(['loss=1%', 'loss=5%']);
    for (const row of claim.rows) {
      const p50 = (network: string) =>
        median(result.cells.filter((c) => c.network === network && c.protocol === row.protocol && c.workload === 'hol' && !c.error).map((c) => c.metrics.latency!.p50));
      const [low, high] = [p50('loss=1%'), p50('loss=5%')];
      expect(row.values.map((v) => Number.parseFloat(v!.replace(/,/g, '')))).toEqual([low, high].map((v) => expect.closeTo(v, v >= 100 ? 0 : 1)));
      expect(Number.parseFloat(row.change!.slice(1))).toBeCloseTo(high / low, 2);
    }
  });

  it('prints the claim in report.html (after the story, before the networks) and summary.md', () => {
    const html = renderReport(result);
    const at = html.indexOf('<section id="reference">');
    expect(at).toBeGreaterThan(html.indexOf('<section id="story">'));
    expect(at).toBeLessThan(html.indexOf('<section class="network"'));
    expect(html).toContain('\u201cHTTP/3 degrades less than HTTP/2 as loss grows\u201d');
    expect(renderSummaryMarkdown(result)).toContain('## What A study (2024) found, beside this run');
  });

  it('is absent without a reference', () => {
    const { reference: _, ...scenario } = result.scenario;
    expect(renderReport({ ...result, scenario } as RunResult)).not.toContain('id="reference"');
  });
});
