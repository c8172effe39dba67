/**
 * One figure per (network, protocol, workload, metric) across repetitions: the runner's Summary
 * (median with a 95% CI) when result.json has one, otherwise the median of the cells with their
 * range, labelled as a range so it is never mistaken for a confidence interval.
 */
import type { Protocol } from '../drivers/types.ts';
import { median } from '../metrics/index.ts';
import { headerUnit } from './format.ts';
import { COMMON_METRICS, histogramMetric, type MetricDefinition } from '../results/catalogue.ts';
import type { Cell, RunResult, Summary } from '../results/model.ts';

export interface CellKey {
  network: string;
  protocol: Protocol;
  workload: string;
}

/** A metric as the report reads it: the catalogue's definition (src/results/catalogue.ts). */
export type MetricDef = Pick<MetricDefinition, 'id' | 'label' | 'unit' | 'pick'>;

export interface Estimate {
  median: number;
  /** 95% CI ('ci') or min..max of the repetitions ('range'); absent for one repetition. */
  ci95?: [number, number];
  intervalKind: 'ci' | 'range';
  ciMethod?: Summary['ciMethod'];
  n: number;
  values: number[];
  unit: string;
  source: 'summary' | 'cells';
}

export const METRICS = {
  requests: COMMON_METRICS.requests,
  failed: COMMON_METRICS.failed,
  requestsPerSec: COMMON_METRICS.requestsPerSec,
  goodput: COMMON_METRICS.goodputBps,
  p50: histogramMetric('latency', 'p50'),
  p99: histogramMetric('latency', 'p99'),
  opened: COMMON_METRICS.opened,
  resumed: COMMON_METRICS.resumed,
  serverCpu: COMMON_METRICS.serverCpuMs,
} satisfies Record<string, MetricDef>;

/** "Latency p99 (ms)", "Cold first byte (RTT)", "Requests/s": a metric as a column or chart title. */
export function metricTitle(metric: Pick<MetricDefinition, 'label' | 'unit'>): string {
  const unit = headerUnit(metric.unit);
  const label = metric.label.charAt(0).toUpperCase() + metric.label.slice(1);
  return unit ? `${label} (${unit})` : label;
}

export function sameKey(a: CellKey, b: CellKey): boolean {
  return a.network === b.network && a.protocol === b.protocol && a.workload === b.workload;
}

/** Cells of one (network, protocol, workload), in repetition order. */
export function cellsOf(result: RunResult, key: CellKey): Cell[] {
  return result.cells.filter((c) => sameKey(c, key)).sort((a, b) => a.repetition - b.repetition);
}

export function estimate(result: RunResult, key: CellKey, metric: MetricDef): Estimate | undefined {
  const summary = result.summaries.find((s) => s.metric === metric.id && sameKey(s, key));
  if (summary && summary.values.length > 0) {
    return {
      median: summary.median,
      ci95: summary.ciMethod === 'none' ? undefined : summary.ci95,
      intervalKind: summary.ciMethod === 'range' ? 'range' : 'ci',
      ciMethod: summary.ciMethod,
      n: summary.values.length,
      values: summary.values,
      unit: summary.unit || metric.unit,
      source: 'summary',
    };
  }
  const values = cellsOf(result, key)
    .filter((c) => !c.error)
    .map(metric.pick)
    .filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: median(values),
    ci95: values.length > 1 ? [sorted[0]!, sorted[sorted.length - 1]!] : undefined,
    intervalKind: 'range',
    n: values.length,
    values,
    unit: metric.unit,
    source: 'cells',
  };
}

/** Why a figure is missing where its cells ran: every request failed, or every cell did (else undefined: not measured). */
export function missingReason(result: RunResult, key: CellKey): string | undefined {
  const cells = cellsOf(result, key);
  if (cells.length === 0) return undefined;
  if (cells.every((c) => c.error)) return 'cell failed';
  const failed = cells.reduce((s, c) => s + c.requests.failed, 0);
  const total = cells.reduce((s, c) => s + c.requests.total, 0);
  return failed > 0 && failed === total ? `all ${failed} requests failed` : undefined;
}
