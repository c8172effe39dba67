/**
 * The throughput workload's section: goodput per protocol (median over rounds, its spread), the
 * goodput over time of a download, the time to complete, beside the link's configured rate and the
 * receive windows each protocol ran with.
 */
import type { Protocol } from '../../drivers/types.ts';
import type { ReportContext, WorkloadScope } from '../context.ts';
import { PROTOCOL_NAMES } from '../context.ts';
import { escapeHtml } from '../escape.ts';
import type { MetricDef } from '../estimates.ts';
import { formatBytes, formatSetting, formatValue } from '../format.ts';
import { THROUGHPUT_METRICS } from '../../results/catalogue.ts';
import { throughputDetails, type ThroughputDetails } from '../../results/details.ts';
import { goodputOverTimeChart } from './goodput-chart.ts';
import { renderQuicSenderTable } from './multiplex.ts';
import { cellsFor, compareProtocols, metricCell, median, protocolPairs, renderHeadlines, sectionStyle } from './workload-figures.ts';

function detailsOf(scope: WorkloadScope, protocol: Protocol): ThroughputDetails[] {
  return cellsFor(scope, protocol)
    .map(throughputDetails)
    .filter((d): d is ThroughputDetails => d !== undefined);
}

/** The configured rate server -> client on the default path (what a download can reach), bit/s. */
function downlinkRateBps(scope: WorkloadScope): number | undefined {
  const spec = scope.network.spec;
  return spec.kind === 'shaped' ? (spec.paths[0]?.down.rateBps ?? undefined) : undefined;
}

export function renderThroughputSection(ctx: ReportContext, scope: WorkloadScope): string | undefined {
  const first = scope.cells.map(throughputDetails).find((d) => d !== undefined);
  if (!first) return undefined;
  const rate = downlinkRateBps(scope);
  const downloads = first.parallel === 1 ? `one download of ${formatValue(first.sizeBytes, 'bytes')}` : `${first.parallel} downloads of ${formatValue(first.sizeBytes, 'bytes')} at once`;
  const intro =
    `Per round ${downloads} on new connections (HTTP/2 and HTTP/3: ${first.parallel === 1 ? 'one stream' : 'streams of one connection'}; HTTP/1.1: ${first.parallel === 1 ? 'one connection' : 'one connection each, as browsers'}), ` +
    `${first.rounds.length} round${first.rounds.length === 1 ? '' : 's'} per repetition. Goodput is the response bytes over the time from the requests to the last byte (the connections were opened before); ` +
    (rate !== undefined ? `the link\u2019s bottleneck toward the client is ${formatSetting(rate, 'bit/s')}.` : 'the link sets no rate.');
  const headlines = protocolPairs(scope.protocols).map(([a, b]) => compareProtocols(scope, a, b, 'goodput', THROUGHPUT_METRICS.goodputMbps.pick));
  const chart = goodputOverTimeChart(ctx, scope, {
    series: (protocol) => detailsOf(scope, protocol).flatMap((d) => d.rounds.map((r) => r.goodput)),
    originMs: 0,
    xTitle: 'Time from the requests (s)',
    marks: [],
    title: 'Goodput over time',
    caption: (binMs) =>
      `Response bytes the client received per ${binMs} ms from the requests on, the mean of every round of every repetition (a round that has finished counts 0)${rate !== undefined ? `; the link\u2019s rate is ${formatSetting(rate, 'bit/s')}` : ''}.`,
    source: `result.json cells, details.throughput.rounds[].goodput (per-chunk arrival times); ${ctx.provenance(scope)}`,
  });
  return (
    sectionStyle(ctx) +
    `<div class="workload-analysis throughput-analysis">` +
    `<h4>Throughput</h4>` +
    `<p class="section-note">${escapeHtml(intro)}</p>` +
    renderHeadlines(headlines) +
    (chart ?? '') +
    renderTable(ctx, scope, rate) +
    `<p class="section-note">${escapeHtml(windowsNote(scope))}</p>` +
    // A QUIC sender that cannot keep its pacing times caps HTTP/3's goodput on this machine, whatever the protocol could do.
    renderQuicSenderTable(ctx, scope) +
    `</div>`
  );
}

function renderTable(ctx: ReportContext, scope: WorkloadScope, rate: number | undefined): string {
  const rows = scope.protocols.map((protocol) => {
    const key = { network: scope.network.label, protocol, workload: scope.workload };
    const ds = detailsOf(scope, protocol);
    const figure = (metric: MetricDef, unit: string) => metricCell(ctx, key, metric, unit);
    const goodputs = ds.flatMap((d) => d.rounds.map((r) => r.goodputBps)).filter((v): v is number => v !== undefined);
    const spread = goodputs.length ? `${formatValue(Math.min(...goodputs), 'bit/s')} \u2013 ${formatValue(Math.max(...goodputs), 'bit/s')}` : '\u2014';
    const ofRate = rate !== undefined && goodputs.length ? `${((100 * median(goodputs)) / rate).toFixed(0)}%` : '\u2014';
    const rounds = ds.reduce((n, d) => n + d.rounds.length, 0);
    const failed = ds.reduce((n, d) => n + d.rounds.filter((r) => r.failed > 0).length, 0);
    return (
      `<tr data-protocol="${protocol}"><th scope="row"><span class="swatch swatch-${protocol}"></span>${PROTOCOL_NAMES[protocol]}</th>` +
      `<td class="num">${ds.length}</td>` +
      `<td class="num">${rounds}${failed ? ` (${failed} failed)` : ''}</td>` +
      figure(THROUGHPUT_METRICS.goodputMbps, 'Mbit/s') +
      `<td class="num" data-spread>${escapeHtml(spread)}</td>` +
      `<td class="num">${ofRate}</td>` +
      figure(THROUGHPUT_METRICS.completeMs, 'ms') +
      `<td class="num">${ds[0] ? ds[0].connectionsPerRound : '\u2014'}</td>` +
      `</tr>`
    );
  });
  return (
    `<div class="table-wrap"><table class="compact throughput"><caption>Per repetition the median over its rounds, then the median across repetitions with its interval; the spread is the slowest and fastest round of all. ${escapeHtml(ctx.provenance(scope))}</caption>` +
    `<thead><tr><th>Protocol</th><th class="num">Reps</th><th class="num">Rounds</th><th class="num">Goodput</th><th class="num">Slowest \u2013 fastest round</th><th class="num">Of the link rate</th><th class="num">Time to complete</th><th class="num">Connections per round</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table></div>`
  );
}

/** The receive windows each protocol ran with (flow control can cap goodput before the link does). */
function windowsNote(scope: WorkloadScope): string {
  const parts = scope.protocols.flatMap((protocol) => {
    const fc = detailsOf(scope, protocol)[0]?.flowControl;
    if (!fc) return [];
    const http = fc.http ? `${formatBytes(fc.http.streamBytes)} per stream, ${formatBytes(fc.http.connectionBytes)} per connection (${protocol === 'h3' ? 'QUIC' : 'HTTP/2'} flow control)` : 'no HTTP flow control';
    const tcp = fc.tcpReceiveMaxBytes !== undefined ? `TCP receive window autotuned by the kernel up to ${formatBytes(fc.tcpReceiveMaxBytes)}` : undefined;
    return [`${PROTOCOL_NAMES[protocol]}: ${[http, tcp].filter(Boolean).join('; ')}`];
  });
  return parts.length ? `Receive windows the client advertised: ${parts.join('. ')}.` : '';
}
