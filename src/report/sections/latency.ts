/**
 * Latency distribution of one (network, workload): the HdrHistogram percentile plot and the CDF,
 * from the repetitions' encoded histograms merged per protocol.
 */
import type { Protocol } from '../../drivers/types.ts';
import { cdfChart, type CdfRow, percentileChart, type PercentileRow } from '../charts.ts';
import type { ReportContext, WorkloadScope } from '../context.ts';
import { PROTOCOL_NAMES } from '../context.ts';
import { type CdfPoint, cdfPoints, mergeHistograms, type PercentilePoint, percentileDistribution } from '../../metrics/index.ts';

export interface MergedDistribution {
  protocol: Protocol;
  samples: number;
  repetitions: number;
  percentiles: PercentilePoint[];
  cdf: CdfPoint[];
}

/** Per protocol, the merged distribution of `metric` over the scope's successful cells. */
export function mergedDistributions(scope: WorkloadScope, metric: string): MergedDistribution[] {
  const out: MergedDistribution[] = [];
  for (const protocol of scope.protocols) {
    const parts = scope.cells
      .filter((c) => c.protocol === protocol && !c.error && c.metrics[metric]?.encoded)
      .map((c) => c.metrics[metric]!);
    if (parts.length === 0) continue;
    const merged = mergeHistograms(...parts);
    out.push({
      protocol,
      samples: merged.count,
      repetitions: parts.length,
      percentiles: percentileDistribution(merged),
      cdf: cdfPoints(merged),
    });
  }
  return out.filter((d) => d.samples > 0);
}

/** The distribution a workload's charts show: "latency" when recorded, else the first one. */
export function primaryMetric(scope: WorkloadScope): string | undefined {
  const names = [...new Set(scope.cells.flatMap((c) => Object.keys(c.metrics)))];
  // The figure a workload is about: request latency, page load, or a cold connection's first byte.
  const preferred = ['latency', 'pageLoad', 'cold.firstByte', 'resumed.firstByte'].find((m) => names.includes(m));
  return preferred ?? names.find((n) => n.endsWith('.latency')) ?? names.sort()[0];
}

/** Where a chart's points come from, carried into every tooltip. */
export function scopeProvenance(scope: WorkloadScope): { network: string; backend: string; workload: string } {
  return {
    network: scope.network.label,
    backend: scope.network.backend === 'none' ? 'none (loopback, not shaped)' : scope.network.backend,
    workload: `${scope.workload} (${scope.workloadType})`,
  };
}

/** CDF points of distributions merged per protocol, as chart rows. */
export function cdfRowsOf(merged: MergedDistribution[], scope: WorkloadScope): CdfRow[] {
  const common = scopeProvenance(scope);
  return merged.flatMap((d) =>
    d.cdf.map((p) => ({ protocolName: PROTOCOL_NAMES[d.protocol], valueMs: p.value, fraction: p.fraction, samples: d.samples, repetitions: d.repetitions, ...common })),
  );
}

export function renderLatencyDistribution(
  ctx: ReportContext,
  scope: WorkloadScope,
  metric = primaryMetric(scope),
): string | undefined {
  if (!metric) return undefined;
  const merged = mergedDistributions(scope, metric);
  if (merged.length === 0) return undefined;
  const common = scopeProvenance(scope);
  const percentileRows: PercentileRow[] = merged.flatMap((d) =>
    d.percentiles.map((p) => ({
      protocolName: PROTOCOL_NAMES[d.protocol],
      percentile: p.percentile,
      inverseTail: p.inverseTail,
      valueMs: p.value,
      samples: d.samples,
      repetitions: d.repetitions,
      ...common,
    })),
  );
  const cdfRows = cdfRowsOf(merged, scope);
  const protocols = merged.map((d) => d.protocol);
  const label = metric === 'latency' ? 'Latency' : metric;
  const axis = `${label} (ms)`;
  const counts = merged.map((d) => `${PROTOCOL_NAMES[d.protocol]} ${d.samples.toLocaleString('en-US')} requests`).join(', ');
  const source = `${ctx.provenance(scope)}; histograms of all repetitions merged per protocol (${counts}).`;
  return (
    `<div class="chart-grid">` +
    ctx.chart(percentileChart(percentileRows, protocols, axis), {
      title: `${label} by percentile`,
      caption: 'How slow the slowest requests were: the further right, the rarer (99% = the slowest 1 request in 100).',
      source,
    }) +
    ctx.chart(cdfChart(cdfRows, protocols, axis), {
      title: `${label} CDF`,
      caption: 'Share of requests completed within a given latency; further left is faster.',
      source,
    }) +
    `</div>`
  );
}
