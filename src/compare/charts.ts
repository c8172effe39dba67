/**
 * compare.html's own charts: runs told apart by colour (the baseline grey), protocols by row.
 * The distribution charts are the report's (src/report/charts.ts) with the runs as series.
 */
import type { Protocol } from '../drivers/types.ts';
import type { SeriesOptions } from '../report/charts.ts';
import { PROTOCOL_NAMES, type VegaLiteSpec } from '../report/context.ts';

/** The baseline in grey, candidates in colours that do not read as a protocol's. */
const RUN_COLORS = ['#8c959f', '#f58518', '#8e6ac8', '#17becf', '#bcbd22', '#e377c2'];

export function runColor(index: number): string {
  return RUN_COLORS[index % RUN_COLORS.length]!;
}

/** Colour by run label, in run order, for the report's distribution charts. */
export function runSeries(labels: readonly string[]): SeriesOptions {
  return {
    color: {
      field: 'run',
      type: 'nominal',
      title: 'Run',
      scale: { domain: [...labels], range: labels.map((_, i) => runColor(i)) },
      legend: { orient: 'top', direction: 'vertical', title: null, labelLimit: 600 },
    },
    tooltip: [{ field: 'run', title: 'run' }],
  };
}

export interface RunRepetitionRow {
  run: string;
  protocolName: string;
  repetition: number;
  value: number;
}

/** One dot per repetition and a tick at each run's median, runs side by side within each protocol's row. */
export function runStripChart(rows: RunRepetitionRow[], labels: readonly string[], protocols: readonly Protocol[], unit: string): VegaLiteSpec {
  const y = { field: 'protocolName', type: 'nominal', title: null, sort: protocols.map((p) => PROTOCOL_NAMES[p]), axis: { labelFontWeight: 'bold' } };
  const yOffset = { field: 'run', type: 'nominal', sort: [...labels], scale: { paddingOuter: 0.3 } };
  const color = { ...runSeries(labels).color, legend: { orient: 'top', direction: 'vertical', title: null, labelLimit: 600 } };
  return {
    width: 'container',
    height: 26 * protocols.length * Math.max(2, labels.length),
    data: { values: rows },
    layer: [
      {
        mark: { type: 'tick', thickness: 2, size: 14 },
        encoding: {
          x: { aggregate: 'median', field: 'value', type: 'quantitative' },
          y,
          yOffset,
          color,
          tooltip: [
            { field: 'run', title: 'run' },
            { field: 'protocolName', title: 'protocol' },
            { aggregate: 'median', field: 'value', title: `median (${unit})`, format: ',.4~f' },
          ],
        },
      },
      {
        mark: { type: 'point', filled: true, size: 50, opacity: 0.75 },
        encoding: {
          x: { field: 'value', type: 'quantitative', title: unit, scale: { zero: false, nice: true } },
          y,
          yOffset,
          color,
          tooltip: [
            { field: 'run', title: 'run' },
            { field: 'protocolName', title: 'protocol' },
            { field: 'repetition', title: 'repetition' },
            { field: 'value', title: unit, format: ',.4~f' },
          ],
        },
      },
    ],
  };
}
