/**
 * Across network variants (e.g. loss 0, 1, 2, 5%): how each protocol's median latency and its
 * 95% CI move as the network changes. Rendered only when a workload ran on two or more variants.
 */
import { measuredHeadline } from '../../results/catalogue.ts';
import type { Protocol } from '../../drivers/types.ts';
import { protocolColor } from '../charts.ts';
import type { ReportContext, VegaLiteSpec } from '../context.ts';
import { PROTOCOL_NAMES } from '../context.ts';
import { estimate, metricTitle } from '../estimates.ts';
import { describeNetwork } from '../network.ts';
import { escapeHtml } from '../escape.ts';
import { CI_METHOD_TEXT } from './headline.ts';

interface Row {
  network: string;
  networkDescription: string;
  protocolName: string;
  median: number;
  lo: number;
  hi: number;
  interval: string;
  repetitions: number;
}

export function renderAcrossNetworks(ctx: ReportContext): string | undefined {
  const networks = ctx.networks();
  if (networks.length < 2) return undefined;
  const workloads = [...new Set(ctx.result.cells.map((c) => c.workload))];
  const blocks: string[] = [];
  for (const workload of workloads) {
    const variants = networks.filter((n) => ctx.result.cells.some((c) => c.workload === workload && c.network === n.label));
    if (variants.length < 2) continue;
    const cells = ctx.result.cells.filter((c) => c.workload === workload);
    const protocols = ctx.protocols(cells);
    const views = measuredHeadline(cells[0]!.workloadType, cells).map((metric) => ({ metric, title: metricTitle(metric) }));
    const charts = views.map((view) => {
      const rows: Row[] = [];
      for (const network of variants) {
        for (const protocol of protocols) {
          const est = estimate(ctx.result, { network: network.label, protocol, workload }, view.metric);
          if (!est) continue;
          rows.push({
            network: network.label,
            networkDescription: describeNetwork(network).summary,
            protocolName: PROTOCOL_NAMES[protocol],
            median: est.median,
            lo: est.ci95?.[0] ?? est.median,
            hi: est.ci95?.[1] ?? est.median,
            interval: est.ci95
              ? est.intervalKind === 'ci'
                ? (CI_METHOD_TEXT[est.ciMethod ?? ''] ?? '95% CI')
                : 'range of repetitions'
              : 'one repetition',
            repetitions: est.n,
          });
        }
      }
      if (rows.length === 0) return '';
      return ctx.chart(acrossChart(rows, protocols, variants.map((n) => n.label)), {
        title: view.title,
        className: 'small',
      });
    }).join('');
    blocks.push(
      `<h3>Workload <code>${escapeHtml(workload)}</code> across ${variants.length} networks</h3>` +
        `<p class="section-note">Median of the repetitions per network; bars are the interval result.json gives (hover for its kind), or the range of the repetitions where it gives none. Networks in scenario order.</p>` +
        `<div class="chart-grid three">${charts}</div>`,
    );
  }
  return blocks.length ? blocks.join('') : undefined;
}

function acrossChart(rows: Row[], protocols: Protocol[], order: string[]): VegaLiteSpec {
  const x = { field: 'network', type: 'ordinal', sort: order, title: null, axis: { labelAngle: 0 } };
  const tooltip = [
    { field: 'protocolName', title: 'protocol' },
    { field: 'network', title: 'network' },
    { field: 'networkDescription', title: 'link' },
    { field: 'median', title: 'median', format: ',.3~f' },
    { field: 'lo', title: 'interval low', format: ',.3~f' },
    { field: 'hi', title: 'interval high', format: ',.3~f' },
    { field: 'interval', title: 'interval' },
    { field: 'repetitions', title: 'repetitions' },
  ];
  return {
    width: 'container',
    height: 220,
    data: { values: rows },
    encoding: { x, xOffset: { field: 'protocolName', sort: protocols.map((p) => PROTOCOL_NAMES[p]) }, color: protocolColor(protocols) },
    layer: [
      {
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: { y: { field: 'lo', type: 'quantitative', title: null }, y2: { field: 'hi' }, tooltip },
      },
      {
        mark: { type: 'point', filled: true, size: 60 },
        encoding: { y: { field: 'median', type: 'quantitative', title: null }, tooltip },
      },
    ],
  };
}
