/**
 * Spread across repetitions: a strip plot per headline figure (one dot per repetition) and the
 * full per-repetition table, so a reader sees whether the medians hide a wide spread or drift.
 */
import { stripChart, type RepetitionRow } from '../charts.ts';
import type { ReportContext, WorkloadScope } from '../context.ts';
import { PROTOCOL_NAMES } from '../context.ts';
import { escapeHtml } from '../escape.ts';
import { METRICS, type MetricDef } from '../estimates.ts';
import { formatDuration, formatValue } from '../format.ts';

const STRIPS: Array<{ metric: MetricDef; title: string; format: string; unit: string; scale?: number }> = [
  { metric: METRICS.p50, title: 'Latency p50 (ms)', format: ',.3~f', unit: 'ms' },
  { metric: METRICS.p99, title: 'Latency p99 (ms)', format: ',.3~f', unit: 'ms' },
  { metric: METRICS.requestsPerSec, title: 'Requests per second', format: ',.3~f', unit: 'req/s' },
];

export function renderRepetitions(ctx: ReportContext, scope: WorkloadScope): string | undefined {
  const ok = scope.cells.filter((c) => !c.error);
  if (scope.cells.length === 0) return undefined;
  const backend = scope.network.backend === 'none' ? 'none (loopback, not shaped)' : scope.network.backend;
  const strips = STRIPS.map((s) => {
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
