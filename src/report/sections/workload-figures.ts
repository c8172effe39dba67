/**
 * Shared by the workload sections (handshake, multiplex, page): per-repetition figures, the
 * headline comparison of two protocols with its 95% CI, the representative repetition, and the
 * few styles these sections add to the page.
 */
import type { Protocol } from '../../drivers/types.ts';
import { compareSamples, describeComparison, mean, median, type Comparison } from '../../metrics/index.ts';
import type { ReportContext, VegaLiteSpec, WorkloadScope } from '../context.ts';
import { PROTOCOL_NAMES } from '../context.ts';
import { escapeHtml } from '../escape.ts';
import { estimate, type CellKey, type MetricDef } from '../estimates.ts';
import { formatEstimate } from '../format.ts';
import type { Cell } from '../../results/model.ts';
import { cdfChart } from '../charts.ts';
import { cdfRowsOf, mergedDistributions } from './latency.ts';

/** The successful cells of one protocol in a scope, in repetition order. */
export function cellsFor(scope: WorkloadScope, protocol: Protocol): Cell[] {
  return scope.cells.filter((c) => c.protocol === protocol && !c.error).sort((a, b) => a.repetition - b.repetition);
}

/** One value per successful repetition (repetitions where `pick` has no value are left out). */
export function perRepetition(scope: WorkloadScope, protocol: Protocol, pick: (c: Cell) => number | undefined): number[] {
  return cellsFor(scope, protocol)
    .map(pick)
    .filter((v): v is number => v !== undefined && Number.isFinite(v));
}

/** The repetition whose value of `rank` is the median of the protocol's repetitions (lower middle for even counts). */
export function representativeCell(scope: WorkloadScope, protocol: Protocol, rank: (c: Cell) => number | undefined): Cell | undefined {
  const ranked = cellsFor(scope, protocol)
    .filter((c) => rank(c) !== undefined)
    .sort((a, b) => rank(a)! - rank(b)! || a.repetition - b.repetition);
  return ranked[Math.floor((ranked.length - 1) / 2)];
}

export interface Headline {
  /** "HTTP/3 p99 request latency 41% lower than HTTP/2 (95% CI 35% to 47%, 10 repetitions each)". */
  text: string;
  comparison: Comparison;
  a: Protocol;
  b: Protocol;
  n: { a: number; b: number };
}

const METHOD_TEXT: Record<Comparison['method'], string> = {
  'welch-log': "ratio of geometric means across repetitions, Welch's t interval on log values",
  bootstrap: 'ratio of medians across repetitions, percentile bootstrap (10,000 resamples)',
  none: 'one repetition each, no interval',
};

/**
 * The relative difference of protocol a against b for one figure taken per repetition (e.g. each
 * repetition's p99), with its 95% CI; undefined when either protocol has no value or the ratio
 * is undefined (a zero median).
 */
export function compareProtocols(
  scope: WorkloadScope,
  a: Protocol,
  b: Protocol,
  label: string,
  pick: (c: Cell) => number | undefined,
  opts: { seed?: number } = {},
): Headline | undefined {
  const va = perRepetition(scope, a, pick);
  const vb = perRepetition(scope, b, pick);
  if (va.length === 0 || vb.length === 0) return undefined;
  let comparison: Comparison;
  try {
    comparison = compareSamples(va, vb, { seed: opts.seed });
  } catch {
    return undefined;
  }
  if (!Number.isFinite(comparison.ratio)) return undefined;
  const reps = va.length === vb.length ? `${va.length} repetitions each` : `${va.length} and ${vb.length} repetitions`;
  const described = describeComparison(comparison, PROTOCOL_NAMES[b]);
  const text = `${PROTOCOL_NAMES[a]} ${label} ${comparison.method === 'none' ? described : described.replace(/\)$/, `, ${reps})`)}`;
  return { text, comparison, a, b, n: { a: va.length, b: vb.length } };
}

/** The protocol pairs worth a headline, most interesting first: H3 vs H2, H2 vs H1, H3 vs H1. */
/** A table cell with a metric's median and interval for one cell key (a dash where it was not measured). */
export function metricCell(ctx: ReportContext, key: CellKey, metric: MetricDef, unit: string): string {
  const est = estimate(ctx.result, key, metric);
  if (!est) return `<td class="num missing">\u2014</td>`;
  const f = formatEstimate(est, unit);
  return `<td class="num" data-metric="${metric.id}" title="${escapeHtml(`${metric.label}: ${f.text}`)}"><span class="value">${escapeHtml(f.value)}</span><span class="ci">${escapeHtml(f.interval)}</span></td>`;
}

export function protocolPairs(protocols: readonly Protocol[]): Array<[Protocol, Protocol]> {
  const pairs: Array<[Protocol, Protocol]> = [
    ['h3', 'h2'],
    ['h2', 'h1'],
    ['h3', 'h1'],
  ];
  return pairs.filter(([a, b]) => protocols.includes(a) && protocols.includes(b));
}

/** The headline findings of a section: the first one large, the rest as a list; hover for the method. */
export function renderHeadlines(headlines: ReadonlyArray<Headline | undefined>, extra: string[] = []): string {
  const shown = headlines.filter((h): h is Headline => h !== undefined);
  if (shown.length === 0 && extra.length === 0) return '';
  const item = (h: Headline) => {
    const values = `${h.comparison.ratio.toFixed(3)} (95% CI ${h.comparison.ci95.map((x) => x.toFixed(3)).join('\u2013')}); ${METHOD_TEXT[h.comparison.method]}`;
    const cls = h.comparison.significant ? 'significant' : 'not-significant';
    return `<li class="${cls}" title="${escapeHtml(`ratio ${PROTOCOL_NAMES[h.a]}/${PROTOCOL_NAMES[h.b]} ${values}`)}">${escapeHtml(h.text)}.</li>`;
  };
  return `<ul class="findings">${shown.map(item).join('')}${extra.map((e) => `<li>${e}</li>`).join('')}</ul>`;
}

/** Median and the range of a list, "4 (3\u20136)". */
export function medianRange(values: readonly number[], digits = 0): string {
  if (values.length === 0) return '\u2014';
  const m = median(values);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const f = (v: number) => v.toFixed(digits);
  return lo === hi ? f(m) : `${f(m)} (${f(lo)}\u2013${f(hi)})`;
}

export { mean, median };

/** Renames tooltip titles of a spec (shared chart builders say "latency" where a section means something else). */
export function relabelTooltips(spec: VegaLiteSpec, titles: Record<string, string>): VegaLiteSpec {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = k === 'title' && typeof v === 'string' && v in titles ? titles[v] : walk(v);
      return out;
    }
    return value;
  };
  return walk(spec) as VegaLiteSpec;
}

const STYLED = new WeakSet<ReportContext>();

/** The styles of the workload sections, once per report (the page shell is shared with other reports). */
export function sectionStyle(ctx: ReportContext): string {
  if (STYLED.has(ctx)) return '';
  STYLED.add(ctx);
  return (
    '<style>' +
    '.workload-analysis{margin-top:18px}' +
    'ul.findings{margin:6px 0 12px;padding-left:0;list-style:none}' +
    'ul.findings li{margin:3px 0;padding-left:14px;border-left:3px solid var(--line)}' +
    'ul.findings li:first-child{font-size:16px;font-weight:600;border-left-color:var(--accent)}' +
    'ul.findings li.not-significant{color:var(--muted)}' +
    'table.compact td.na{color:var(--muted);font-style:italic}' +
    '.workload-analysis .muted{color:var(--muted);font-size:12px}' +
    'table.compact .rtt{color:var(--muted);font-size:12px;margin-left:4px}' +
    'table.compact td.flag{color:var(--bad);font-weight:600}' +
    'table.compact td.ok{color:var(--good)}' +
    'ul.flags{list-style:none;padding:0;margin:8px 0}' +
    'ul.flags li{padding:7px 10px;border-left:4px solid #d4a72c;background:var(--soft);margin:4px 0;border-radius:0 6px 6px 0;font-size:14px}' +
    'ul.flags li.kind-workbench-bug{border-color:var(--bad)}' +
    'ul.flags li .evidence{display:block;font-size:12.5px;color:var(--muted)}' +
    '</style>'
  );
}

/**
 * The CDF of one recorded distribution (e.g. "pageLoad", "stallTime"), the repetitions' histograms
 * merged per protocol; undefined when nothing was recorded.
 */
export function distributionCdf(
  ctx: ReportContext,
  scope: WorkloadScope,
  metric: string,
  opts: { title: string; axis: string; what: string; caption: string; yTitle?: string },
): string | undefined {
  const merged = mergedDistributions(scope, metric);
  if (merged.length === 0) return undefined;
  const rows = cdfRowsOf(merged, scope);
  let spec = relabelTooltips(cdfChart(rows, merged.map((d) => d.protocol), opts.axis), {
    'latency (ms)': opts.axis.toLowerCase(),
    samples: opts.what,
    'Fraction of requests at or below': opts.yTitle ?? `Fraction of ${opts.what} at or below`,
  });
  spec = { ...spec, height: 240 };
  const counts = merged.map((d) => `${PROTOCOL_NAMES[d.protocol]} ${d.samples.toLocaleString('en-US')} ${opts.what}`).join(', ');
  return ctx.chart(spec, {
    title: opts.title,
    caption: opts.caption,
    source: `result.json metric "${metric}", histograms of all repetitions merged per protocol (${counts}); ${ctx.provenance(scope)}`,
  });
}
