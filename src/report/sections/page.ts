/**
 * The page workload's section: page load time per protocol (its distribution, and the median per
 * repetition with a 95% CI), and how many connections (so handshakes) one page load opened.
 */
import type { Protocol } from '../../drivers/types.ts';
import { protocolColor } from '../charts.ts';
import type { ReportContext, VegaLiteSpec, WorkloadScope } from '../context.ts';
import { PROTOCOL_NAMES } from '../context.ts';
import { escapeHtml } from '../escape.ts';
import { estimate, type MetricDef } from '../estimates.ts';
import { formatEstimate, formatNumber } from '../format.ts';
import { pageDetails } from '../../results/details.ts';
import { CI_METHOD_TEXT } from './headline.ts';
import {
  cellsFor,
  compareProtocols,
  distributionCdf,
  median,
  medianRange,
  protocolPairs,
  renderHeadlines,
  sectionStyle,
} from './workload-figures.ts';

const pageLoad = (stat: 'p50' | 'p90' | 'max'): MetricDef => ({
  id: `pageLoad.${stat}`,
  label: `page load ${stat}`,
  unit: 'ms',
  pick: (c) => c.metrics.pageLoad?.[stat],
});


export function renderPageSection(ctx: ReportContext, scope: WorkloadScope): string | undefined {
  if (!scope.cells.some((c) => c.metrics.pageLoad || pageDetails(c))) return undefined;
  const resources = scope.cells.map(pageDetails).find((d) => d)?.resourcesPerPage;
  const intro =
    `A cold visit of a page as browsers load it${resources ? ` (the document and ${resources - 1} subresources)` : ''}: the time from the first connection attempt to the last byte of the last resource, and the connections each load opened.`;
  const headlines = protocolPairs(scope.protocols).map(([a, b]) => compareProtocols(scope, a, b, 'median page load', (c) => c.metrics.pageLoad?.p50));
  const charts = [
    distributionCdf(ctx, scope, 'pageLoad', {
      title: 'Page load time CDF',
      axis: 'Page load time (ms)',
      what: 'page loads',
      caption: 'Share of page loads finished within a given time, all loads of all repetitions; further left is faster.',
    }),
    repetitionChart(ctx, scope),
  ].filter(Boolean);
  return (
    sectionStyle(ctx) +
    `<div class="workload-analysis page-analysis">` +
    `<h4>Page load</h4>` +
    `<p class="section-note">${escapeHtml(intro)}</p>` +
    renderHeadlines(headlines) +
    (charts.length ? `<div class="chart-grid">${charts.join('')}</div>` : '') +
    renderTable(ctx, scope) +
    `</div>`
  );
}

function renderTable(ctx: ReportContext, scope: WorkloadScope): string {
  const rows = scope.protocols.map((protocol) => {
    const key = { network: scope.network.label, protocol, workload: scope.workload };
    const cells = cellsFor(scope, protocol);
    const loads = cells.reduce((s, c) => s + (c.metrics.pageLoad?.count ?? 0), 0);
    const figure = (metric: MetricDef) => {
      const est = estimate(ctx.result, key, metric);
      if (!est) return `<td class="num missing">\u2014</td>`;
      const f = formatEstimate(est, est.unit);
      const title = `${metric.label}: ${f.text}; per repetition (ms): ${est.values.map((v) => formatNumber(v)).join(', ')}\n${est.intervalKind === 'ci' ? (CI_METHOD_TEXT[est.ciMethod ?? ''] ?? 'no interval') : 'range of the repetitions'}`;
      return `<td class="num" data-metric="${metric.id}" title="${escapeHtml(title)}"><span class="value">${escapeHtml(f.value)}</span><span class="ci">${escapeHtml(f.interval)}</span></td>`;
    };
    const perLoad = cells.flatMap((c) => pageDetails(c)?.handshakesPerLoad ?? []);
    return (
      `<tr data-protocol="${protocol}"><th scope="row"><span class="swatch swatch-${protocol}"></span>${PROTOCOL_NAMES[protocol]}</th>` +
      `<td class="num">${cells.length}</td><td class="num">${loads}</td>` +
      figure(pageLoad('p50')) +
      figure(pageLoad('p90')) +
      figure(pageLoad('max')) +
      `<td class="num" data-connections="${perLoad.length ? median(perLoad) : ''}">${medianRange(perLoad)}</td>` +
      `<td>${escapeHtml(perLoad.length ? handshakeWords(protocol, median(perLoad)) : '\u2014')}</td>` +
      `</tr>`
    );
  });
  return (
    `<div class="table-wrap"><table class="compact page"><caption>Page load time per repetition (the median load of each, then the median across repetitions with its interval); connections per load: median (range) over every load. ${escapeHtml(ctx.provenance(scope))}</caption>` +
    `<thead><tr><th>Protocol</th><th class="num">Reps</th><th class="num">Loads</th><th class="num">Page load p50</th><th class="num">p90</th><th class="num">max</th>` +
    `<th class="num">Connections per load</th><th>Handshakes per load</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`
  );
}

/** "6 TCP + 6 TLS handshakes" / "1 QUIC handshake (transport and TLS together)". */
export function handshakeWords(protocol: Protocol, connections: number): string {
  const n = formatNumber(connections, Number.isInteger(connections) ? 0 : 1);
  if (protocol === 'h3') return `${n} QUIC handshake${connections === 1 ? '' : 's'} (transport and TLS together)`;
  return `${n} TCP + ${n} TLS handshake${connections === 1 ? '' : 's'}`;
}

/**
 * "For one page of 31 resources: HTTP/1.1 6 TCP + 6 TLS handshakes; HTTP/2 1 ...", from the page
 * workload's cells on this network (or on any network when it ran elsewhere); undefined without one.
 */
export function renderHandshakesPerPage(ctx: ReportContext, network: string): string | undefined {
  const pageCells = ctx.result.cells.filter((c) => c.workloadType === 'page' && !c.error && pageDetails(c));
  const here = pageCells.filter((c) => c.network === network);
  const cells = here.length ? here : pageCells;
  if (cells.length === 0) return undefined;
  const parts = ctx.protocols(cells).map((protocol) => {
    const perLoad = cells.filter((c) => c.protocol === protocol).flatMap((c) => pageDetails(c)!.handshakesPerLoad);
    return perLoad.length ? `${PROTOCOL_NAMES[protocol]}: ${handshakeWords(protocol, median(perLoad))}` : undefined;
  });
  const resources = pageDetails(cells[0]!)!.resourcesPerPage;
  const where = here.length ? '' : ` (page workload on network ${cells[0]!.network})`;
  return (
    `<p class="section-note handshakes-per-page">Handshakes for one page load of ${resources} resources${escapeHtml(where)}, median over every load: ` +
    `<strong>${escapeHtml(parts.filter(Boolean).join('; '))}</strong>. Each costs the round trips above, so HTTP/1.1's pool of connections pays them in parallel but multiplies the bytes and server work.</p>`
  );
}

interface RepRow {
  protocolName: string;
  repetition: number;
  value: number;
  loads: number;
  median: number;
  lo: number;
  hi: number;
  interval: string;
}

/** Each repetition's median page load as a dot, the median across repetitions and its interval as a bar. */
function repetitionChart(ctx: ReportContext, scope: WorkloadScope): string | undefined {
  const rows: RepRow[] = [];
  for (const protocol of scope.protocols) {
    const est = estimate(ctx.result, { network: scope.network.label, protocol, workload: scope.workload }, pageLoad('p50'));
    if (!est) continue;
    const interval = est.ci95 ? (est.intervalKind === 'ci' ? (CI_METHOD_TEXT[est.ciMethod ?? ''] ?? '95% CI') : 'range of repetitions') : 'one repetition';
    for (const c of cellsFor(scope, protocol)) {
      const value = c.metrics.pageLoad?.p50;
      if (value === undefined) continue;
      rows.push({
        protocolName: PROTOCOL_NAMES[protocol],
        repetition: c.repetition + 1,
        value,
        loads: c.metrics.pageLoad!.count,
        median: est.median,
        lo: est.ci95?.[0] ?? est.median,
        hi: est.ci95?.[1] ?? est.median,
        interval,
      });
    }
  }
  if (rows.length === 0) return undefined;
  const protocols = scope.protocols.filter((p) => rows.some((r) => r.protocolName === PROTOCOL_NAMES[p]));
  const y = { field: 'protocolName', type: 'nominal', title: null, sort: protocols.map((p) => PROTOCOL_NAMES[p]), axis: { labelFontWeight: 'bold' } };
  const ciTooltip = [
    { field: 'protocolName', title: 'protocol' },
    { field: 'median', title: 'median of repetitions (ms)', format: ',.3~f' },
    { field: 'lo', title: 'interval low (ms)', format: ',.3~f' },
    { field: 'hi', title: 'interval high (ms)', format: ',.3~f' },
    { field: 'interval', title: 'interval' },
  ];
  const spec: VegaLiteSpec = {
    width: 'container',
    height: 50 * protocols.length + 20,
    data: { values: rows },
    encoding: { y, color: { ...protocolColor(protocols), legend: null } },
    layer: [
      { mark: { type: 'rule', strokeWidth: 8, opacity: 0.35 }, encoding: { x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' }, tooltip: ciTooltip } },
      { mark: { type: 'tick', thickness: 3, size: 26 }, encoding: { x: { field: 'median', type: 'quantitative' }, tooltip: ciTooltip } },
      {
        mark: { type: 'point', filled: true, size: 60, opacity: 0.8 },
        encoding: {
          x: { field: 'value', type: 'quantitative', title: 'Median page load per repetition (ms)', scale: { zero: false, nice: true } },
          yOffset: { field: 'repetition', type: 'nominal' },
          tooltip: [
            { field: 'protocolName', title: 'protocol' },
            { field: 'repetition', title: 'repetition' },
            { field: 'value', title: 'median page load (ms)', format: ',.3~f' },
            { field: 'loads', title: 'loads' },
          ],
        },
      },
    ],
  };
  return ctx.chart(spec, {
    title: 'Median page load per repetition, with its interval',
    caption: 'Dots are repetitions; the tick is their median and the bar its interval, the basis of the comparison above.',
    source: `result.json summaries pageLoad.p50; ${ctx.provenance(scope)}`,
  });
}
