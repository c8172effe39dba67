/**
 * The handshake workload's section: each connection phase per protocol and mode, in ms and in
 * multiples of the base RTT beside the textbook multiple; deviations on a loss-free link flagged
 * with their kind of cause; how many handshakes a page load costs per protocol.
 */
import { compareSamples, describeComparison } from '../../metrics/index.ts';
import type { ReportContext, VegaLiteSpec, WorkloadScope } from '../context.ts';
import { PROTOCOL_NAMES } from '../context.ts';
import { escapeHtml } from '../escape.ts';
import { formatNumber } from '../format.ts';
import {
  analyseHandshake,
  CAUSE_NAMES,
  DEVIATION_THRESHOLD_RTT,
  expectedPhaseRtt,
  handshakeDetails,
  HANDSHAKE_PHASES,
  type HandshakeAnalysis,
  type HandshakeMode,
  MODE_NAMES,
  PHASE_NAMES,
} from './handshake-analysis.ts';
import { serverFlight } from './certificate.ts';
import { renderHandshakesPerPage } from './page.ts';
import { compareProtocols, type Headline, perRepetition, protocolPairs, renderHeadlines, sectionStyle } from './workload-figures.ts';

const PHASE_COLORS = ['#72b7b2', '#eeca3b', '#b279a2', '#d6616b', '#8c6d31'];

export function renderHandshakeSection(ctx: ReportContext, scope: WorkloadScope): string | undefined {
  if (!scope.cells.some((c) => handshakeDetails(c))) return undefined;
  const analysis = analyseHandshake({
    result: ctx.result,
    network: scope.network,
    cells: scope.cells,
    allCells: ctx.result.cells.filter((c) => c.workload === scope.workload),
  });
  const rtt = analysis.baseRttMs;
  const intro =
    rtt > 0
      ? `How many round trips each protocol needs before the first response byte: every phase of a new connection as a multiple of the base RTT (${formatNumber(rtt)} ms), beside the textbook count (TCP + TLS 1.3: 3, QUIC: 2, QUIC 0-RTT: 1).`
      : 'Every phase of a new connection in ms. The network was not shaped, so there is no base RTT to count round trips in.';
  const chart = rtt > 0 || analysis.rows.some((r) => r.phases.firstByte) ? phaseChart(ctx, scope, analysis) : '';
  return (
    sectionStyle(ctx) +
    `<div class="workload-analysis handshake-analysis">` +
    `<h4>Connection setup in round trips</h4>` +
    `<p class="section-note">${escapeHtml(intro)}</p>` +
    renderHeadlines(headlines(scope), [escapeHtml(multiplesSentence(analysis))]) +
    renderChain(ctx) +
    renderFlags(analysis) +
    (chart ? `<div class="chart-grid one">${chart}</div>` : '') +
    renderTable(ctx, scope, analysis) +
    (renderHandshakesPerPage(ctx, scope.network.label) ?? '') +
    `</div>`
  );
}

const firstByteMs = (mode: HandshakeMode) => (c: Parameters<typeof handshakeDetails>[0]) => {
  const m = handshakeDetails(c)?.modes[mode];
  return m && 'phases' in m ? m.phases.firstByte?.medianMs : undefined;
};

function headlines(scope: WorkloadScope): Array<Headline | undefined> {
  const out: Array<Headline | undefined> = protocolPairs(scope.protocols).map(([a, b]) =>
    compareProtocols(scope, a, b, 'cold first byte (median per repetition)', firstByteMs('cold')),
  );
  // 0-RTT against the same protocol's cold connections.
  if (scope.protocols.includes('h3')) {
    const early = perRepetition(scope, 'h3', firstByteMs('0rtt'));
    const cold = perRepetition(scope, 'h3', firstByteMs('cold'));
    if (early.length && cold.length) {
      const comparison = compareSamples(early, cold);
      const reps = `${early.length} repetitions`;
      const text = `HTTP/3 0-RTT first byte ${describeComparison(comparison, 'a cold HTTP/3 connection').replace(/\)$/, `, ${reps})`)}`;
      out.splice(1, 0, { text, comparison, a: 'h3', b: 'h3', n: { a: early.length, b: cold.length } });
    }
  }
  return out;
}

function multiplesSentence(a: HandshakeAnalysis): string {
  const parts = a.rows
    .filter((r) => r.phases.firstByte && !r.notApplicable)
    .map((r) => {
      const fb = r.phases.firstByte!;
      const value = fb.medianRtt !== undefined ? `${fb.medianRtt.toFixed(2)} RTT` : `${formatNumber(fb.medianMs)} ms`;
      return `${PROTOCOL_NAMES[r.protocol]} ${MODE_NAMES[r.mode]} ${value}${r.expectedFirstByteRtt !== undefined ? ` (expected ${r.expectedFirstByteRtt})` : ''}`;
    });
  const na = a.rows.filter((r) => r.notApplicable).map((r) => `${PROTOCOL_NAMES[r.protocol]} ${MODE_NAMES[r.mode]} n/a`);
  return `Median first byte: ${[...parts, ...na].join('; ')}.`;
}

/** The certificate chain every cold handshake carried, and what it means for QUIC's first flight. */
function renderChain(ctx: ReportContext): string {
  const chain = ctx.result.environment.certificate;
  if (!chain) return '';
  const flight = serverFlight(chain);
  return `<p class="section-note" data-certificate="${escapeHtml(chain.key)}-${chain.intermediates}">${escapeHtml(`The servers' ${flight.text}.`)}${
    flight.overLimit ? escapeHtml(' A cold QUIC handshake should take one extra round trip; resumed and 0-RTT handshakes send no certificate.') : ''
  }</p>`;
}

function renderFlags(a: HandshakeAnalysis): string {
  if (a.baseRttMs <= 0) return '';
  if (!a.lossFree) {
    return `<p class="section-note">This link drops packets on purpose: retransmissions add round trips, so deviations from the textbook multiples are expected here and not flagged.</p>`;
  }
  if (a.flags.length === 0) {
    const measured = a.rows.filter((r) => r.deviationRtt !== undefined);
    return measured.length
      ? `<p class="section-note ok-note">Loss-free link: every protocol and mode is within ${DEVIATION_THRESHOLD_RTT} RTT of its expected first-byte multiple.</p>`
      : '';
  }
  const items = a.flags.map(
    (f) =>
      `<li class="kind-${f.kind}" data-flag="${f.protocol}-${f.mode}"><strong>${escapeHtml(`${PROTOCOL_NAMES[f.protocol]} ${MODE_NAMES[f.mode]}: ${f.deviationRtt > 0 ? '+' : ''}${f.deviationRtt.toFixed(2)} RTT`)}</strong> ` +
      `<span class="badge badge-${f.kind === 'workbench-bug' ? 'error' : 'warn'}">${escapeHtml(CAUSE_NAMES[f.kind])}</span>${escapeHtml(f.explanation)}` +
      f.evidence.map((e) => `<span class="evidence">${escapeHtml(e)}</span>`).join('') +
      `</li>`,
  );
  return (
    `<p class="section-note">On this loss-free link ${a.flags.length} median${a.flags.length === 1 ? '' : 's'} deviate${a.flags.length === 1 ? 's' : ''} from the expected multiple by more than ${DEVIATION_THRESHOLD_RTT} RTT:</p>` +
    `<ul class="flags">${items.join('')}</ul>`
  );
}

function renderTable(ctx: ReportContext, scope: WorkloadScope, a: HandshakeAnalysis): string {
  const rtt = a.baseRttMs;
  const head =
    `<tr><th>Protocol</th><th>Mode</th>${HANDSHAKE_PHASES.filter((p) => p !== 'done')
      .map((p) => `<th class="num">${escapeHtml(capitalise(PHASE_NAMES[p]))}</th>`)
      .join('')}` +
    `<th class="num">Expected first byte</th><th class="num">Deviation</th><th class="num">${escapeHtml(capitalise(PHASE_NAMES.done))}</th>` +
    `<th class="num">Connections</th><th class="num">Resumed</th><th class="num">Early data accepted</th><th class="num">Link packets</th></tr>`;
  const body = a.rows.map((row) => {
    const label = `<th scope="row"><span class="swatch swatch-${row.protocol}"></span>${PROTOCOL_NAMES[row.protocol]}</th><td>${MODE_NAMES[row.mode]}</td>`;
    if (row.notApplicable) {
      return (
        `<tr data-protocol="${row.protocol}" data-mode="${row.mode}">${label}` +
        `<td class="na" colspan="11" data-na="true">n/a: ${escapeHtml(row.notApplicable)}</td></tr>`
      );
    }
    const expected = expectedPhaseRtt(row.protocol, row.mode);
    const phaseCell = (phase: (typeof HANDSHAKE_PHASES)[number]) => {
      const f = row.phases[phase];
      if (!f) return `<td class="num missing">\u2014</td>`;
      const title =
        `${PROTOCOL_NAMES[row.protocol]} ${MODE_NAMES[row.mode]}, ${PHASE_NAMES[phase]}: median ${f.medianMs.toFixed(3)} ms` +
        (f.medianRtt !== undefined ? ` = ${f.medianRtt.toFixed(3)} x base RTT ${rtt} ms` : '') +
        (expected ? ` (ideal ${expected[phase]} RTT)` : '') +
        `\nmedian of ${f.samples} connections; per-repetition medians (ms): ${f.perRepetitionMs.map((v) => v.toFixed(2)).join(', ')}\n${ctx.provenance(scope, row.protocol, row.repetitions)}`;
      return (
        `<td class="num" data-phase="${phase}" title="${escapeHtml(title)}">${escapeHtml(formatNumber(f.medianMs))} ms` +
        (f.medianRtt !== undefined ? `<span class="rtt">${f.medianRtt.toFixed(2)}\u00d7</span>` : '') +
        `</td>`
      );
    };
    const deviation =
      row.deviationRtt === undefined
        ? `<td class="num missing">\u2014</td>`
        : `<td class="num ${row.flag ? 'flag' : a.lossFree && rtt > 0 ? 'ok' : ''}" data-deviation="${row.deviationRtt.toFixed(3)}"${row.flag ? ` title="${escapeHtml(`${CAUSE_NAMES[row.flag.kind]}: ${row.flag.explanation}`)}"` : ''}>` +
          `${row.deviationRtt >= 0 ? '+' : '\u2212'}${Math.abs(row.deviationRtt).toFixed(2)} RTT${row.flag ? ' \u26a0' : ''}</td>`;
    const ok = row.connections - row.failed;
    return (
      `<tr data-protocol="${row.protocol}" data-mode="${row.mode}">${label}` +
      HANDSHAKE_PHASES.filter((p) => p !== 'done').map(phaseCell).join('') +
      `<td class="num">${row.expectedFirstByteRtt !== undefined ? `${row.expectedFirstByteRtt} RTT` : '\u2014'}</td>` +
      deviation +
      phaseCell('done') +
      `<td class="num">${ok}/${row.connections}${row.failed ? ` <span class="bad">(${row.failed} failed)</span>` : ''}</td>` +
      `<td class="num">${row.mode === 'cold' ? '\u2014' : `${row.resumed}/${ok}`}</td>` +
      `<td class="num">${row.mode === '0rtt' ? `${row.earlyDataAccepted}/${ok}` : '\u2014'}</td>` +
      `<td class="num">${row.medianLinkPackets === undefined ? '\u2014' : formatNumber(row.medianLinkPackets, 0)}</td>` +
      `</tr>`
    );
  });
  const note =
    `Median over every connection of every repetition, in ms from the connection's start${rtt > 0 ? ` and (grey) in multiples of the base RTT of ${formatNumber(rtt)} ms` : ''}. ` +
    `Deviation = first-byte multiple minus the expected one. Link packets: median packets on the link per connection (sequential connections on a shaped link only). Hover a value for each repetition.`;
  return (
    `<div class="table-wrap"><table class="compact handshake"><caption>${escapeHtml(note)}<br>${escapeHtml(ctx.provenance(scope))}</caption>` +
    `<thead>${head}</thead><tbody>${body.join('')}</tbody></table></div>`
  );
}

interface DotRow {
  kind: 'phase' | 'span' | 'expected' | 'na';
  row: string;
  protocolName: string;
  mode: string;
  phase?: string;
  x: number;
  ms?: number;
  rtt?: number;
  idealRtt?: number;
  samples?: number;
  perRepetition?: string;
  note?: string;
  network: string;
}

function phaseChart(ctx: ReportContext, scope: WorkloadScope, a: HandshakeAnalysis): string {
  const byRtt = a.baseRttMs > 0;
  const rows: DotRow[] = [];
  const order: string[] = [];
  const x = (ms: number) => (byRtt ? ms / a.baseRttMs : ms);
  for (const r of a.rows) {
    const row = `${PROTOCOL_NAMES[r.protocol]} ${MODE_NAMES[r.mode]}`;
    order.push(row);
    const common = { row, protocolName: PROTOCOL_NAMES[r.protocol], mode: MODE_NAMES[r.mode], network: scope.network.label };
    if (r.notApplicable) {
      rows.push({ ...common, kind: 'na', x: 0, note: `n/a: ${r.notApplicable}` });
      continue;
    }
    const ideal = expectedPhaseRtt(r.protocol, r.mode);
    for (const phase of HANDSHAKE_PHASES) {
      const f = r.phases[phase];
      if (!f) continue;
      rows.push({
        ...common,
        kind: 'phase',
        phase: PHASE_NAMES[phase],
        x: x(f.medianMs),
        ms: f.medianMs,
        rtt: f.medianRtt,
        idealRtt: ideal?.[phase],
        samples: f.samples,
        perRepetition: f.perRepetitionMs.map((v) => v.toFixed(2)).join(', '),
      });
    }
    const done = r.phases.done ?? r.phases.firstByte;
    if (done) rows.push({ ...common, kind: 'span', x: x(done.medianMs), ms: done.medianMs });
    if (byRtt && r.expectedFirstByteRtt !== undefined) rows.push({ ...common, kind: 'expected', x: r.expectedFirstByteRtt, idealRtt: r.expectedFirstByteRtt });
  }
  const phaseDomain = HANDSHAKE_PHASES.map((p) => PHASE_NAMES[p]);
  const y = { field: 'row', type: 'nominal', sort: order, title: null, axis: { labelFontWeight: 'bold', labelLimit: 160 } };
  const xTitle = byRtt ? `Time since the connection started, in base RTTs (1 RTT = ${formatNumber(a.baseRttMs)} ms)` : 'Time since the connection started (ms)';
  const spec: VegaLiteSpec = {
    width: 'container',
    height: Math.max(120, 30 * order.length),
    data: { values: rows },
    encoding: { y },
    layer: [
      {
        transform: [{ filter: "datum.kind === 'span'" }, { calculate: '0', as: 'origin' }],
        mark: { type: 'rule', color: '#d0d7de', strokeWidth: 6, strokeCap: 'round' },
        encoding: { x: { field: 'origin', type: 'quantitative' }, x2: { field: 'x' } },
      },
      {
        transform: [{ filter: "datum.kind === 'expected'" }],
        mark: { type: 'tick', color: '#1f2328', thickness: 2, size: 22 },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          tooltip: [
            { field: 'row', title: 'protocol and mode' },
            { field: 'idealRtt', title: 'expected first byte (RTT)' },
          ],
        },
      },
      {
        transform: [{ filter: "datum.kind === 'phase'" }],
        mark: { type: 'point', filled: true, size: 90, opacity: 0.9, stroke: '#fff', strokeWidth: 1 },
        encoding: {
          x: {
            field: 'x',
            type: 'quantitative',
            title: xTitle,
            axis: byRtt ? { tickMinStep: 0.5, grid: true } : { grid: true },
            scale: { zero: true },
          },
          color: { field: 'phase', type: 'nominal', title: 'Phase', scale: { domain: phaseDomain, range: PHASE_COLORS }, legend: { orient: 'top', title: null } },
          shape: { field: 'phase', type: 'nominal', scale: { domain: phaseDomain }, legend: null },
          tooltip: [
            { field: 'row', title: 'protocol and mode' },
            { field: 'phase', title: 'phase' },
            { field: 'ms', title: 'median (ms)', format: ',.3~f' },
            ...(byRtt ? [{ field: 'rtt', title: 'x base RTT', format: '.3f' }, { field: 'idealRtt', title: 'ideal (RTT)' }] : []),
            { field: 'samples', title: 'connections' },
            { field: 'perRepetition', title: 'per-repetition medians (ms)' },
            { field: 'network', title: 'network' },
          ],
        },
      },
      {
        transform: [{ filter: "datum.kind === 'na'" }],
        mark: { type: 'text', align: 'left', dx: 4, color: '#57606a', fontStyle: 'italic', limit: 700 },
        encoding: { x: { field: 'x', type: 'quantitative' }, text: { field: 'note' }, tooltip: [{ field: 'note', title: 'why' }] },
      },
    ],
  };
  return ctx.chart(spec, {
    title: `When each phase of a new connection ends${byRtt ? ', in round trips' : ''}`,
    caption:
      'Each dot is a phase\u2019s median end for one protocol and mode; the black tick is the textbook first-byte time, so a first-byte dot on its tick means no time beyond the protocol\u2019s round trips.',
    source: `result.json cells, details.handshake (every connection of every repetition); ${ctx.provenance(scope)}`,
  });
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

