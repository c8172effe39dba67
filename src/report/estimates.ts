/**
 * One figure per (network, protocol, workload, metric) across repetitions: the runner's Summary
 * (median with a 95% CI) when result.json has one, otherwise the median of the cells with their
 * range, labelled as a range so it is never mistaken for a confidence interval.
 */
import type { Protocol } from '../drivers/types.ts';
import { median } from '../metrics/index.ts';
import type { Cell, RunResult, Summary } from '../results/model.ts';

export interface CellKey {
  network: string;
  protocol: Protocol;
  workload: string;
}

export interface MetricDef {
  /** Summary metric name in result.json, e.g. "latency.p99", "requestsPerSec". */
  id: string;
  label: string;
  unit: string;
  /** The value in one cell (for repetitions without a Summary, and per-repetition views). */
  pick: (cell: Cell) => number | undefined;
}

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

const latency = (stat: 'p50' | 'p90' | 'p99' | 'p999' | 'max' | 'mean', label: string): MetricDef => ({
  id: `latency.${stat}`,
  label,
  unit: 'ms',
  pick: (c) => c.metrics.latency?.[stat],
});

export const METRICS = {
  requests: { id: 'requests.total', label: 'Requests', unit: 'count', pick: (c) => c.requests.total },
  failed: { id: 'requests.failed', label: 'Failed', unit: 'count', pick: (c) => c.requests.failed },
  requestsPerSec: { id: 'requestsPerSec', label: 'Requests/s', unit: 'req/s', pick: (c) => c.requestsPerSec },
  goodput: { id: 'goodputBps', label: 'Goodput', unit: 'bit/s', pick: (c) => c.goodputBps },
  p50: latency('p50', 'p50'),
  p90: latency('p90', 'p90'),
  p99: latency('p99', 'p99'),
  p999: latency('p999', 'p99.9'),
  max: latency('max', 'max'),
  opened: { id: 'connections.opened', label: 'Connections', unit: 'count', pick: (c) => c.connections.opened },
  resumed: { id: 'connections.resumed', label: 'Resumed', unit: 'count', pick: (c) => c.connections.resumed },
  serverCpu: { id: 'serverCpuMs', label: 'Server CPU', unit: 'ms', pick: (c) => c.serverCpuMs },
} satisfies Record<string, MetricDef>;

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
