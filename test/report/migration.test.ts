/**
 * The migration section of report.html and the `bench run --json` rows of a migration workload, on
 * the simulated moves of migration-fixture.ts: every expected figure is derived here from the
 * cells' own details, never written down.
 */
import { describe, expect, it } from 'vitest';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { PROTOCOLS } from '../../src/drivers/types.ts';
import { median } from '../../src/metrics/index.ts';
import { renderReport } from '../../src/report/html.ts';
import { summaryJson } from '../../src/report/summary.ts';
import { headlineMetrics } from '../../src/results/catalogue.ts';
import { migrationDetails } from '../../src/results/details.ts';
import type { RunResult } from '../../src/results/model.ts';
import { summariseCells } from '../../src/runner/summarise.ts';
import { MIGRATION_NETWORK, migrationCells } from './migration-fixture.ts';

function fixture(): RunResult {
  const cells = migrationCells();
  return {
    schemaVersion: 1,
    tool: { name: 'bench', version: '0.1.0', dependencies: {} },
    run: { id: 'migration-fixture', startedAt: '2025-01-01T12:00:00.000Z', durationMs: 60_000, argv: ['run'], seed: 1, status: 'complete' },
    environment: { node: 'v20', platform: 'linux', kernel: '6.1', cpu: { model: 'Test', cores: 2 }, memoryBytes: 1, emulator: { backend: 'userspace', shaped: true } },
    scenario: { name: 'moves', file: 'scenarios/moves.yaml', description: '', protocols: [...PROTOCOLS], repetitions: 2 },
    networks: [MIGRATION_NETWORK],
    cells,
    summaries: summariseCells(cells),
    warnings: [],
  } as unknown as RunResult;
}

describe('migration results', () => {
  const result = fixture();

  it('the catalogue heads a migration workload with the five figures the --json rows carry, per protocol', () => {
    expect(headlineMetrics('migration').map((m) => m.id)).toEqual(['interruptionMs', 'requestsFailed', 'requestsRetried', 'bytesRefetched', 'connectionSurvived']);
    const rows = summaryJson(result).rows.filter((r) => r.workloadType === 'migration');
    expect(rows).toHaveLength(6);
    for (const row of rows) {
      const details = result.cells.filter((c) => c.workload === row.workload && c.protocol === row.protocol).map((c) => migrationDetails(c)!);
      const figure = (id: string) => row.metrics.find((m) => m.metric === id)?.median;
      expect(figure('interruptionMs')).toBeCloseTo(median(details.map((d) => d.interruptionMs!)), 6);
      expect(figure('requestsFailed')).toBe(median(details.map((d) => d.requestsFailed)));
      expect(figure('requestsRetried')).toBe(median(details.map((d) => d.requestsRetried)));
      expect(figure('bytesRefetched')).toBe(0);
      expect(figure('connectionSurvived')).toBe(row.protocol === 'h3' ? 1 : 0);
    }
  });

  it('the section shows each protocol\'s figures beside the expected bound, and a goodput chart with the move that renders', async () => {
    const html = renderReport(result);
    const sections = html.split('<div class="workload-analysis migration-analysis">').slice(1);
    expect(sections).toHaveLength(2);
    for (const [i, mode] of (['handover', 'rebind'] as const).entries()) {
      const section = sections[i]!;
      expect(section).toContain(`Connection migration: ${mode}`);
      for (const protocol of PROTOCOLS) {
        const row = new RegExp(`<tr data-protocol="${protocol}">([\\s\\S]*?)</tr>`).exec(section)![1]!;
        const ds = result.cells.filter((c) => c.workload === mode && c.protocol === protocol).map((c) => migrationDetails(c)!);
        expect(row).toContain(`${Math.round(ds[0]!.expected.ms)} ms`);
        expect(row).toContain(`data-survived="${ds.filter((d) => d.connectionSurvived).length}"`);
      }
    }
    expect(sections[1]).toContain('read ECONNRESET');
    // The stack's share of HTTP/3's failed requests is named where the connection survived.
    expect(html).toContain('cloudflare/quiche#2452');
    const charts = JSON.parse(/<script type="application\/json" id="bench-charts">([\s\S]*?)<\/script>/.exec(html)![1]!) as Array<{ id: string; spec: Record<string, unknown> }>;
    const goodput = charts.filter((c) => JSON.stringify(c.spec).includes('Time from the move'));
    expect(goodput).toHaveLength(2);
    for (const chart of goodput) {
      const view = new vega.View(vega.parse(vegaLite.compile({ ...chart.spec, width: 600 } as vegaLite.TopLevelSpec).spec), { renderer: 'none' });
      await view.runAsync();
      const svg = await view.toSVG();
      // Three protocol lines and the rule at the move.
      expect(svg.match(/class="mark-line/g)?.length ?? 0).toBeGreaterThanOrEqual(1);
      expect(svg).toContain('mark-rule');
    }
  });
});
