/**
 * Spread across repetitions: a strip plot per headline figure (one dot per repetition) and the
 * full per-repetition table, so a reader sees whether the medians hide a wide spread or drift.
 */
import { measuredHeadline } from '../../results/catalogue.ts';
import { stripChart, type RepetitionRow } from '../charts.ts';
import type { ReportContext, WorkloadScope } from '../context.ts';
import { PROTOCOL_NAMES } from '../context.ts';
import { escapeHtml } from '../escape.ts';
import { metricTitle } from '../estimates.ts';
import { formatDuration, formatValue } from '../format.ts';

export function renderRepetitions(ctx: ReportContext, scope: WorkloadScope): string | undefined {
  const ok = scope.cells.filter((c) => !c.error);
  if (scope.cells.length === 0) return undefined;
  const backend = scope.network.backend === 'none' ? 'none (loopback, not shaped)' : scope.network.backend;
  // One strip per headline metric of the workload (src/results/catalogue.ts).
  const strips = measuredHeadline(scope.workloadType, scope.cells).map((metric) => {
    const s = { metric, title: metricTitle(metric), format: ',.3~f', unit: metric.unit };
    const rows: RepetitionRow[] = [];
    for (const protocol of scope.protocols) {
      const own = ok.filter((c) => c.protocol === protocol);
      const values = own.map((c) => s.metric.pick(c));
      own.forEach((c, i) => {
        const value = values[i];
        if (value === undefined) return;
        rows.push({
          protocolName: PROTOCOL_NAMES[protocol],
          repetition: c.repetition + 1,
          order: c.order + 1,
          value,
          network: scope.network.label,
          backend,
          workload: `${scope.workload} (${scope.workloadType})`,
        });
      });
    }
    if (rows.length === 0) return '';
    return ctx.chart(stripChart(rows, scope.protocols, s), { title: s.title, className: 'small' });
  }).join('');

  const body = [...scope.cells]
    .sort((a, b) => a.protocol.localeCompare(b.protocol) || a.repetition - b.repetition)
    .map((c) => {
      const l = c.metrics.latency;
      const ms = (v: number | undefined) => (v === undefined ? '\u2014' : escapeHtml(formatValue(v, 'ms').replace(/ ms$/, '')));
      const status = c.error ? `<span class="bad" title="${escapeHtml(c.error)}">failed: ${escapeHtml(truncate(c.error, 60))}</span>` : 'ok';
      return (
        `<tr data-protocol="${c.protocol}" data-repetition="${c.repetition + 1}"><th scope="row"><span class="swatch swatch-${c.protocol}"></span>${PROTOCOL_NAMES[c.protocol]}</th>` +
        `<td class="num">${c.repetition + 1}</td><td class="num">${c.order + 1}</td>` +
        `<td class="num">${escapeHtml(formatDuration(c.durationMs))}</td>` +
        `<td class="num">${c.requests.ok.toLocaleString('en-US')}/${c.requests.total.toLocaleString('en-US')}</td>` +
        `<td class="num">${escapeHtml(formatValue(c.requestsPerSec, 'req/s').replace(/ req\/s$/, ''))}</td>` +
        `<td class="num">${ms(l?.p50)}</td><td class="num">${ms(l?.p99)}</td><td class="num">${ms(l?.max)}</td>` +
        `<td class="num">${c.connections.opened}</td>` +
        `<td class="num">${c.serverCpuMs === undefined ? '\u2014' : escapeHtml(formatValue(c.serverCpuMs, 'ms').replace(/ ms$/, ''))}</td>` +
        `<td>${status}</td></tr>`
      );
    })
    .join('');
  const table =
    `<details class="reps"><summary>Every repetition (${scope.cells.length} cells, in protocol and repetition order; "order" is the position in the interleaved run)</summary>` +
    `<div class="table-wrap"><table class="compact"><thead><tr><th>Protocol</th><th class="num">Rep</th><th class="num">Order</th><th class="num">Duration</th>` +
    `<th class="num">OK/total</th><th class="num">Req/s</th><th class="num">p50 (ms)</th><th class="num">p99 (ms)</th><th class="num">max (ms)</th>` +
    `<th class="num">Conns</th><th class="num">Server CPU (ms)</th><th>Status</th></tr></thead><tbody>${body}</tbody></table></div></details>`;
  return (
    `<p class="section-note">One dot per repetition, the dark tick is the median. ${escapeHtml(ctx.provenance(scope))}.</p>` +
    `<div class="chart-grid three">${strips}</div>${table}`
  );
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}\u2026` : s;
}
