/**
 * The migration workload's section: what one move cost each protocol (interruption, requests
 * failed and re-sent, bytes downloaded twice, whether the connection survived, handshakes) beside
 * the textbook bound, how each client learnt of the break, and the goodput over time with the move
 * marked, so each protocol's recovery is seen.
 */
import type { Protocol } from '../../drivers/types.ts';
import type { ReportContext, WorkloadScope } from '../context.ts';
import { PROTOCOL_NAMES } from '../context.ts';
import { escapeHtml } from '../escape.ts';
import type { MetricDef } from '../estimates.ts';
import { formatBytes, formatDuration, formatNumber } from '../format.ts';
import { MIGRATION_METRICS } from '../../results/catalogue.ts';
import { migrationDetails, type MigrationDetails } from '../../results/details.ts';
import type { MigrationMode } from '../../results/migration-theory.ts';
import { goodputOverTimeChart } from './goodput-chart.ts';
import { cellsFor, compareProtocols, metricCell, mean, median, protocolPairs, renderHeadlines, sectionStyle } from './workload-figures.ts';

const MODE_INTRO: Record<MigrationMode, string> = {
  handover:
    'Requests at a fixed rate and a long download while, at the move, the path in use goes dark and another path (another client address) takes over; the client is told, as a phone\u2019s OS signals a network change. HTTP/3 moves its connection there; HTTP/1.1 and HTTP/2 connect anew from the new address and send again what was in flight, resuming the download with a Range request.',
  rebind:
    'Requests at a fixed rate and a long download while, at the move, a NAT gives the client another port; the client is not told. HTTP/3 carries on once the server has validated the new address; the TCP connections of HTTP/1.1 and HTTP/2 break, and their clients must notice (a reset, or silence) and connect anew.',
  outage:
    'Requests at a fixed rate and a long download while, at the move, the path goes dark for a while and comes back (a tunnel); nobody moves. What survives, and how long until traffic flows again.',
};

function detailsOf(scope: WorkloadScope, protocol: Protocol): MigrationDetails[] {
  return cellsFor(scope, protocol)
    .map(migrationDetails)
    .filter((d): d is MigrationDetails => d !== undefined);
}

export function renderMigrationSection(ctx: ReportContext, scope: WorkloadScope): string | undefined {
  const all = scope.cells.map(migrationDetails).filter((d): d is MigrationDetails => d !== undefined);
  const first = all[0];
  if (!first) return undefined;
  const where =
    first.mode === 'handover'
      ? `from path ${first.fromPath} to ${first.toPath} (base RTT ${formatNumber(first.rttMs)} ms)`
      : `on path ${first.fromPath} (base RTT ${formatNumber(first.rttMs)} ms)`;
  const intro = `${MODE_INTRO[first.mode]} The move came ${formatDuration(first.moveAtMs)} into ${formatDuration(first.durationMs)} of activity, ${where}${
    first.outageMs !== undefined ? `; the path was dark for ${formatDuration(first.outageMs)}` : ''
  }.`;
  const headlines = protocolPairs(scope.protocols).map(([a, b]) => compareProtocols(scope, a, b, 'interruption', MIGRATION_METRICS.interruptionMs.pick));
  return (
    sectionStyle(ctx) +
    `<div class="workload-analysis migration-analysis">` +
    `<h4>Connection migration: ${escapeHtml(first.mode)}</h4>` +
    `<p class="section-note">${escapeHtml(intro)}</p>` +
    renderHeadlines(headlines, outcomeSentences(scope)) +
    renderTable(ctx, scope) +
    `<p class="section-note">${escapeHtml(timingNote(first))}</p>` +
    (goodputChart(ctx, scope) ?? '') +
    `</div>`
  );
}

/** Per protocol, in words: what the move did to its connection and its requests. */
function outcomeSentences(scope: WorkloadScope): string[] {
  return scope.protocols.flatMap((protocol) => {
    const ds = detailsOf(scope, protocol);
    if (ds.length === 0) return [];
    const survived = ds.filter((d) => d.connectionSurvived).length;
    const failed = ds.reduce((s, d) => s + d.requestsFailed, 0);
    const retried = ds.reduce((s, d) => s + d.requestsRetried, 0);
    const noticed = ds.find((d) => d.breakNoticedBy)?.breakNoticedBy;
    const parts = [
      `${PROTOCOL_NAMES[protocol]}: the connection survived in ${survived} of ${ds.length} repetition${ds.length === 1 ? '' : 's'}`,
      `${retried} request${retried === 1 ? '' : 's'} sent again`,
      `${failed} failed`,
    ];
    // Told of a handover, the client needs to notice nothing.
    if (noticed && ds[0]!.mode !== 'handover') parts.push(`the break was noticed by \u201c${noticed}\u201d`);
    let sentence = escapeHtml(parts.join('; ')) + '.';
    // The connection carried on, yet requests in flight at the move never completed: a stack's loss recovery, not the protocol.
    if (protocol === 'h3' && survived > 0 && failed > 0) {
      sentence += ` <span class="note">Requests in flight at the move that never completed on a surviving connection point at the QUIC stack: quiche does not retransmit data that was in flight on the path it left (<a href="https://github.com/cloudflare/quiche/issues/2452">cloudflare/quiche#2452</a>); they failed at the request timeout.</span>`;
    }
    return [sentence];
  });
}

function renderTable(ctx: ReportContext, scope: WorkloadScope): string {
  const rows = scope.protocols.map((protocol) => {
    const key = { network: scope.network.label, protocol, workload: scope.workload };
    const ds = detailsOf(scope, protocol);
    const figure = (metric: MetricDef, unit: string) => metricCell(ctx, key, metric, unit);
    const expected = ds[0]?.expected;
    const rtts = expected ? `${formatNumber(expected.rtts, 0)} RTT${expected.rtts === 1 ? '' : 's'}` : '';
    const expectedCell = expected
      ? `<td class="num expected" title="${escapeHtml(expected.basis)}">${escapeHtml(`${formatNumber(expected.ms, 0)} ms (${ds[0]!.outageMs !== undefined ? `outage + ${rtts}` : rtts})`)}<span class="ci">up to ${escapeHtml(formatNumber(expected.upToMs, 0))} ms</span></td>`
      : `<td class="num missing">\u2014</td>`;
    const survived = ds.filter((d) => d.connectionSurvived).length;
    const refetched = ds.length ? median(ds.map((d) => d.bytesRefetched)) : undefined;
    const handshakes = ds.length ? median(ds.map((d) => d.handshakes)) : undefined;
    return (
      `<tr data-protocol="${protocol}"><th scope="row"><span class="swatch swatch-${protocol}"></span>${PROTOCOL_NAMES[protocol]}</th>` +
      `<td class="num">${ds.length}</td>` +
      figure(MIGRATION_METRICS.interruptionMs, 'ms') +
      expectedCell +
      figure(MIGRATION_METRICS.requestsFailed, 'count') +
      figure(MIGRATION_METRICS.requestsRetried, 'count') +
      `<td class="num">${refetched === undefined ? '\u2014' : escapeHtml(formatBytes(refetched))}</td>` +
      `<td class="num" data-survived="${survived}">${ds.length ? `${survived} of ${ds.length}` : '\u2014'}</td>` +
      `<td class="num">${handshakes === undefined ? '\u2014' : formatNumber(handshakes, Number.isInteger(handshakes) ? 0 : 1)}</td>` +
      `</tr>`
    );
  });
  return (
    `<div class="table-wrap"><table class="compact migration"><caption>One move per repetition: medians across repetitions with their interval. Expected: the textbook interruption on a loss-free link (hover for what it is made of). ${escapeHtml(ctx.provenance(scope))}</caption>` +
    `<thead><tr><th>Protocol</th><th class="num">Reps</th><th class="num">Interruption</th><th class="num">Expected</th><th class="num">Requests failed</th><th class="num">Sent again</th>` +
    `<th class="num">Downloaded twice</th><th class="num">Connection survived</th><th class="num">Handshakes after the move</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`
  );
}

function timingNote(d: MigrationDetails): string {
  const seen =
    d.interruptionSeenBy === 'client'
      ? 'The interruption runs from the move (when the link had made the change) to the first response byte the client read that the server sent after it (this backend keeps no delivery log, so a busy client\u2019s late reading counts too).'
      : 'The interruption runs from the move (when the link had made the change) to the first data packet the server sent after it reaching the client, timed by the link\u2019s delivery log (over a new TCP connection, from its first request on).';
  return (
    `${seen} HTTP/1.1 and HTTP/2 notice a broken connection by the reset their next packet meets or, when they only receive, by ${formatDuration(d.silenceTimeoutMs)} without a byte (silenceTimeout); ` +
    `a request with no complete answer fails after ${formatDuration(d.requestTimeoutMs)} (timeouts.request).`
  );
}

/** Goodput per protocol over time, the mean of the repetitions per bin, with the move (and the outage's end) marked. */
function goodputChart(ctx: ReportContext, scope: WorkloadScope): string | undefined {
  const d0 = scope.cells.map(migrationDetails).find((d) => d !== undefined);
  if (!d0) return undefined;
  const marks = [{ t: 0, label: 'move' }, ...(d0.outageMs !== undefined ? [{ t: d0.outageMs / 1000, label: 'path back' }] : [])];
  return goodputOverTimeChart(ctx, scope, {
    series: (protocol) => detailsOf(scope, protocol).map((d) => d.goodput),
    originMs: d0.moveAtMs,
    xTitle: 'Time from the move (s)',
    marks,
    title: 'Goodput over time, the move marked',
    caption: (binMs) =>
      `Response bytes the client received per ${binMs} ms, all requests and downloads together, the mean of the repetitions; the dashed rule is the move${marks.length > 1 ? ' and the path\u2019s return' : ''}. A protocol recovers where its line climbs back.`,
    source: `result.json cells, details.migration.goodput (per-chunk arrival times); ${ctx.provenance(scope)}`,
  });
}
