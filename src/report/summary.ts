/**
 * The short forms of a result: summary.md (markdown), the table printed after a run, and the
 * machine-readable summary of `bench run --json`. Per network variant, workload and protocol: the
 * workload's headline metrics (src/results/catalogue.ts), medians across repetitions with their
 * 95% CIs.
 */
import type { Protocol } from '../drivers/types.ts';
import { PROTOCOL_NAMES, ReportContext } from './context.ts';
import { measuredHeadline, type MetricDefinition } from '../results/catalogue.ts';
import { type Estimate, estimate, metricTitle } from './estimates.ts';
import { formatEstimateInColumn } from './format.ts';
import { loadCurve, type LatencyPoint, type LoadCurve } from '../results/load.ts';
import type { RunResult } from '../results/model.ts';
import { describeNetwork } from './network.ts';
import { serversLine, serverText } from './servers.ts';
import { CI_METHOD_TEXT } from './sections/headline.ts';
import { storyMarkdown, tellStory } from './story.ts';
import { referenceFigures } from './reference.ts';

export interface EstimateJson {
  /** The catalogue's metric id, e.g. "latency.p99", "cold.firstByte". */
  metric: string;
  label: string;
  better: 'lower' | 'higher';
  median: number;
  ci95?: [number, number];
  /** 'ci' = 95% confidence interval; 'range' = min..max of the repetitions (no CI in result.json). */
  interval: 'ci' | 'range';
  n: number;
  unit: string;
}

/** One step of a load sweep, over the repetitions (src/results/load.ts); null where a figure is not measured here. */
export interface LoadStepJson {
  /** Requests/s offered (open loop) or requesters (closed loop). */
  level: number;
  loop: 'open' | 'closed';
  knee: boolean;
  achievedPerSec: number;
  /** ms; open loop: from each request's intended send time (coordinated omission corrected). */
  latency: { p50: number; p90: number; p99: number } | null;
  /** Open loop: ms from the actual send. */
  service?: { p50: number; p90: number; p99: number } | null;
  requests: number;
  failed: number;
  late?: number;
  dropped?: number;
  clientCpuPerRequestMs: number | null;
  serverCpuPerRequestMs: number | null;
  linkCpuPerRequestMs: number | null;
  wireBytesPerRequest: number | null;
  machineBound: string[];
}

export interface SummaryRow {
  network: string;
  backend: string;
  shaped: boolean;
  workload: string;
  workloadType: string;
  protocol: Protocol;
  repetitions: number;
  failedRepetitions: number;
  /** The workload's headline metrics, in catalogue order (only those measured in this block). */
  metrics: EstimateJson[];
  /** Load workloads: every step of the sweep. */
  steps?: LoadStepJson[];
  /** Load workloads: the client worker processes that sent the requests. */
  clientWorkers?: number;
  /** Load workloads over h1/h2: the client that sent the requests (`lean` or `library`). */
  client?: 'lean' | 'library';
}

export interface SummaryJson {
  scenario: string;
  runId: string;
  status: RunResult['run']['status'];
  /** The server that answered each protocol (absent when the result did not record it). */
  servers?: Partial<Record<Protocol, string>>;
  rows: SummaryRow[];
  warnings: { error: number; warn: number; info: number };
}

function toJson(metric: MetricDefinition, e: Estimate | undefined): EstimateJson | undefined {
  if (!e) return undefined;
  return { metric: metric.id, label: metric.label, better: metric.better, median: e.median, ci95: e.ci95, interval: e.intervalKind, n: e.n, unit: e.unit };
}

export function summaryJson(result: RunResult): SummaryJson {
  const ctx = new ReportContext(result);
  const rows: SummaryRow[] = [];
  for (const network of ctx.networks()) {
    const shaped = describeNetwork(network).shaped;
    for (const scope of ctx.scopes(network)) {
      const headline = measuredHeadline(scope.workloadType, scope.cells);
      for (const protocol of scope.protocols) {
        const key = { network: network.label, protocol, workload: scope.workload };
        const cells = scope.cells.filter((c) => c.protocol === protocol);
        const row: SummaryRow = {
          network: network.label,
          backend: network.backend,
          shaped,
          workload: scope.workload,
          workloadType: scope.workloadType,
          protocol,
          repetitions: cells.filter((c) => !c.error).length,
          failedRepetitions: cells.filter((c) => c.error).length,
          metrics: headline.map((m) => toJson(m, estimate(result, key, m))).filter((e): e is EstimateJson => e !== undefined),
        };
        const curve = loadCurve(cells);
        if (curve) {
          row.steps = loadStepsJson(curve);
          row.clientWorkers = curve.clientWorkers;
          if (curve.client) row.client = curve.client;
        }
        rows.push(row);
      }
    }
  }
  const warnings = { error: 0, warn: 0, info: 0 };
  for (const w of result.warnings) warnings[w.level]++;
  const servers = result.servers && Object.fromEntries(Object.entries(result.servers).map(([p, s]) => [p, serverText(s)]));
  return { scenario: result.scenario.name, runId: result.run.id, status: result.run.status, ...(servers && { servers }), rows, warnings };
}

function loadStepsJson(curve: LoadCurve): LoadStepJson[] {
  const percentiles = (l: LatencyPoint | undefined) => (l ? { p50: l.p50, p90: l.p90, p99: l.p99 } : null);
  return curve.points.map((p, i) => ({
    level: p.level,
    loop: curve.loop,
    knee: i === curve.knee,
    achievedPerSec: p.achievedPerSec,
    latency: percentiles(p.latency),
    ...(curve.loop === 'open' && { service: percentiles(p.service), late: p.arrivals?.late, dropped: p.arrivals?.dropped }),
    requests: p.requests,
    failed: p.failed,
    clientCpuPerRequestMs: p.clientCpuPerRequestMs ?? null,
    serverCpuPerRequestMs: p.serverCpuPerRequestMs ?? null,
    linkCpuPerRequestMs: p.linkCpuPerRequestMs ?? null,
    wireBytesPerRequest: p.wireBytesPerRequest ?? null,
    machineBound: p.machineBound,
  }));
}

/** "12.3 (CI 11.8-12.9, 5 reps)": the unit is in the column header, except where it varies (bit/s). */
function cellText(e: EstimateJson | undefined): string {
  if (!e) return '-';
  const est = { median: e.median, ci95: e.ci95, n: e.n, intervalKind: e.interval };
  const f = formatEstimateInColumn(est, e.unit);
  return `${f.value} (${f.interval})`.replace(/\u2013/g, '-');
}

interface Block {
  heading: string;
  note: string;
  header: string[];
  rows: string[][];
}

function blocks(result: RunResult): Block[] {
  const json = summaryJson(result);
  const ctx = new ReportContext(result);
  const out: Block[] = [];
  for (const network of ctx.networks()) {
    const desc = describeNetwork(network);
    const workloads = [...new Set(json.rows.filter((r) => r.network === network.label).map((r) => r.workload))];
    for (const workload of workloads) {
      const rows = json.rows.filter((r) => r.network === network.label && r.workload === workload);
      const headline = measuredHeadline(rows[0]!.workloadType, ctx.result.cells.filter((c) => c.network === network.label && c.workload === workload));
      out.push({
        heading: `network ${network.label}, workload ${workload} (${rows[0]!.workloadType})`,
        note: desc.backendReason ? `${desc.summary} (${desc.backendReason})` : desc.summary,
        header: ['protocol', ...headline.map(metricTitle)],
        rows: rows.map((r) => [
          PROTOCOL_NAMES[r.protocol] + (r.failedRepetitions ? ` (${r.failedRepetitions} rep failed)` : ''),
          ...headline.map((m) => cellText(r.metrics.find((e) => e.metric === m.id))),
        ]),
      });
    }
  }
  return out;
}

/** Which intervals the numbers carry, from the summaries' ciMethod. */
function intervalText(result: RunResult): string {
  const methods = [...new Set(result.summaries.map((s) => s.ciMethod).filter((m) => m !== 'none'))];
  if (methods.length === 0) return 'CI: none in result.json';
  return methods.map((m) => CI_METHOD_TEXT[m] ?? m).join(' or ');
}

function warningLine(result: RunResult): string | undefined {
  const w = summaryJson(result).warnings;
  if (w.error + w.warn + w.info === 0) return undefined;
  return `${w.error} error(s), ${w.warn} warning(s), ${w.info} note(s): see report.html (Warnings)`;
}

/** Aligned plain-text tables for the terminal. */
export function renderSummaryText(result: RunResult): string {
  const lines: string[] = [];
  lines.push(`${result.scenario.name}: ${result.run.status}; medians across repetitions, ${intervalText(result)}`);
  lines.push(`servers: ${serversLine(result, new ReportContext(result).protocols())}`);
  for (const b of blocks(result)) {
    lines.push('', `${b.heading}: ${b.note}`);
    const widths = b.header.map((h, i) => Math.max(h.length, ...b.rows.map((r) => r[i]!.length)));
    const fmt = (cols: string[]) => cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    lines.push('  ' + fmt(b.header));
    for (const r of b.rows) lines.push('  ' + fmt(r));
  }
  const w = warningLine(result);
  if (w) lines.push('', w);
  return lines.join('\n');
}

/** summary.md. */
export function renderSummaryMarkdown(result: RunResult): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    `# ${esc(result.scenario.name)}`,
    '',
    // What the scenario expects (e.g. a paper's finding) stands beside what was measured.
    ...(typeof result.scenario.description === 'string' && result.scenario.description ? [esc(result.scenario.description), ''] : []),
    `Run ${result.run.id} (${result.run.startedAt}), status **${result.run.status}**. Medians across repetitions; ${intervalText(result)} ("range" where result.json has no interval).`,
    '',
    `Servers: ${esc(serversLine(result, new ReportContext(result).protocols()))}.`,
  ];
  const story = storyMarkdown(tellStory(result));
  if (story.length) lines.push('', ...story);
  lines.push(...referenceMarkdown(result));
  for (const b of blocks(result)) {
    lines.push('', `## ${esc(b.heading)}`, '', esc(b.note), '');
    lines.push(`| ${b.header.map(esc).join(' | ')} |`, `| ${b.header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
    for (const r of b.rows) lines.push(`| ${r.map(esc).join(' | ')} |`);
  }
  if (result.warnings.length) {
    lines.push('', '## Warnings', '');
    for (const w of result.warnings) {
      const where = [w.network, w.protocol && PROTOCOL_NAMES[w.protocol], w.workload].filter(Boolean).join(', ');
      lines.push(`- **${w.level}** \`${w.code}\` ${esc(w.message)}${where ? ` (${esc(where)})` : ''}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** A study's claims beside the figures, for summary.md (src/report/reference.ts). */
function referenceMarkdown(result: RunResult): string[] {
  const ref = referenceFigures(result);
  if (!ref) return [];
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = ['', `## What ${esc(ref.source)} found, beside this run`];
  for (const c of ref.claims) {
    const change = c.showsChange ? [`${c.networks.at(-1)} / ${c.networks[0]}`] : [];
    lines.push('', `"${esc(c.claim.says)}" Measured: ${esc(c.measured)}.`, '');
    lines.push(`| protocol | ${[...c.networks, ...change].map(esc).join(' | ')} |`, `| --- | ${[...c.networks, ...change].map(() => '---:').join(' | ')} |`);
    for (const r of c.rows) {
      lines.push(`| ${PROTOCOL_NAMES[r.protocol]} | ${[...r.values.map((v) => v ?? '-'), ...(change.length ? [r.change ?? '-'] : [])].map(esc).join(' | ')} |`);
    }
  }
  lines.push('', 'Medians across repetitions; "-": not measured.');
  return lines;
}
