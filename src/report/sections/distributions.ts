/**
 * Every distribution the workload recorded (latency, ttfb, connect, tls, handshake phases, stall
 * times ...), merged across repetitions per protocol: the complete numeric record behind the
 * charts, for workloads whose interesting figures are not called "latency".
 */
import { mergeHistograms } from '../../metrics/index.ts';
import type { ReportContext, WorkloadScope } from '../context.ts';
import { PROTOCOL_NAMES } from '../context.ts';
import { escapeHtml } from '../escape.ts';
import { formatNumber } from '../format.ts';

export function renderDistributions(ctx: ReportContext, scope: WorkloadScope): string | undefined {
  const ok = scope.cells.filter((c) => !c.error);
  const names = [...new Set(ok.flatMap((c) => Object.keys(c.metrics)))].sort(
    (a, b) => Number(b === 'latency') - Number(a === 'latency') || a.localeCompare(b),
  );
  if (names.length === 0) return undefined;
  const rows: string[] = [];
  for (const name of names) {
    let labelled = false;
    scope.protocols.forEach((protocol) => {
      const parts = ok.filter((c) => c.protocol === protocol && c.metrics[name]).map((c) => c.metrics[name]!);
      if (parts.length === 0) return;
      const m = mergeHistograms(...parts);
      const num = (v: number) => `<td class="num">${m.count ? escapeHtml(formatNumber(v)) : '\u2014'}</td>`;
      rows.push(
        `<tr data-distribution="${escapeHtml(name)}" data-protocol="${protocol}">` +
          `<th scope="row">${labelled ? '' : escapeHtml(name)}</th>` +
          `<td><span class="swatch swatch-${protocol}"></span>${PROTOCOL_NAMES[protocol]}</td>` +
          `<td class="num">${m.count.toLocaleString('en-US')}</td><td class="num">${parts.length}</td>` +
          num(m.p50) + num(m.p90) + num(m.p99) + num(m.p999) + num(m.max) + num(m.mean) +
          `</tr>`,
      );
      labelled = true;
    });
  }
  return (
    `<details class="distributions"><summary>All recorded distributions (${names.length}: ${escapeHtml(names.join(', '))}), merged across repetitions</summary>` +
    `<div class="table-wrap"><table class="compact"><caption>Histograms of all repetitions merged per protocol, values in ms. ${escapeHtml(ctx.provenance(scope))}</caption>` +
    `<thead><tr><th>Distribution</th><th>Protocol</th><th class="num">Samples</th><th class="num">Reps</th><th class="num">p50</th><th class="num">p90</th>` +
    `<th class="num">p99</th><th class="num">p99.9</th><th class="num">max</th><th class="num">mean</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table></div></details>`
  );
}
