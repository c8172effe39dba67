/**
 * The page shell shared by report.html and compare.html: styles, the inlined chart
 * libraries, the chart specifications as inert JSON, and the few lines that embed them.
 */
import { chartLibraries } from './assets.ts';
import type { ChartSlot } from './context.ts';
import { PROTOCOL_COLORS } from './context.ts';
import { escapeHtml, jsonForScript, scriptText } from './escape.ts';

/** vega config shared by every chart: the page's fonts and quiet axes. */
const VEGA_CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  background: null,
  view: { stroke: null },
  axis: { labelColor: '#57606a', titleColor: '#24292f', gridColor: '#eaeef2', domainColor: '#8c959f', tickColor: '#8c959f', labelFontSize: 11, titleFontSize: 12, titleFontWeight: 600 },
  legend: { labelFontSize: 12, symbolStrokeWidth: 3 },
  line: { strokeCap: 'round' },
};

const EMBED_SCRIPT = `
(function () {
  var charts = JSON.parse(document.getElementById('bench-charts').textContent);
  var config = JSON.parse(document.getElementById('bench-vega-config').textContent);
  var options = {
    renderer: 'svg',
    config: config,
    actions: { export: true, source: false, compiled: false, editor: false },
    tooltip: { theme: 'light' }
  };
  charts.forEach(function (chart) {
    var el = document.getElementById(chart.id);
    vegaEmbed(el, chart.spec, options).then(function () {
      el.setAttribute('data-rendered', 'true');
    }).catch(function (err) {
      el.setAttribute('data-rendered', 'error');
      el.textContent = 'This chart could not be drawn: ' + err.message;
      console.error(err);
    });
  });
})();
`;

const swatches = Object.entries(PROTOCOL_COLORS)
  .map(([p, c]) => `.swatch-${p}{background:${c}}`)
  .join('');

const STYLE = `
:root{--fg:#1f2328;--muted:#57606a;--line:#d0d7de;--soft:#f6f8fa;--accent:#0969da;--bad:#cf222e;--warn:#9a6700;--good:#1a7f37}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:#fff}
main{max-width:1320px;margin:0 auto;padding:28px 32px 64px}
header.report{border-bottom:1px solid var(--line);padding-bottom:18px;margin-bottom:8px}
.eyebrow{font-size:12px;letter-spacing:.06em;text-transform:uppercase;color:var(--muted);font-weight:600}
h1{font-size:30px;line-height:1.2;margin:4px 0 6px}
h2{font-size:22px;margin:40px 0 6px;padding-top:8px;border-top:3px solid var(--fg)}
h3{font-size:17px;margin:28px 0 8px}
h4{font-size:14px;margin:22px 0 6px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.description{font-size:16px;color:#2f363d;max-width:900px;margin:0 0 14px}
dl.meta{display:flex;flex-wrap:wrap;gap:6px 28px;margin:12px 0}
dl.meta div{min-width:0}
dl.meta dt{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
dl.meta dd{margin:0;font-weight:600}
.status{display:inline-block;padding:1px 10px;border-radius:999px;font-size:13px;font-weight:700}
.status-complete{background:#dafbe1;color:var(--good)}.status-partial{background:#fff8c5;color:var(--warn)}.status-failed{background:#ffebe9;color:var(--bad)}
.networks{display:grid;gap:8px;margin:14px 0 4px}
.network-card{border:1px solid var(--line);border-radius:8px;padding:8px 14px;background:var(--soft)}
.network-card.unshaped{background:#fff8c5;border-color:#d4a72c}
.network-card .label{font-weight:700;margin-right:8px}
.network-card .details{color:var(--muted);font-size:13px}
.banner{margin:14px 0;padding:10px 14px;border-radius:8px;border:1px solid #d4a72c;background:#fff8c5}
.banner.error{border-color:#ff8182;background:#ffebe9}
nav.toc{font-size:14px;color:var(--muted);margin:14px 0 0}
nav.toc a{color:var(--accent);text-decoration:none;margin-right:14px}
nav.toc a:hover{text-decoration:underline}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
table.headline{width:100%;font-size:14px;margin:4px 0 8px}
table.headline caption,table.compact caption{caption-side:top;text-align:left;color:var(--muted);font-size:13px;padding-bottom:6px}
table.headline th,table.headline td{padding:7px 7px;border-bottom:1px solid var(--line);vertical-align:top}
table.headline thead th{font-size:12px;color:var(--muted);font-weight:600;border-bottom:2px solid var(--line);max-width:110px;vertical-align:bottom}
table.headline thead th.group{text-align:center;border-bottom:1px solid var(--line)}
table.headline tbody th{text-align:left;white-space:nowrap}
td.num,th.num{text-align:right}
td .value{display:block;font-weight:600;white-space:nowrap}
td .ci{display:block;font-size:11.5px;color:var(--muted);min-width:7.5em}
td.missing{color:#8c959f}
td[title]{cursor:help}
.bad{color:var(--bad);font-weight:600}
td .ci.alert{color:var(--bad);font-weight:600}
.pass{color:var(--good);font-weight:600}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:7px;vertical-align:0}
${swatches}
table.compact{font-size:13px;width:100%}
table.compact th,table.compact td{padding:4px 8px;border-bottom:1px solid #eaeef2;text-align:left}
table.compact thead th{color:var(--muted);font-weight:600}
table.compact td.num,table.compact th.num{text-align:right}
table.story td.num{white-space:nowrap}
table.kv{font-size:14px}
table.kv th{text-align:left;color:var(--muted);font-weight:600;padding:3px 16px 3px 0;vertical-align:top;white-space:nowrap}
table.kv td{padding:3px 0}
.chart-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:20px;margin:10px 0}
.chart-grid.one{grid-template-columns:1fr}
.chart-grid.three{grid-template-columns:repeat(auto-fit,minmax(300px,1fr))}
figure.chart{margin:0;min-width:0;border:1px solid var(--line);border-radius:8px;padding:12px 14px 10px}
.chart-title{font-weight:700;font-size:14px;margin-bottom:4px}
.chart-body{width:100%;min-height:60px}
figure.chart.small .chart-body{min-height:40px}
figcaption{font-size:12.5px;color:var(--muted);margin-top:6px}
figcaption .source{display:block;font-size:11.5px;color:#6e7781;margin-top:2px}
.section-note{font-size:13px;color:var(--muted);margin:4px 0}
.ok-note{color:var(--good)}
details{margin:10px 0}
details>summary{cursor:pointer;color:var(--accent);font-size:14px}
details pre{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:12px;overflow:auto;max-height:520px;font-size:12.5px}
ul.warnings{list-style:none;padding:0;margin:8px 0}
li.warning{padding:7px 10px;border-left:4px solid var(--line);background:var(--soft);margin:4px 0;border-radius:0 6px 6px 0}
li.level-error{border-color:var(--bad)}li.level-warn{border-color:#d4a72c}li.level-info{border-color:#8c959f}
li.warning code{font-size:12px;margin-right:8px;color:var(--muted)}
li.warning .where{display:block;font-size:12px;color:var(--muted)}
.badge{display:inline-block;font-size:11px;font-weight:700;text-transform:uppercase;border-radius:4px;padding:0 6px;margin-right:8px}
.badge-error{background:#ffebe9;color:var(--bad)}.badge-warn{background:#fff8c5;color:var(--warn)}.badge-info{background:#eaeef2;color:var(--muted)}
.env-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(400px,1fr));gap:24px}
.workload{margin-bottom:20px}
footer{margin-top:48px;font-size:12px;color:var(--muted)}
@media print{.vega-actions{display:none}}
`;

export interface PageInput {
  title: string;
  body: string;
  charts: readonly ChartSlot[];
  /** Extra inert JSON blocks (e.g. the full result). */
  data?: string;
  /** Extra CSS of the page (compare.html's verdict colours). */
  style?: string;
}

export function renderPage(input: PageInput): string {
  const libraries = chartLibraries()
    .map((lib) => `<script data-library="${escapeHtml(lib.name)}@${escapeHtml(lib.version)}">${scriptText(lib.source)}</script>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="bench">
<title>${escapeHtml(input.title)}</title>
<style>${STYLE}${input.style ?? ''}</style>
</head>
<body>
<main>
${input.body}
</main>
${libraries}
<script type="application/json" id="bench-vega-config">${jsonForScript(VEGA_CONFIG)}</script>
<script type="application/json" id="bench-charts">${jsonForScript(input.charts)}</script>
${input.data ?? ''}
<script>${EMBED_SCRIPT}</script>
</body>
</html>
`;
}
