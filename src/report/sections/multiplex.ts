/**
 * The multiplex (head-of-line blocking) workload's section: how many in-flight streams one loss
 * event stalled and for how long, each request's latency beyond the same request on the loss-free
 * link, the transports' own statistics, and a waterfall of one typical round per protocol.
 */
import type { StreamScheduling } from '../../../servers/handler-types.ts';
import type { Protocol, TransportStats } from '../../drivers/types.ts';
import { meanCI95 } from '../../metrics/index.ts';
import { protocolColor } from '../charts.ts';
import type { ReportContext, VegaLiteSpec, WorkloadScope } from '../context.ts';
import { PROTOCOL_COLORS, PROTOCOL_NAMES } from '../context.ts';
import { escapeHtml } from '../escape.ts';
import { estimate, type MetricDef } from '../estimates.ts';
import { formatBytes, formatEstimate, formatNumber } from '../format.ts';
import type { Cell } from '../../results/model.ts';
import type { QuicSenderStats } from '../../quic/index.ts';
import { exactHol, multiplexDetails, type ExactHol, type MultiplexDetails } from '../../results/details.ts';
import { medianPerRoundTrip } from '../../workloads/flights.ts';
import { serverText, SERVERS_NOT_RECORDED } from '../servers.ts';
import { buildWaterfall, type Waterfall } from './waterfall.ts';
import {
  cellsFor,
  compareProtocols,
  distributionCdf,
  mean,
  median,
  protocolPairs,
  renderHeadlines,
  representativeCell,
  sectionStyle,
} from './workload-figures.ts';

const histogramStat = (metric: string, stat: 'p50' | 'p99', label: string): MetricDef => ({
  id: `${metric}.${stat}`,
  label,
  unit: 'ms',
  pick: (c) => c.metrics[metric]?.[stat],
});

/** Mean head-of-line blocked / congestion-stalled streams per loss event in one repetition (undefined without a delivery log). */
const meanOf = (pick: (d: MultiplexDetails) => number[] | undefined) => (c: Cell): number | undefined => {
  const d = multiplexDetails(c);
  const v = d ? pick(d) : undefined;
  return v && v.length ? mean(v) : undefined;
};
export const meanHolBlocked = meanOf((d) => d.holBlockedPerLoss);
export const meanCongestionStalled = meanOf((d) => d.congestionStalledPerLoss);

/** Mean streams stalled per loss event in one repetition (undefined without loss events). */
export const meanStalled = (c: Cell): number | undefined => {
  const d = multiplexDetails(c);
  return d && d.stalledPerLoss.length ? mean(d.stalledPerLoss) : undefined;
};

export function renderMultiplexSection(ctx: ReportContext, scope: WorkloadScope): string | undefined {
  if (!scope.cells.some((c) => multiplexDetails(c))) return undefined;
  const lossEvents = scope.cells.reduce((s, c) => s + (multiplexDetails(c)?.lossEvents ?? 0), 0);
  const intro =
    'Many concurrent requests on one connection (a pool for HTTP/1.1) under loss. On HTTP/2 one lost TCP segment holds back every stream behind it until the retransmission arrives; on HTTP/3 only the stream whose data was lost waits. ' +
    'Below: how many in-flight streams each loss event stalled, for how long, and what that cost each request against the same request on the loss-free link.';
  const pairs = protocolPairs(scope.protocols);
  const headlines = [
    ...pairs.slice(0, 1).flatMap(([a, b]) => [
      compareProtocols(scope, a, b, 'p99 request latency', (c) => c.metrics.latency?.p99),
      compareProtocols(scope, a, b, 'p50 request latency', (c) => c.metrics.latency?.p50),
      compareProtocols(scope, a, b, 'streams stalled per loss event (mean per repetition)', meanStalled),
    ]),
    ...pairs.slice(1).map(([a, b]) => compareProtocols(scope, a, b, 'p99 request latency', (c) => c.metrics.latency?.p99)),
  ];
  const stalledLine = stalledSentence(scope);
  const scheduling = schedulingNote(ctx, scope);
  const charts = [
    lossEvents ? stalledChart(ctx, scope) : undefined,
    distributionCdf(ctx, scope, 'stallTime', {
      title: 'Stall time per stalled stream',
      axis: 'Stall time (ms)',
      what: 'stalled streams',
      caption: 'How long each stalled stream waited after a loss event before its next data arrived; further left is better.',
    }),
    distributionCdf(ctx, scope, 'excess', {
      title: 'Excess latency over the loss-free reference',
      axis: 'Excess latency (ms)',
      what: 'requests',
      caption: 'Each request\u2019s latency minus the median latency of the same request on the same link without loss, measured in the same run.',
    }),
  ].filter((c): c is string => Boolean(c));
  const waterfalls = scope.protocols.map((p) => waterfallChart(ctx, scope, p)).filter((c): c is string => Boolean(c));
  return (
    sectionStyle(ctx) +
    `<div class="workload-analysis multiplex-analysis">` +
    `<h4>Head-of-line blocking</h4>` +
    `<p class="section-note">${escapeHtml(intro)}</p>` +
    renderHeadlines(headlines, stalledLine ? [escapeHtml(stalledLine)] : []) +
    (scheduling ? `<p class="section-note">${escapeHtml(scheduling)}</p>` : '') +
    (dropLogMissing(scope)
      ? `<p class="section-note">Head-of-line figures are unavailable on this network: ${escapeHtml(dropLogMissing(scope)!)}, so no loss event can be joined with the streams.</p>`
      : lossEvents === 0
        ? `<p class="section-note">No packet was dropped on these connections: nothing to stall (the loss-free variant).</p>`
        : '') +
    (charts.length ? `<div class="chart-grid three">${charts.join('')}</div>` : '') +
    renderFiguresTable(ctx, scope) +
    renderExactHolTable(ctx, scope) +
    renderTransportTable(ctx, scope) +
    renderRoundTripTable(ctx, scope) +
    renderQuicSenderTable(ctx, scope) +
    (waterfalls.length
      ? `<h4>Waterfall of one round per protocol</h4><div class="chart-grid${waterfalls.length > 1 ? ' three' : ' one'}">${waterfalls.join('')}</div>`
      : ctx.raw
        ? ''
        : `<p class="section-note">The waterfall needs raw.jsonl next to result.json (bench report &lt;run-dir&gt;).</p>`) +
    `</div>`
  );
}

/**
 * Why the link kept no (complete) drop log on this network, or undefined when it kept one. Results
 * written before the log was recorded: the kernel backend had none then.
 */
function dropLogMissing(scope: WorkloadScope): string | undefined {
  const log = scope.network.dropLog;
  if (log) return log.kept ? undefined : log.detail;
  return scope.network.backend === 'kernel' ? 'the kernel backend of the bench that wrote this result kept no log of the packets tc netem dropped or delivered' : undefined;
}

/**
 * How the servers shared the connection among responses: the scheduler decides how many streams
 * one loss touches (Marx et al. 2020), so it is said for bench's own servers, set alike by the
 * scenario's `scheduling`. Results from before the setting: both took turns.
 */
const BUILTIN_SCHEDULING: Record<StreamScheduling, Record<Protocol, string>> = {
  sequential: {
    h1: 'HTTP/1.1 one response at a time per connection',
    h2: 'HTTP/2 (node:http2, nghttp2) sequential: each stream depends exclusively on the one before',
    h3: 'HTTP/3 (quiche) sequential: urgency 3, not incremental (RFC 9218 defaults)',
  },
  'round-robin': {
    h1: 'HTTP/1.1 one response at a time per connection',
    h2: 'HTTP/2 (node:http2, nghttp2) round-robin among streams of equal weight, a DATA frame (up to 16 KB) each',
    h3: 'HTTP/3 (quiche) round-robin: urgency 3, incremental, a packet each',
  },
};

function schedulingNote(ctx: ReportContext, scope: WorkloadScope): string | undefined {
  const scheduling = (ctx.result.scenario.scheduling as StreamScheduling | undefined) ?? 'round-robin';
  const parts = scope.protocols.map((p) => {
    const server = ctx.result.servers?.[p];
    if (!server || server.kind === 'builtin') return BUILTIN_SCHEDULING[scheduling][p];
    return `${PROTOCOL_NAMES[p]} as ${server.name} schedules (not set by bench)`;
  });
  if (parts.length === 0) return undefined;
  const tcpBuiltin = scope.protocols.some((p) => p !== 'h3' && (ctx.result.servers?.[p]?.kind ?? 'builtin') === 'builtin');
  // See ARCHITECTURE.md (Servers): node's 16 KB TLS records, which a 10-segment initial window cannot hold.
  const records = tcpBuiltin
    ? " bench's HTTP/1.1 and HTTP/2 servers write 16 KB TLS records (node's default, as nginx's): a new connection's first record is longer than TCP's initial window, so its first response needs a second round trip, which QUIC's per-packet protection does not."
    : '';
  return `Server stream scheduling: ${parts.join('; ')}.${records}`;
}

function stalledSentence(scope: WorkloadScope): string | undefined {
  const parts = scope.protocols.flatMap((p) => {
    const ds = cellsFor(scope, p).map(multiplexDetails).filter((d): d is MultiplexDetails => d !== undefined);
    const stalled = ds.flatMap((d) => d.stalledPerLoss);
    const inFlight = ds.flatMap((d) => d.inFlightPerLoss);
    if (stalled.length === 0) return [];
    return [`${PROTOCOL_NAMES[p]} ${formatNumber(mean(stalled))} of ${formatNumber(mean(inFlight))} in flight (${stalled.length} loss events)`];
  });
  return parts.length ? `Streams stalled per loss event, mean: ${parts.join('; ')}.` : undefined;
}

interface StallRow {
  protocolName: string;
  repetition: number;
  stalled: number;
  inFlight: number;
  share: number;
}

/** At most this many loss events per protocol as dots; beyond, every k-th (the box uses all). */
const MAX_STALL_POINTS = 1500;

function stalledChart(ctx: ReportContext, scope: WorkloadScope): string | undefined {
  const rows: StallRow[] = [];
  const points: StallRow[] = [];
  for (const protocol of scope.protocols) {
    const own: StallRow[] = [];
    for (const c of cellsFor(scope, protocol)) {
      const d = multiplexDetails(c);
      d?.stalledPerLoss.forEach((stalled, i) => {
        const inFlight = d.inFlightPerLoss[i] ?? 0;
        own.push({ protocolName: PROTOCOL_NAMES[protocol], repetition: c.repetition + 1, stalled, inFlight, share: inFlight ? stalled / inFlight : 0 });
      });
    }
    rows.push(...own);
    const step = Math.max(1, Math.ceil(own.length / MAX_STALL_POINTS));
    points.push(...own.filter((_, i) => i % step === 0));
  }
  if (rows.length === 0) return undefined;
  const protocols = scope.protocols.filter((p) => rows.some((r) => r.protocolName === PROTOCOL_NAMES[p]));
  const y = { field: 'protocolName', type: 'nominal', title: null, sort: protocols.map((p) => PROTOCOL_NAMES[p]), axis: { labelFontWeight: 'bold' } };
  const spec: VegaLiteSpec = {
    width: 'container',
    height: 70 * protocols.length,
    encoding: { y, color: { ...protocolColor(protocols), legend: null } },
    layer: [
      {
        data: { values: rows.map(({ protocolName, stalled }) => ({ protocolName, stalled })) },
        mark: { type: 'boxplot', extent: 'min-max', size: 26, opacity: 0.35, median: { color: '#1f2328' } },
        encoding: { x: { field: 'stalled', type: 'quantitative', title: 'Streams stalled by one loss event', scale: { zero: true } } },
      },
      {
        data: { values: points },
        transform: [{ calculate: 'random() - 0.5', as: 'jitter' }],
        mark: { type: 'point', filled: true, size: 18, opacity: 0.55 },
        encoding: {
          x: { field: 'stalled', type: 'quantitative' },
          yOffset: { field: 'jitter', type: 'quantitative', scale: { domain: [-1.4, 1.4] } },
          tooltip: [
            { field: 'protocolName', title: 'protocol' },
            { field: 'repetition', title: 'repetition' },
            { field: 'stalled', title: 'streams stalled' },
            { field: 'inFlight', title: 'streams in flight' },
            { field: 'share', title: 'share stalled', format: '.1%' },
          ],
        },
      },
    ],
  };
  return ctx.chart(spec, {
    title: 'Streams stalled per loss event',
    caption:
      'Each dot is one loss event (drops within 1 ms merged), placed at how many in-flight streams then waited longer than their usual gap; the box spans the middle half, whiskers the full range.',
    source: `result.json cells, details.multiplex.stalledPerLoss (the link's drop log joined with per-chunk arrival times); ${ctx.provenance(scope)}`,
  });
}

function renderFiguresTable(ctx: ReportContext, scope: WorkloadScope): string {
  const columns: Array<{ header: string; metric: MetricDef }> = [
    { header: 'Latency p50', metric: histogramStat('latency', 'p50', 'latency p50') },
    { header: 'Latency p99', metric: histogramStat('latency', 'p99', 'latency p99') },
    { header: 'Loss-free p50', metric: histogramStat('reference.latency', 'p50', 'loss-free reference latency p50') },
    { header: 'Loss-free p99', metric: histogramStat('reference.latency', 'p99', 'loss-free reference latency p99') },
    { header: 'Excess p50', metric: histogramStat('excess', 'p50', 'excess latency p50') },
    { header: 'Excess p99', metric: histogramStat('excess', 'p99', 'excess latency p99') },
    { header: 'Stall time p50', metric: histogramStat('stallTime', 'p50', 'stall time p50') },
    { header: 'Stall time p99', metric: histogramStat('stallTime', 'p99', 'stall time p99') },
  ];
  const rows = scope.protocols.map((protocol) => {
    const key = { network: scope.network.label, protocol, workload: scope.workload };
    const tds = columns.map(({ metric }) => {
      const est = estimate(ctx.result, key, metric);
      if (!est) return `<td class="num missing">\u2014</td>`;
      const f = formatEstimate(est, 'ms');
      const title = `${metric.label}: ${f.text}\nper repetition (ms): ${est.values.map((v) => formatNumber(v)).join(', ')}\n${ctx.provenance(scope, protocol, est.n)}`;
      return `<td class="num" data-metric="${metric.id}" title="${escapeHtml(title)}"><span class="value">${escapeHtml(f.value.replace(/ ms$/, ''))}</span><span class="ci">${escapeHtml(f.interval.replace(/, \d+ reps?$/, ''))}</span></td>`;
    });
    const perRep = cellsFor(scope, protocol).map(meanStalled).filter((v): v is number => v !== undefined);
    const split = (pick: (c: Cell) => number | undefined, what: string) => {
      const v = cellsFor(scope, protocol).map(pick).filter((x): x is number => x !== undefined);
      return v.length
        ? `<td class="num" title="${escapeHtml(`${what} per loss event, per repetition: ${v.map((x) => formatNumber(x)).join(', ')}`)}">${formatNumber(mean(v))}</td>`
        : `<td class="num missing" title="no delivery log for this network">\u2014</td>`;
    };
    const events = cellsFor(scope, protocol).reduce((s, c) => s + (multiplexDetails(c)?.lossEvents ?? 0), 0);
    let stalled = '\u2014';
    let stalledCi = '';
    if (perRep.length) {
      stalled = formatNumber(mean(perRep));
      if (perRep.length > 1) stalledCi = `CI ${meanCI95(perRep).map((v) => formatNumber(Math.max(0, v))).join('\u2013')}`;
    }
    return (
      `<tr data-protocol="${protocol}"><th scope="row"><span class="swatch swatch-${protocol}"></span>${PROTOCOL_NAMES[protocol]}</th>` +
      tds.join('') +
      `<td class="num">${events}</td>` +
      `<td class="num" data-metric="stalledPerLoss" title="${escapeHtml(`mean streams stalled per loss event, per repetition: ${perRep.map((v) => formatNumber(v)).join(', ')}`)}"><span class="value">${stalled}</span>${stalledCi ? `<span class="ci">${stalledCi}</span>` : ''}</td>` +
      split(meanHolBlocked, 'mean streams head-of-line blocked (the link kept delivering their connection\'s data)') +
      split(meanCongestionStalled, 'mean streams congestion-stalled (the link delivered nothing of their connection)') +
      `</tr>`
    );
  });
  return (
    `<div class="table-wrap"><table class="headline multiplex"><caption>Values in ms: medians across repetitions of each repetition's percentile, with the 95% interval below. ` +
    `"Loss-free" is the same requests on the same link with the loss removed, measured in the same run; excess = a request's latency minus that reference. ` +
    `A stalled stream is head-of-line blocked when the link kept delivering data of its connection while it got nothing (its data waited behind a hole), congestion-stalled when the link delivered nothing of its connection (the sender was held). ${escapeHtml(ctx.provenance(scope))}</caption>` +
    `<thead><tr><th>Protocol</th>${columns.map((c) => `<th class="num">${c.header}</th>`).join('')}<th class="num">Loss events</th><th class="num">Stalled per loss (mean)</th><th class="num">of which head-of-line blocked</th><th class="num">congestion-stalled</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table></div>`
  );
}

/** Results written before the exact form existed carry neither figures nor a reason. */
const EXACT_HOL_NOT_RECORDED = 'the bench that wrote these results did not rebuild the reassembly from a capture';

/** At most this many loss events per protocol in the per-event listing. */
const MAX_EVENT_ROWS = 200;

/**
 * Head-of-line blocking exactly (details.multiplex.exactHol): per protocol, per loss event, the
 * streams (HTTP/3) or connections (HTTP/2) that held bytes above the hole it made, beside the
 * delivery log's split; where a protocol has no such figures, why.
 */
function renderExactHolTable(ctx: ReportContext, scope: WorkloadScope): string {
  const rows: string[] = [];
  const listings: string[] = [];
  for (const protocol of scope.protocols) {
    const cells = cellsFor(scope, protocol).filter((c) => multiplexDetails(c));
    if (cells.length === 0 || protocol === 'h1') continue;
    const name = `<th scope="row"><span class="swatch swatch-${protocol}"></span>${PROTOCOL_NAMES[protocol]}</th>`;
    const found = cells.map((c) => ({ cell: c, details: multiplexDetails(c)!, exact: exactHol(multiplexDetails(c)!) }));
    const missing = found.find((f) => !('perLoss' in f.exact));
    if (missing) {
      const why = 'unavailable' in missing.exact ? missing.exact.unavailable : EXACT_HOL_NOT_RECORDED;
      rows.push(`<tr data-protocol="${protocol}">${name}<td colspan="7" class="missing">exact form unavailable: ${escapeHtml(why)}</td></tr>`);
      continue;
    }
    const exact = found.map((f) => ({ ...f, exact: f.exact as ExactHol }));
    const perLoss = exact.flatMap((f) => f.exact.perLoss);
    const down = exact.flatMap((f) => f.exact.perLoss.filter((_, i) => f.details.lossEventAt?.[i]?.dir === 'down'));
    const blockedMs = perLoss.flatMap((e) => e.blockedMs);
    const held = perLoss.flatMap((e) => e.peakHeldBytes);
    const hol = exact.flatMap((f) => f.details.holBlockedPerLoss ?? []);
    const unexplained = exact.reduce((sum, f) => sum + f.exact.unexplained, 0);
    const outside = exact.reduce((sum, f) => sum + (f.exact.outsideLossEvents ?? 0), 0);
    const intervals = exact.reduce((sum, f) => sum + f.exact.blockedIntervals, 0);
    const first = exact[0]!.exact;
    const unit = first.scope === 'stream' ? 'streams' : 'connections';
    const hit = perLoss.some((e) => e.hit !== undefined) ? formatNumber(mean(perLoss.map((e) => e.hit ?? 0))) : '\u2014';
    rows.push(
      `<tr data-protocol="${protocol}" data-exact-hol="${first.scope}">${name}` +
        `<td>${escapeHtml(first.source)} <span class="muted">(per ${first.scope})</span></td>` +
        `<td class="num">${perLoss.length} <span class="muted">(${down.length} down)</span></td>` +
        `<td class="num" title="streams whose bytes the event's lost packets carried">${hit}</td>` +
        `<td class="num" title="delivery log: stalled while the link delivered other data of the connection">${hol.length ? formatNumber(mean(hol)) : '\u2014'}</td>` +
        `<td class="num" data-metric="exactBlockedPerLoss" title="${escapeHtml(`${unit} that held bytes above a hole, per loss event`)}">${perLoss.length ? formatNumber(mean(perLoss.map((e) => e.blocked))) : '\u2014'} <span class="muted">${unit}</span></td>` +
        `<td class="num">${blockedMs.length ? `${formatNumber(median(blockedMs))} / ${formatNumber(Math.max(...blockedMs))}` : '\u2014'}</td>` +
        `<td class="num">${held.length ? `${formatBytes(median(held))} / ${formatBytes(Math.max(...held))}` : '\u2014'}` +
        `${unexplained ? ` <span class="muted">(${unexplained} of ${intervals} intervals not traced to a drop)</span>` : ''}` +
        `${outside ? ` <span class="muted">(${outside} of ${intervals} intervals from drops outside the loss events, after a round's last response)</span>` : ''}</td></tr>`,
    );
    const eventRows = exact.flatMap((f) => {
      const d = f.details;
      const t0 = d.lossEventAt?.[0]?.t ?? 0;
      return f.exact.perLoss.map((e, i) => {
        const at = d.lossEventAt?.[i];
        return (
          `<tr><td class="num">${f.cell.repetition + 1}</td><td class="num">${at ? formatNumber(at.t - t0, 0) : '\u2014'}</td><td>${at?.dir ?? ''}</td>` +
          `<td class="num">${d.inFlightPerLoss[i] ?? ''}</td><td class="num">${d.stalledPerLoss[i] ?? ''}</td><td class="num">${d.holBlockedPerLoss?.[i] ?? '\u2014'}</td>` +
          `<td class="num">${e.hit ?? '\u2014'}</td><td class="num">${e.blocked}</td>` +
          `<td class="num">${e.blockedMs.map((v) => formatNumber(v, 0)).join(', ')}</td><td class="num">${e.peakHeldBytes.map((v) => formatBytes(v)).join(', ')}</td></tr>`
        );
      });
    });
    if (eventRows.length) {
      listings.push(
        `<details class="exact-hol-events" data-protocol="${protocol}"><summary>${PROTOCOL_NAMES[protocol]}: each loss event${eventRows.length > MAX_EVENT_ROWS ? ` (first ${MAX_EVENT_ROWS} of ${eventRows.length})` : ''}</summary>` +
          `<div class="table-wrap"><table class="compact"><thead><tr><th class="num">Rep</th><th class="num">At (ms)</th><th>Dir</th><th class="num">In flight</th><th class="num">Stalled</th><th class="num">HOL (delivery log)</th><th class="num">Hit</th><th class="num">Blocked (exact)</th><th class="num">Blocked ms</th><th class="num">Bytes held</th></tr></thead>` +
          `<tbody>${eventRows.slice(0, MAX_EVENT_ROWS).join('')}</tbody></table></div></details>`,
      );
    }
  }
  if (rows.length === 0) return '';
  return (
    `<div class="table-wrap"><table class="compact exact-hol"><caption>Head-of-line blocking, exactly: the receiver's reassembly rebuilt from the packets the link delivered, in its capture. ` +
    `HTTP/3: per request stream, from the STREAM frames of the capture decrypted with the client's TLS key log; a stream is blocked while it holds bytes above a hole that waits for a retransmission. ` +
    `HTTP/2: per TCP connection, from sequence numbers: bytes held above a hole block every stream of the connection. ` +
    `Each blocked interval is traced to the dropped packet that carried the hole's first byte, and so to a loss event (loss events up the link make no hole in a response). ` +
    `The delivery log's head-of-line count is an upper bound for HTTP/3 (a stream the server did not schedule also gets nothing). ${escapeHtml(ctx.provenance(scope))}</caption>` +
    `<thead><tr><th>Protocol</th><th>Source</th><th class="num">Loss events</th><th class="num">Streams hit per loss (mean)</th><th class="num">HOL per loss, delivery log (mean)</th><th class="num">Blocked per loss, exact (mean)</th><th class="num">Blocked ms, median / max</th><th class="num">Bytes held above the hole, median / max</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table></div>` +
    listings.join('')
  );
}

/**
 * When quiche dated most of the client's packets well before they were built, its RTT (measured
 * from those dates) reads high by about as much: said beside the figure, with the dating measured.
 */
function backdatingNote(stats: TransportStats[]): string | undefined {
  const dating = stats.map((s) => s.sendDating).filter((d): d is NonNullable<TransportStats['sendDating']> => d !== undefined && d.packets > 0);
  if (dating.length === 0) return undefined;
  const share = median(dating.map((d) => d.backdated / d.packets));
  const meanMs = median(dating.map((d) => d.backdatedMeanMs));
  if (share < BACKDATED_SHARE_NOTED || meanMs < BACKDATED_MEAN_NOTED_MS) return undefined;
  return (
    `The HTTP/3 client's RTT reads high: quiche dated ${formatNumber(100 * share, 0)}% of the client's packets on average ${formatNumber(meanMs, 0)} ms before it built them ` +
    `(medians over connections). quiche 0.18 records a packet's pacing release time as its send time and measures RTT samples from it, and that time falls behind ` +
    `for a sender of small packets. The data sender's estimate, the server's, is the one its window and pacing use (the next table).`
  );
}

/** A client RTT is noted as misdated when at least this share of its packets were backdated, */
const BACKDATED_SHARE_NOTED = 0.25;
/** by at least this much on average. */
const BACKDATED_MEAN_NOTED_MS = 5;

function renderTransportTable(ctx: ReportContext, scope: WorkloadScope): string {
  let note: string | undefined;
  const rows = scope.protocols.flatMap((protocol) => {
    const stats = cellsFor(scope, protocol).flatMap((c) => multiplexDetails(c)?.transportPerConnection ?? []);
    if (stats.length === 0) return [];
    const med = (pick: (s: TransportStats) => number | undefined, f: (v: number) => string) => {
      const v = stats.map(pick).filter((x): x is number => x !== undefined);
      return v.length ? f(median(v)) : '\u2014';
    };
    const total = (pick: (s: TransportStats) => number | undefined) => {
      const v = stats.map(pick).filter((x): x is number => x !== undefined);
      return v.length ? v.reduce((a, b) => a + b, 0).toLocaleString('en-US') : '\u2014';
    };
    const source = protocol === 'h3' ? 'quiche path statistics' : '`ss -tin` in the client namespace';
    const misdated = protocol === 'h3' ? backdatingNote(stats) : undefined;
    note ??= misdated;
    return [
      `<tr data-protocol="${protocol}"><th scope="row"><span class="swatch swatch-${protocol}"></span>${PROTOCOL_NAMES[protocol]}</th>` +
        `<td>${protocol === 'h3' ? 'QUIC' : 'TCP'} <span class="muted">(${escapeHtml(source)})</span></td>` +
        `<td class="num">${stats.length}</td>` +
        `<td class="num">${med((s) => s.rttMs, (v) => formatNumber(v))}${misdated ? ' <span class="muted" title="misdated: see below the table">*</span>' : ''}</td>` +
        `<td class="num">${med((s) => s.cwndBytes, (v) => formatBytes(v))}</td>` +
        `<td class="num">${med((s) => s.sentPackets, (v) => formatNumber(v, 0))}</td>` +
        `<td class="num">${med((s) => s.lostPackets, (v) => formatNumber(v, 0))} <span class="muted">/ ${total((s) => s.lostPackets)}</span></td>` +
        `<td class="num">${med((s) => s.retransmittedPackets, (v) => formatNumber(v, 0))} <span class="muted">/ ${total((s) => s.retransmittedPackets)}</span></td>` +
        `</tr>`,
    ];
  });
  if (rows.length === 0) return '';
  return (
    `<div class="table-wrap"><table class="compact transport"><caption>Transport statistics per connection at the end of each round, medians over every connection of every repetition (totals after the slash). ` +
    `They are the client's view: its own losses and retransmissions (requests, acknowledgements); the server's lost response data shows as the link's drops above. ${escapeHtml(ctx.provenance(scope))}</caption>` +
    `<thead><tr><th>Protocol</th><th>Transport</th><th class="num">Connections</th><th class="num">RTT (ms)</th><th class="num">cwnd</th><th class="num">Packets sent</th>` +
    `<th class="num">Lost</th><th class="num">Retransmitted</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>` +
    (note ? `<p class="note transport-rtt-note">* ${escapeHtml(note)}</p>` : '')
  );
}

/** bench's HTTP/3 server as the data sender: its RTT estimate and how its pacing kept time. */
/** Round trips shown; a transfer of this workload rarely needs more. */
const ROUND_TRIP_COLUMNS = 10;

/**
 * Slow start as the link delivered it: data packets per round trip, per protocol and server. The
 * first column is each server's initial window when the link does not queue (no rate limit), so a
 * gap in latency between stacks on the same path reads as rounds of slow start.
 */
function renderRoundTripTable(ctx: ReportContext, scope: WorkloadScope): string {
  const rows = scope.protocols.flatMap((protocol) => {
    const transfers = cellsFor(scope, protocol).flatMap((c) => multiplexDetails(c)?.packetsPerRoundTrip ?? []);
    if (transfers.length === 0) return [];
    const counts = medianPerRoundTrip(transfers).slice(0, ROUND_TRIP_COLUMNS);
    const server = ctx.result.servers?.[protocol];
    const cells = Array.from({ length: ROUND_TRIP_COLUMNS }, (_, i) => `<td class="num">${i < counts.length ? formatNumber(counts[i]!, 0) : ''}</td>`);
    return [
      `<tr data-protocol="${protocol}"><th scope="row"><span class="swatch swatch-${protocol}"></span>${PROTOCOL_NAMES[protocol]}</th>` +
        `<td>${escapeHtml(server ? serverText(server) : SERVERS_NOT_RECORDED)}</td><td class="num">${transfers.length}</td>${cells.join('')}</tr>`,
    ];
  });
  if (rows.length === 0) return '';
  const spec = scope.network.spec;
  const queues = spec.kind === 'shaped' && spec.paths.some((p) => p.down.rateBps !== undefined || p.down.rateTrace !== undefined || p.down.jitterMs > 0);
  return (
    `<div class="table-wrap"><table class="compact transport round-trips"><caption>Data packets the link delivered to the client in each round trip of a round, from its first, ` +
    `median over every round of every repetition. On a link that does not queue, the first column is the server's congestion window as the transfer began: ` +
    `its initial window (10 packets in RFC 9002 and RFC 6928; quic-go uses 32) plus what the handshake's acknowledged packets added, and the rest its growth in slow start: ` +
    `a stack that needs more round trips for the same bytes finishes later.` +
    `${queues ? ' This link limits the rate or adds jitter, so the counts also show its queue and spread.' : ''} Source: the link's delivery log (packets over 200 bytes). ${escapeHtml(ctx.provenance(scope))}</caption>` +
    `<thead><tr><th>Protocol</th><th>Server</th><th class="num">Rounds</th>${Array.from({ length: ROUND_TRIP_COLUMNS }, (_, i) => `<th class="num">RTT ${i + 1}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table></div>`
  );
}

export function renderQuicSenderTable(ctx: ReportContext, scope: WorkloadScope): string {
  const stats = cellsFor(scope, 'h3').flatMap((c) => c.serverQuic ?? []);
  if (stats.length === 0) return '';
  const srtt = stats.map((s) => s.srttMs).filter((v): v is number => v !== undefined);
  const paced = stats.reduce((a, s) => a + s.pacing.queued, 0);
  const late = stats.reduce((a, s) => a + s.pacing.lateSumMs, 0);
  const lateOver1 = stats.reduce((a, s) => a + s.pacing.lateOver1Ms, 0);
  const lateMax = Math.max(...stats.map((s) => s.pacing.lateMaxMs));
  const sent = stats.reduce((a, s) => a + s.sentPackets, 0);
  const lost = stats.reduce((a, s) => a + s.lostPackets, 0);
  const range = srtt.length ? `${formatNumber(median(srtt))} <span class="muted">(${formatNumber(Math.min(...srtt))}\u2013${formatNumber(Math.max(...srtt))})</span>` : '\u2014';
  const dated = stats.map((s) => s.dating).filter((d): d is NonNullable<QuicSenderStats['dating']> => d !== undefined && d.packets > 0);
  const datedPackets = dated.reduce((a, d) => a + d.packets, 0);
  const backdated = dated.reduce((a, d) => a + d.backdated, 0);
  const backdatedMean = backdated ? dated.reduce((a, d) => a + d.backdatedMeanMs * d.backdated, 0) / backdated : 0;
  const datedEarly = datedPackets ? `${formatNumber((100 * backdated) / datedPackets)}%${backdated ? ` <span class="muted">(${formatNumber(backdatedMean)} ms)</span>` : ''}` : '\u2014';
  return (
    `<div class="table-wrap"><table class="compact transport quic-sender"><caption>bench's HTTP/3 server as the data sender, over ${stats.length} QUIC connections: ` +
    `its smoothed RTT (the estimate its window and pacing use; median, range), the packets quiche dated more than 1 ms before they were built (its RTT samples start at those dates; mean of how early), and the packets that waited for the pacer (the network's details say which) and how late the send loop let them go. ${escapeHtml(ctx.provenance(scope))}</caption>` +
    `<thead><tr><th>Protocol</th><th class="num">Sender RTT (ms)</th><th class="num">Packets sent</th><th class="num">Lost</th><th class="num">Dated early</th><th class="num">Paced packets</th><th class="num">Release error mean (ms)</th><th class="num">max (ms)</th><th class="num">&gt; 1 ms late</th></tr></thead>` +
    `<tbody><tr data-protocol="h3"><th scope="row"><span class="swatch swatch-h3"></span>${PROTOCOL_NAMES.h3}</th><td class="num">${range}</td>` +
    `<td class="num">${sent.toLocaleString('en-US')}</td><td class="num">${lost.toLocaleString('en-US')}</td><td class="num">${datedEarly}</td><td class="num">${paced.toLocaleString('en-US')}</td>` +
    `<td class="num">${paced ? formatNumber(late / paced) : '\u2014'}</td><td class="num">${paced ? formatNumber(lateMax) : '\u2014'}</td>` +
    `<td class="num">${paced ? `${formatNumber((100 * lateOver1) / paced)}%` : '\u2014'}</td></tr></tbody></table></div>`
  );
}

function waterfallChart(ctx: ReportContext, scope: WorkloadScope, protocol: Protocol): string | undefined {
  if (!ctx.raw) return undefined;
  const cell = representativeCell(scope, protocol, (c) => c.metrics.latency?.p99);
  if (!cell) return undefined;
  const w = buildWaterfall(ctx.raw, { network: scope.network.label, protocol, workload: scope.workload, repetition: cell.repetition });
  if (!w) return undefined;
  return ctx.chart(waterfallSpec(w, protocol), {
    title: `${PROTOCOL_NAMES[protocol]}: repetition ${cell.repetition + 1}, round ${w.round} of ${w.rounds}`,
    caption:
      `One bar per request from sent to complete: light while waiting for the first byte, dark while the body arrives; red rules are packets the link dropped on these connections (${w.drops.length} here). ` +
      `Under head-of-line blocking, bars that span a drop all end together after it.`,
    source:
      `raw.jsonl request and drop events (drops joined ${w.joinedBy === 'port' ? "by the connections' client ports" : 'by time'}); the repetition with the median p99, ` +
      `the round with the median drop count (drops per round: ${w.dropsPerRound.join(', ')}); ${ctx.provenance(scope, protocol, 1)}`,
  });
}

function waterfallSpec(w: Waterfall, protocol: Protocol): VegaLiteSpec {
  const n = w.bars.length;
  const x = { field: 'startMs', type: 'quantitative', title: 'Time since the round started (ms)', scale: { zero: true } };
  const barTooltip = [
    { field: 'index', title: 'request (by send time)' },
    { field: 'path', title: 'path' },
    { field: 'startMs', title: 'sent at (ms)', format: ',.2f' },
    { field: 'firstByteMs', title: 'first byte at (ms)', format: ',.2f' },
    { field: 'doneMs', title: 'done at (ms)', format: ',.2f' },
    { field: 'latencyMs', title: 'latency (ms)', format: ',.2f' },
    { field: 'bytes', title: 'bytes', format: ',' },
    { field: 'connection', title: 'connection' },
    { field: 'status', title: 'status' },
  ];
  const y = { field: 'index', type: 'ordinal', title: `${n} requests, in the order sent`, axis: { labels: false, ticks: false, domain: false } };
  return {
    width: 'container',
    height: Math.min(560, Math.max(160, 4 * n)),
    data: { values: w.bars.map((b) => ({ ...b, firstByteOrDone: b.firstByteMs ?? b.doneMs })) },
    layer: [
      {
        // Waiting for the first byte: light; receiving the body: dark (as browsers' waterfalls draw it).
        mark: { type: 'bar', color: PROTOCOL_COLORS[protocol], opacity: 0.4 },
        encoding: { x, x2: { field: 'firstByteOrDone' }, y, tooltip: barTooltip },
      },
      {
        mark: { type: 'bar', color: PROTOCOL_COLORS[protocol], opacity: 0.9 },
        encoding: { x: { field: 'firstByteOrDone', type: 'quantitative' }, x2: { field: 'doneMs' }, y, tooltip: barTooltip },
      },
      {
        data: { values: w.drops.length ? w.drops : [{ tMs: null }] },
        transform: [{ filter: 'isValid(datum.tMs)' }],
        mark: { type: 'rule', color: '#cf222e', strokeWidth: 1.5, opacity: 0.8, strokeDash: [4, 2] },
        encoding: {
          x: { field: 'tMs', type: 'quantitative' },
          tooltip: [
            { field: 'tMs', title: 'dropped at (ms)', format: ',.2f' },
            { field: 'dir', title: 'direction' },
            { field: 'len', title: 'IP bytes' },
            { field: 'srcPort', title: 'source port' },
            { field: 'dstPort', title: 'destination port' },
            { field: 'tcpSeq', title: 'TCP sequence' },
            { field: 'reason', title: 'reason' },
          ],
        },
      },
    ],
  };
}
