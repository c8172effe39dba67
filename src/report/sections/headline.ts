/** The headline table: one row per protocol, medians across repetitions with their 95% CIs. */
import { measuredHeadline } from '../../results/catalogue.ts';
import type { Protocol } from '../../drivers/types.ts';
import type { ReportContext, WorkloadScope } from '../context.ts';
import { PROTOCOL_NAMES } from '../context.ts';
import { escapeHtml } from '../escape.ts';
import { type Estimate, type MetricDef, METRICS, estimate, metricTitle } from '../estimates.ts';
import { formatEstimate, formatEstimateInColumn, formatNumber } from '../format.ts';

/** What a Summary's interval is, by its ciMethod (src/metrics/stats.ts). */
export const CI_METHOD_TEXT: Record<string, string> = {
  t: "95% confidence interval of the mean (Student's t)",
  bootstrap: '95% bootstrap confidence interval of the median',
  range: 'range of the repetitions (fewer than 5: too few for a confidence interval)',
};

interface Column {
  metric: MetricDef;
  /** Header text; the unit goes in the header so cells stay short. */
  header: string;
  /** A second figure printed after the first ("6 / 0") instead of a second column. */
  paired?: MetricDef;
  /** A count printed below the value when it is not zero, e.g. failed requests. */
  alert?: { metric: MetricDef; label: string };
}

/**
 * Requests first (with failures), then the workload's headline metrics from the catalogue (only
 * those measured), then the connections and server CPU every workload has.
 */
function columns(scope: WorkloadScope): Column[] {
  const headline = measuredHeadline(scope.workloadType, scope.cells).map((metric) => ({ metric, header: metricTitle(metric) }));
  return [
    { metric: METRICS.requests, header: 'Requests', alert: { metric: METRICS.failed, label: 'failed' } },
    ...headline,
    { metric: METRICS.opened, header: 'Connections opened / resumed', paired: METRICS.resumed },
    { metric: METRICS.serverCpu, header: 'Server CPU (ms)' },
  ];
}

export function renderHeadline(ctx: ReportContext, scope: WorkloadScope): string {
  const key = (protocol: Protocol) => ({ network: scope.network.label, protocol, workload: scope.workload });
  const cols = columns(scope);
  const rows = scope.protocols.map((protocol) => {
    const cells = scope.cells.filter((c) => c.protocol === protocol);
    const failedReps = cells.filter((c) => c.error).length;
    const okReps = cells.length - failedReps;
    const repsText = failedReps ? `${okReps} <span class="bad">(${failedReps} failed)</span>` : String(okReps);
    const tds = cols.map((col) => {
      const est = estimate(ctx.result, key(protocol), col.metric);
      return renderCell(ctx, scope, protocol, col, est);
    });
    return (
      `<tr data-protocol="${protocol}"><th scope="row"><span class="swatch swatch-${protocol}"></span>${PROTOCOL_NAMES[protocol]}</th>` +
      `<td class="num">${repsText}</td>${tds.join('')}</tr>`
    );
  });

  const headers = cols.map((col) => `<th class="num">${escapeHtml(col.header)}</th>`);
  const methods = new Set(
    ctx.result.summaries
      .filter((x) => x.network === scope.network.label && x.workload === scope.workload && x.ciMethod !== 'none')
      .map((x) => x.ciMethod),
  );
  const what =
    methods.size === 0
      ? 'Medians across repetitions, range of the repetitions below (result.json has no confidence intervals)'
      : `Medians across repetitions; below, the ${[...methods].map((m) => CI_METHOD_TEXT[m]).join(' or ')}`;
  const note = `${what}. Hover a value for every repetition and its source.`;
  return (
    `<div class="table-wrap"><table class="headline">` +
    `<caption>${escapeHtml(note)}<br>${escapeHtml(ctx.provenance(scope))}</caption>` +
    `<thead><tr><th>Protocol</th><th class="num">Reps</th>${headers.join('')}</tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table></div>`
  );
}

function renderCell(
  ctx: ReportContext,
  scope: WorkloadScope,
  protocol: Protocol,
  col: Column,
  est: Estimate | undefined,
): string {
  if (!est) return `<td class="num missing" title="not measured">\u2014</td>`;
  const f = formatEstimateInColumn(est, est.unit);
  const value = f.value;
  const interval = f.interval.replace(/, \d+ reps?$/, '');
  // Counts that are the same in every repetition need no interval.
  const varies = est.values.some((v) => v !== est.values[0]);
  const showInterval = est.n > 1 && est.ci95 !== undefined && (est.unit !== 'count' || varies);
  const describe = (metric: MetricDef, e: Estimate) =>
    `${metric.label} ${formatEstimate(e, e.unit).text}, per repetition: ${e.values.map((v) => formatNumber(v)).join(', ')}`;
  const lines = [describe(col.metric, est)];
  let shown = value;
  let sub = showInterval ? interval : '';
  let subClass = 'ci';
  const key = { network: scope.network.label, protocol, workload: scope.workload };
  if (col.paired) {
    const paired = estimate(ctx.result, key, col.paired);
    if (paired) {
      shown = `${value} / ${formatEstimate(paired, paired.unit).value}`;
      lines.push(describe(col.paired, paired));
    }
  }
  if (col.alert) {
    const alert = estimate(ctx.result, key, col.alert.metric);
    const total = alert ? alert.values.reduce((a, b) => a + b, 0) : 0;
    if (alert) lines.push(describe(col.alert.metric, alert));
    if (total > 0) {
      sub = `${formatNumber(total, 0)} ${col.alert.label}`;
      subClass = 'ci alert';
    }
  }
  const title =
    `${lines.join('\n')}\n${ctx.provenance(scope, protocol, est.n)}\n` +
    `source: result.json ${est.source === 'summary' ? `summaries (interval: ${CI_METHOD_TEXT[est.ciMethod ?? ''] ?? 'none'})` : 'cells (median and range of repetitions)'}, metric ${col.metric.id}`;
  return (
    `<td class="num" data-metric="${escapeHtml(col.metric.id)}" title="${escapeHtml(title)}">` +
    `<span class="value">${escapeHtml(shown)}</span>` +
    (sub ? `<span class="${subClass}">${escapeHtml(sub)}</span>` : '') +
    `</td>`
  );
}
