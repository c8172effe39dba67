/**
 * The load workload's section: per protocol the latency-versus-throughput curve of the sweep with
 * its knee marked, and per step the throughput achieved, the latency percentiles (from each
 * request's intended send time in an open loop), what each request cost the client, the server
 * and the link, and whether the machine rather than the protocol bounded the step.
 */
import type { Protocol } from '../../drivers/types.ts';
import { LOAD_METRICS } from '../../results/catalogue.ts';
import { CPU_BOUND_SHARE, KNEE_ACHIEVED_SHARE, KNEE_P99_FACTOR, loadClientText, loadCurve, type LoadCurve, type LoadCurvePoint } from '../../results/load.ts';
import { protocolColor } from '../charts.ts';
import type { ReportContext, VegaLiteSpec, WorkloadScope } from '../context.ts';
import { PROTOCOL_NAMES } from '../context.ts';
import { escapeHtml } from '../escape.ts';
import { formatBytes, formatNumber } from '../format.ts';
import { cellsFor, compareProtocols, protocolPairs, renderHeadlines, sectionStyle } from './workload-figures.ts';

const KNEE_TEXT = `The knee is the last step before the curve breaks: a step breaks when its p99 passes ${KNEE_P99_FACTOR}\u00d7 the first step\u2019s p99 or, in an open loop, when it achieves less than ${KNEE_ACHIEVED_SHARE * 100}% of the rate offered.`;

function curves(scope: WorkloadScope): Array<{ protocol: Protocol; curve: LoadCurve }> {
  return scope.protocols.flatMap((protocol) => {
    const curve = loadCurve(cellsFor(scope, protocol));
    return curve ? [{ protocol, curve }] : [];
  });
}

export function renderLoadSection(ctx: ReportContext, scope: WorkloadScope): string | undefined {
  const all = curves(scope);
  const first = all[0]?.curve;
  if (!first) return undefined;
  const intro =
    first.loop === 'open'
      ? `An open loop: requests arrive at a constant rate, each sent at its intended time whatever became of the earlier ones, one step per rate. Latency counts from each request\u2019s intended send time, so time spent waiting behind a slow answer or a busy client counts (coordinated omission corrected, as wrk2 does); service time counts from the actual send. An arrival sent more than ${first.lateAfterMs} ms late is counted late; one due while ${first.maxInFlight} requests were outstanding is dropped (not sent) and counted.`
      : 'A closed loop: a fixed number of requesters, each sending its next request when its last answer came, one step per concurrency. A slow answer holds back the next request, so the latency of a closed loop hides stalls an open loop shows.';
  const headlines = protocolPairs(scope.protocols).map(([a, b]) => compareProtocols(scope, a, b, 'throughput at the knee', LOAD_METRICS.kneeRequestsPerSec.pick));
  return (
    sectionStyle(ctx) +
    `<div class="workload-analysis load-analysis">` +
    `<h4>Load: latency against throughput</h4>` +
    `<p class="section-note">${escapeHtml(`${intro} ${KNEE_TEXT}`)}</p>` +
    renderHeadlines(headlines, all.map(({ protocol, curve }) => kneeSentence(protocol, curve))) +
    (curveChart(ctx, scope, all) ?? '') +
    all.map(({ protocol, curve }) => stepTable(ctx, scope, protocol, curve)).join('') +
    `</div>`
  );
}

function kneeSentence(protocol: Protocol, curve: LoadCurve): string {
  const name = PROTOCOL_NAMES[protocol];
  if (curve.knee === undefined) return escapeHtml(`${name}: past the knee already at the first step (${levelText(curve, curve.points[0]!.level)}).`);
  const p = curve.points[curve.knee]!;
  const where = `${formatNumber(p.achievedPerSec, 0)} requests/s with p99 ${formatNumber(p.latency!.p99)} ms (step ${levelText(curve, p.level)})`;
  const bound = p.machineBound.length > 0 ? ` The knee step was machine-bound (${p.machineBound.join(', ')}).` : '';
  return escapeHtml(curve.broke ? `${name}: knee at ${where}.${bound}` : `${name}: no knee within the sweep; the last step carried ${where}.${bound}`);
}

function levelText(curve: LoadCurve, level: number): string {
  return curve.loop === 'open' ? `${formatNumber(level, 0)} requests/s offered` : `${level} requester${level === 1 ? '' : 's'}`;
}

interface CurveRow {
  protocolName: string;
  /** Position in the sweep: the line joins steps in the order they ran, even where throughput fell back. */
  step: number;
  level: string;
  achieved: number;
  p50: number;
  p90: number;
  p99: number;
  knee: boolean;
  /** Beside the ring: a sweep that never broke has its last step ringed, not a knee. */
  kneeLabel: string;
  machineBound: string;
}

/** x = throughput achieved, y = p99 latency, one line per protocol; the knee ringed, machine-bound steps crossed. */
function curveChart(ctx: ReportContext, scope: WorkloadScope, all: Array<{ protocol: Protocol; curve: LoadCurve }>): string | undefined {
  const rows: CurveRow[] = all.flatMap(({ protocol, curve }) =>
    curve.points.flatMap((p, i): CurveRow[] =>
      p.latency
        ? [
            {
              protocolName: PROTOCOL_NAMES[protocol],
              step: i,
              level: levelText(curve, p.level),
              achieved: p.achievedPerSec,
              p50: p.latency.p50,
              p90: p.latency.p90,
              p99: p.latency.p99,
              knee: i === curve.knee,
              kneeLabel: curve.broke ? 'knee' : 'no knee yet',
              machineBound: p.machineBound.join(', ') || 'no',
            },
          ]
        : [],
    ),
  );
  if (rows.length === 0) return undefined;
  const protocols = all.map((c) => c.protocol);
  const x = { field: 'achieved', type: 'quantitative', title: 'Throughput achieved (requests/s)' };
  const y = { field: 'p99', type: 'quantitative', title: 'Latency p99 (ms)', scale: { type: 'log' } };
  const tooltip = [
    { field: 'protocolName', title: 'protocol' },
    { field: 'level', title: 'step' },
    { field: 'achieved', title: 'achieved req/s', format: '.1f' },
    { field: 'p50', title: 'p50 ms', format: '.3f' },
    { field: 'p90', title: 'p90 ms', format: '.3f' },
    { field: 'p99', title: 'p99 ms', format: '.3f' },
    { field: 'knee', title: 'knee' },
    { field: 'machineBound', title: 'machine-bound' },
  ];
  const spec: VegaLiteSpec = {
    width: 'container',
    height: 300,
    data: { values: rows },
    encoding: { x, y, color: protocolColor(protocols) },
    layer: [
      { mark: { type: 'line', strokeWidth: 2 }, encoding: { order: { field: 'step' } } },
      { mark: { type: 'point', filled: true, size: 40 }, encoding: { tooltip } },
      { transform: [{ filter: 'datum.knee' }], mark: { type: 'point', size: 260, strokeWidth: 2 }, encoding: { tooltip } },
      { transform: [{ filter: 'datum.knee' }], mark: { type: 'text', dy: -14, fontSize: 11 }, encoding: { text: { field: 'kneeLabel' } } },
      { transform: [{ filter: "datum.machineBound != 'no'" }], mark: { type: 'point', shape: 'cross', size: 120, color: '#1f2328' }, encoding: { tooltip, color: { value: '#1f2328' } } },
    ],
  };
  const corrected = all[0]!.curve.loop === 'open' ? ', counted from each request\u2019s intended send time' : '';
  return ctx.chart(spec, {
    title: 'Latency against throughput, the knee ringed',
    caption: `One point per step: the throughput achieved (median of the repetitions) against the p99 latency${corrected} (the repetitions\u2019 histograms added, log scale). The ring marks each protocol\u2019s knee (its last step, \u201cno knee yet\u201d, when the sweep never broke); a cross marks a step where the client, server or link process was above ${CPU_BOUND_SHARE * 100}% of a core (machine-bound, not protocol-bound).`,
    source: `result.json cells, details.load.steps and the steps\u2019 latency histograms; ${ctx.provenance(scope)}`,
  });
}

function stepTable(ctx: ReportContext, scope: WorkloadScope, protocol: Protocol, curve: LoadCurve): string {
  const open = curve.loop === 'open';
  const ms = (v: number | undefined) => (v === undefined ? '\u2014' : formatNumber(v));
  const cpu = (v: number | undefined, what: string) =>
    v === undefined ? `<td class="num missing" title="${escapeHtml(`${what}: not measured here`)}">unavailable</td>` : `<td class="num">${formatNumber(v * 1000, 0)}</td>`;
  const bytes = (p: LoadCurvePoint) =>
    p.wireBytesPerRequest === undefined
      ? `<td class="num missing" title="${escapeHtml(bytesUnavailable(scope))}">unavailable</td>`
      : `<td class="num">${escapeHtml(formatBytes(p.wireBytesPerRequest))}</td>`;
  const rows = curve.points.map((p, i) => {
    const a = p.arrivals;
    const bound = p.machineBound.length > 0;
    return (
      `<tr data-level="${p.level}"${i === curve.knee ? ' class="knee"' : ''}>` +
      `<th scope="row">${escapeHtml(levelText(curve, p.level))}${i === curve.knee ? ' (knee)' : ''}</th>` +
      `<td class="num">${formatNumber(p.achievedPerSec, 0)}</td>` +
      `<td class="num">${ms(p.latency?.p50)}</td><td class="num">${ms(p.latency?.p90)}</td><td class="num">${ms(p.latency?.p99)}</td>` +
      (open ? `<td class="num">${ms(p.service?.p99)}</td>` : '') +
      `<td class="num">${p.failed}</td>` +
      (open ? `<td class="num">${a ? `${a.late} / ${a.dropped}` : '\u2014'}</td>` : '') +
      cpu(p.clientCpuPerRequestMs, 'client CPU') +
      cpu(p.serverCpuPerRequestMs, 'server CPU') +
      cpu(p.linkCpuPerRequestMs, 'link CPU') +
      bytes(p) +
      `<td class="${bound ? 'warn' : ''}">${bound ? escapeHtml(`machine-bound: ${p.machineBound.join(', ')}`) : 'no'}</td>` +
      `</tr>`
    );
  });
  const head =
    `<th>Step</th><th class="num">Achieved req/s</th><th class="num">p50 ms</th><th class="num">p90 ms</th><th class="num">p99 ms</th>` +
    (open ? `<th class="num">Service p99 ms</th>` : '') +
    `<th class="num">Failed</th>` +
    (open ? `<th class="num">Late / dropped</th>` : '') +
    `<th class="num">Client CPU \u00b5s/req</th><th class="num">Server CPU \u00b5s/req</th><th class="num">Link CPU \u00b5s/req</th><th class="num">Wire bytes/req</th><th>Machine-bound</th>`;
  const reps = Math.max(...curve.points.map((p) => p.repetitions));
  return (
    `<div class="table-wrap"><table class="compact load" data-protocol="${protocol}"><caption>${escapeHtml(
      `${PROTOCOL_NAMES[protocol]}, per step over ${reps} repetition${reps === 1 ? '' : 's'}: achieved throughput the median, percentiles from the added histograms${open ? ' (latency from the intended send time, service from the actual send)' : ''}, CPU per successful request (total CPU over total answers${curve.clientWorkers > 1 ? `; the client's with its ${curve.clientWorkers} worker processes, whose histograms were added` : ''}), bytes on the wire per request both directions as the link received them.${clientSentence(protocol, curve)} ${ctx.provenance(scope)}`,
    )}</caption><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`
  );
}

/** The client that sent the requests and HTTP/2's windows, for the table's caption. */
function clientSentence(protocol: Protocol, curve: LoadCurve): string {
  const client = loadClientText(protocol, curve.client);
  const w = curve.flowControl;
  const mib = (n: number) => formatBytes(n);
  const windows = w
    ? ` Flow control: the client advertised ${mib(w.receive.streamBytes)} per stream and ${mib(w.receive.connectionBytes)} per connection${w.send ? `; the server ${mib(w.send.streamBytes)} per stream` : ''}${w.windowUpdates ? ` (${w.windowUpdates.connection} connection and ${w.windowUpdates.stream} stream WINDOW_UPDATEs sent on the first connection)` : ''}.`
    : '';
  return `${client ? ` Client: ${client}.` : ''}${windows}`;
}

function bytesUnavailable(scope: WorkloadScope): string {
  switch (scope.network.backend) {
    case 'none':
      return 'unavailable: network none is plain loopback, no link of ours counts the bytes';
    case 'kernel':
      return 'unavailable: the kernel link counts packets, not bytes';
    default:
      return 'unavailable: the link reported no byte counts';
  }
}
