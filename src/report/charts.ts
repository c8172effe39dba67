/**
 * vega-lite specifications shared by the report's sections. Data is embedded (values), never
 * fetched; every mark carries a tooltip with exact values and where they came from.
 */
import type { Protocol } from '../drivers/types.ts';
import { PROTOCOL_COLORS, PROTOCOL_NAMES, type VegaLiteSpec } from './context.ts';

/** One colour and legend order per protocol, the same in every chart. */
export function protocolColor(protocols: readonly Protocol[]): Record<string, unknown> {
  return {
    field: 'protocolName',
    type: 'nominal',
    title: 'Protocol',
    scale: { domain: protocols.map((p) => PROTOCOL_NAMES[p]), range: protocols.map((p) => PROTOCOL_COLORS[p]) },
    legend: { orient: 'top', direction: 'horizontal', title: null },
  };
}

/**
 * Ticks of a percentile axis on a log scale of 1/(1-p): 0%, 90%, 99%, 99.9%, 99.99% and on, up to
 * the first that covers `maxInverseTail` (the last tick ends the axis), at least 99.9%.
 */
export function percentileTicks(maxInverseTail: number): number[] {
  const ticks = [1];
  while (ticks[ticks.length - 1]! < Math.max(maxInverseTail, 1000)) ticks.push(ticks[ticks.length - 1]! * 10);
  return ticks;
}

const PROVENANCE_TOOLTIP = [
  { field: 'network', title: 'network' },
  { field: 'backend', title: 'backend' },
  { field: 'workload', title: 'workload' },
  { field: 'repetitions', title: 'repetitions merged' },
];

export interface PercentileRow {
  protocolName: string;
  percentile: number;
  inverseTail: number;
  valueMs: number;
  samples: number;
  network: string;
  backend: string;
  workload: string;
  repetitions: number;
}

/**
 * How lines are told apart: by protocol (report.html), or by run (compare.html, one protocol per
 * chart), with the series' own field first in the tooltip.
 */
export interface SeriesOptions {
  color: Record<string, unknown>;
  tooltip: Array<Record<string, unknown>>;
}

const bySeriesOrProtocol = (protocols: readonly Protocol[], series?: SeriesOptions) =>
  series ?? { color: protocolColor(protocols), tooltip: [] };

/** The HdrHistogram percentile plot: x = percentile on a log scale of 1/(1-p), y = latency. */
export function percentileChart(rows: PercentileRow[], protocols: readonly Protocol[], yTitle = 'Latency (ms)', series?: SeriesOptions): VegaLiteSpec {
  const { color, tooltip } = bySeriesOrProtocol(protocols, series);
  const maxX = Math.max(10, ...rows.map((r) => r.inverseTail));
  const ticks = percentileTicks(maxX);
  return {
    width: 'container',
    height: 300,
    data: { values: rows },
    mark: { type: 'line', point: { size: 16, filled: true }, strokeWidth: 2, interpolate: 'linear' },
    encoding: {
      x: {
        field: 'inverseTail',
        type: 'quantitative',
        title: 'Percentile',
        scale: { type: 'log', domain: [1, ticks[ticks.length - 1]] },
        axis: { values: ticks, labelExpr: "format(100 - 100 / datum.value, '.4~f') + '%'", grid: true, labelFlush: true },
      },
      y: { field: 'valueMs', type: 'quantitative', title: yTitle, scale: { zero: true } },
      color,
      tooltip: [
        ...tooltip,
        { field: 'protocolName', title: 'protocol' },
        { field: 'percentile', title: 'percentile', format: '.4~f' },
        { field: 'valueMs', title: 'latency (ms)', format: ',.3~f' },
        { field: 'samples', title: 'samples', format: ',' },
        ...PROVENANCE_TOOLTIP,
      ],
    },
  };
}

export interface CdfRow {
  protocolName: string;
  valueMs: number;
  fraction: number;
  samples: number;
  network: string;
  backend: string;
  workload: string;
  repetitions: number;
}

export function cdfChart(rows: CdfRow[], protocols: readonly Protocol[], xTitle = 'Latency (ms)', series?: SeriesOptions): VegaLiteSpec {
  const { color, tooltip } = bySeriesOrProtocol(protocols, series);
  const values = rows.map((r) => r.valueMs).filter((v) => v > 0);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  // A log axis when the tail is an order of magnitude beyond the body; linear otherwise.
  const log = values.length > 0 && hi / lo > 20;
  return {
    width: 'container',
    height: 300,
    data: { values: log ? rows.filter((r) => r.valueMs > 0) : rows },
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2, point: { size: 10, filled: true, opacity: 0 } },
    encoding: {
      x: {
        field: 'valueMs',
        type: 'quantitative',
        title: log ? `${xTitle}, log scale` : xTitle,
        scale: log ? { type: 'log' } : { zero: false },
        axis: { grid: true, labelOverlap: 'greedy', labelSeparation: 6 },
      },
      y: {
        field: 'fraction',
        type: 'quantitative',
        title: 'Fraction of requests at or below',
        scale: { domain: [0, 1] },
        axis: { format: '.0%' },
      },
      color,
      tooltip: [
        ...tooltip,
        { field: 'protocolName', title: 'protocol' },
        { field: 'valueMs', title: 'latency (ms)', format: ',.3~f' },
        { field: 'fraction', title: 'at or below', format: '.3~%' },
        { field: 'samples', title: 'samples', format: ',' },
        ...PROVENANCE_TOOLTIP,
      ],
    },
  };
}

export interface RepetitionRow {
  protocolName: string;
  repetition: number;
  order: number;
  value: number;
  network: string;
  backend: string;
  workload: string;
}

/** A strip plot: one dot per repetition, a tick at the median, one row per protocol. */
export function stripChart(
  rows: RepetitionRow[],
  protocols: readonly Protocol[],
  opts: { title: string; format: string; unit: string },
): VegaLiteSpec {
  const y = {
    field: 'protocolName',
    type: 'nominal',
    title: null,
    sort: protocols.map((p) => PROTOCOL_NAMES[p]),
    axis: { labelFontWeight: 'bold' },
  };
  return {
    width: 'container',
    height: 40 * protocols.length,
    data: { values: rows },
    layer: [
      {
        mark: { type: 'tick', thickness: 2, size: 22, color: '#333' },
        encoding: {
          x: { aggregate: 'median', field: 'value', type: 'quantitative' },
          y,
          tooltip: [
            { field: 'protocolName', title: 'protocol' },
            { aggregate: 'median', field: 'value', title: `median (${opts.unit})`, format: opts.format },
          ],
        },
      },
      {
        mark: { type: 'point', filled: true, size: 70, opacity: 0.8 },
        encoding: {
          x: { field: 'value', type: 'quantitative', title: null, scale: { zero: false, nice: true } },
          y,
          yOffset: { field: 'repetition', type: 'nominal', scale: { paddingOuter: 0.5 } },
          color: { ...protocolColor(protocols), legend: null },
          tooltip: [
            { field: 'protocolName', title: 'protocol' },
            { field: 'repetition', title: 'repetition' },
            { field: 'order', title: 'run order' },
            { field: 'value', title: opts.unit, format: opts.format },
            { field: 'network', title: 'network' },
            { field: 'backend', title: 'backend' },
            { field: 'workload', title: 'workload' },
          ],
        },
      },
    ],
  };
}
