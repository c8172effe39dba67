/**
 * Latency distribution of one (network, workload): the HdrHistogram percentile plot and the CDF,
 * from the repetitions' encoded histograms merged per protocol.
 */
import type { Protocol } from '../../drivers/types.ts';
import { cdfChart, type CdfRow, percentileChart, type PercentileRow } from '../charts.ts';
import type { ReportContext, WorkloadScope } from '../context.ts';
import { PROTOCOL_NAMES } from '../context.ts';
import { cdfPoints, mergeHistograms, percentileDistribution } from '../distributions.ts';

export interface MergedDistribution {
  protocol: Protocol;
  samples: number;
  repetitions: number;
  percentiles: ReturnType<typeof percentileDistribution>;
  cdf: ReturnType<typeof cdfPoints>;
}

/** Per protocol, the merged distribution of `metric` over the scope's successful cells. */
export function mergedDistributions(scope: WorkloadScope, metric: string): MergedDistribution[] {
  const out: MergedDistribution[] = [];
  for (const protocol of scope.protocols) {
    const encoded = scope.cells
      .filter((c) => c.protocol === protocol && !c.error && c.metrics[metric]?.encoded)
      .map((c) => c.metrics[metric]!.encoded);
    if (encoded.length === 0) continue;
    const h = mergeHistograms(encoded);
    out.push({
      protocol,
      samples: h.totalCount,
      repetitions: encoded.length,
      percentiles: percentileDistribution(h),
      cdf: cdfPoints(h),
    });
    h.destroy();
  }
  return out.filter((d) => d.samples > 0);
}

export function renderLatencyDistribution(ctx: ReportContext, scope: WorkloadScope, metric = 'latency'): string | undefined {
  const merged = mergedDistributions(scope, metric);
  if (merged.length === 0) return undefined;
  const common = {
    network: scope.network.label,
    backend: scope.network.backend === 'none' ? 'none (loopback, not shaped)' : scope.network.backend,
    workload: `${scope.workload} (${scope.workloadType})`,
  };
  const percentileRows: PercentileRow[] = merged.flatMap((d) =>
    d.percentiles.map((p) => ({
      protocolName: PROTOCOL_NAMES[d.protocol],
      ...p,
      samples: d.samples,
      repetitions: d.repetitions,
      ...common,
    })),
  );
  const cdfRows: CdfRow[] = merged.flatMap((d) =>
    d.cdf.map((p) => ({ protocolName: PROTOCOL_NAMES[d.protocol], ...p, samples: d.samples, repetitions: d.repetitions, ...common })),
  );
  const protocols = merged.map((d) => d.protocol);
  const counts = merged.map((d) => `${PROTOCOL_NAMES[d.protocol]} ${d.samples.toLocaleString('en-US')} requests`).join(', ');
  const source = `${ctx.provenance(scope)}; histograms of all repetitions merged per protocol (${counts}).`;
  return (
    `<div class="chart-grid">` +
    ctx.chart(percentileChart(percentileRows, protocols), {
      title: `Latency by percentile (${metric})`,
      caption: 'How slow the slowest requests were: the further right, the rarer (99% = the slowest 1 request in 100).',
      source,
    }) +
    ctx.chart(cdfChart(cdfRows, protocols), {
      title: `Latency CDF (${metric})`,
      caption: 'Share of requests completed within a given latency; further left is faster.',
      source,
    }) +
    `</div>`
  );
}
