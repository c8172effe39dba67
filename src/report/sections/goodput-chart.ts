/**
 * Goodput over time per protocol (the migration and throughput sections): response bytes per bin,
 * the mean of several series per bin (repetitions, rounds), as a step line, with optional marks.
 */
import type { Protocol } from '../../drivers/types.ts';
import type { GoodputSeries } from '../../results/details.ts';
import { protocolColor } from '../charts.ts';
import { PROTOCOL_NAMES, type ReportContext, type VegaLiteSpec, type WorkloadScope } from '../context.ts';
import { mean } from './workload-figures.ts';

export interface GoodputChartOptions {
  /** The series of one protocol (bins of one bin width), averaged per bin. */
  series: (protocol: Protocol) => GoodputSeries[];
  /** Where x = 0 lies from the series' start, ms (the move: its time; else 0). */
  originMs: number;
  xTitle: string;
  /** Vertical rules, in s from the origin. */
  marks: Array<{ t: number; label: string }>;
  title: string;
  caption: (binMs: number) => string;
  source: string;
}

export function goodputOverTimeChart(ctx: ReportContext, scope: WorkloadScope, opts: GoodputChartOptions): string | undefined {
  const rows: Array<{ protocolName: string; t: number; mbps: number }> = [];
  let binMs: number | undefined;
  for (const protocol of scope.protocols) {
    const series = opts.series(protocol);
    if (series.length === 0) continue;
    binMs ??= series[0]!.binMs;
    const bins = Math.max(...series.map((s) => s.bytes.length));
    for (let i = 0; i < bins; i++) {
      const bytes = mean(series.map((s) => s.bytes[i] ?? 0));
      rows.push({ protocolName: PROTOCOL_NAMES[protocol], t: ((i + 0.5) * binMs - opts.originMs) / 1000, mbps: (bytes * 8) / (binMs * 1000) });
    }
  }
  if (rows.length === 0 || binMs === undefined) return undefined;
  const protocols = scope.protocols.filter((p) => rows.some((r) => r.protocolName === PROTOCOL_NAMES[p]));
  const markLayers =
    opts.marks.length === 0
      ? []
      : [
          {
            data: { values: opts.marks },
            mark: { type: 'rule', color: '#1f2328', strokeDash: [4, 3], strokeWidth: 1.2 },
            encoding: { x: { field: 't', type: 'quantitative' }, tooltip: [{ field: 'label', title: 'at' }] },
          },
          {
            data: { values: opts.marks },
            mark: { type: 'text', align: 'left', dx: 4, dy: -110, fontSize: 11, color: '#1f2328' },
            encoding: { x: { field: 't', type: 'quantitative' }, text: { field: 'label' } },
          },
        ];
  const spec: VegaLiteSpec = {
    width: 'container',
    height: 240,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.6 },
        encoding: {
          x: { field: 't', type: 'quantitative', title: opts.xTitle },
          y: { field: 'mbps', type: 'quantitative', title: 'Goodput (Mbit/s)' },
          color: protocolColor(protocols),
          tooltip: [
            { field: 'protocolName', title: 'protocol' },
            { field: 't', title: opts.xTitle, format: '.2f' },
            { field: 'mbps', title: 'Mbit/s', format: '.2f' },
          ],
        },
      },
      ...markLayers,
    ],
  };
  return ctx.chart(spec, { title: opts.title, caption: opts.caption(binMs), source: opts.source });
}
