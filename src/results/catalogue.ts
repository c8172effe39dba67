/**
 * The metric catalogue: every figure of a result that can be summarised, compared or asserted,
 * with its unit, which direction is better, and how to read it from one cell (one repetition).
 * Each workload type names its headline metrics here; the report's tables and strips, `bench run
 * --json`, `bench compare` and the gate all take them from this list.
 */
import { mean, median } from '../metrics/stats.ts';
import { handshakeMode, migrationDetails, multiplexDetails, pageDetails, throughputDetails } from './details.ts';
import { HANDSHAKE_MODES, HANDSHAKE_PHASES, type HandshakeMode } from './handshake-theory.ts';
import { cellKnee } from './load.ts';
import type { Cell } from './model.ts';

export const METRIC_UNITS = ['ms', 'rtt', 'req/s', 'bit/s', 'Mbit/s', 'count', 'streams', 'bytes'] as const;
export type MetricUnit = (typeof METRIC_UNITS)[number];

export interface MetricDefinition {
  /** Name in result.json summaries and in scenario assertions, e.g. "latency.p99", "cold.firstByte". */
  id: string;
  /** Words for tables and charts, e.g. "latency p99". */
  label: string;
  unit: MetricUnit;
  better: 'lower' | 'higher';
  /** The value in one cell (one repetition); undefined when the cell has none. */
  pick: (cell: Cell) => number | undefined;
  /** Shown instead where this metric has no value at all (first byte in ms on a network without a base RTT). */
  fallback?: MetricDefinition;
  /**
   * A percentile is an estimate only with enough samples beyond it: the samples behind the value in
   * one cell, and how many it needs (compare and the gate give no verdict below that).
   */
  samples?: { count: (cell: Cell) => number | undefined; needed: number };
}

export const HISTOGRAM_STATISTICS = ['p50', 'p90', 'p99', 'p999', 'mean', 'max'] as const;
export type HistogramStatistic = (typeof HISTOGRAM_STATISTICS)[number];
const STATISTIC_LABELS: Record<HistogramStatistic, string> = { p50: 'p50', p90: 'p90', p99: 'p99', p999: 'p99.9', mean: 'mean', max: 'max' };

/** Percentiles need 10 samples beyond them per repetition (p99: 1,000): below that a p99 is one of the few largest values. */
const SAMPLES_BEYOND_PERCENTILE = 10;
const PERCENTILE_OF: Partial<Record<HistogramStatistic, number>> = { p50: 0.5, p90: 0.9, p99: 0.99, p999: 0.999 };

/** A statistic of a recorded distribution (all in ms): "latency.p99" = the p99 of histogram "latency". */
export function histogramMetric(histogram: string, stat: HistogramStatistic): MetricDefinition {
  const p = PERCENTILE_OF[stat];
  return {
    id: `${histogram}.${stat}`,
    label: `${histogram} ${STATISTIC_LABELS[stat]}`,
    unit: 'ms',
    better: 'lower',
    pick: (c) => c.metrics[histogram]?.[stat],
    ...(p !== undefined && { samples: { count: (c: Cell) => c.metrics[histogram]?.count, needed: Math.round(SAMPLES_BEYOND_PERCENTILE / (1 - p)) } }),
  };
}

/** The fewest samples behind this metric in any of these cells, when it is a percentile that has fewer than it needs. */
export function tooFewSamples(metric: MetricDefinition, cells: readonly Cell[]): { fewest: number; needed: number } | undefined {
  if (!metric.samples) return undefined;
  const counts = cells.filter((c) => !c.error).map(metric.samples.count).filter((n): n is number => n !== undefined);
  const fewest = Math.min(...counts);
  return counts.length > 0 && fewest < metric.samples.needed ? { fewest, needed: metric.samples.needed } : undefined;
}

/** Figures every workload has. */
export const COMMON_METRICS = {
  requestsPerSec: { id: 'requestsPerSec', label: 'requests/s', unit: 'req/s', better: 'higher', pick: (c) => c.requestsPerSec },
  goodputBps: { id: 'goodputBps', label: 'goodput', unit: 'bit/s', better: 'higher', pick: (c) => c.goodputBps },
  serverCpuMs: { id: 'serverCpuMs', label: 'server CPU', unit: 'ms', better: 'lower', pick: (c) => c.serverCpuMs },
  requests: { id: 'requests.total', label: 'requests', unit: 'count', better: 'higher', pick: (c) => c.requests.total },
  failed: { id: 'requests.failed', label: 'failed requests', unit: 'count', better: 'lower', pick: (c) => c.requests.failed },
  opened: { id: 'connections.opened', label: 'connections', unit: 'count', better: 'lower', pick: (c) => c.connections.opened },
  resumed: { id: 'connections.resumed', label: 'resumed connections', unit: 'count', better: 'higher', pick: (c) => c.connections.resumed },
} satisfies Record<string, MetricDefinition>;

const MODE_LABELS: Record<HandshakeMode, string> = { cold: 'cold', resumed: 'resumed', '0rtt': '0-RTT' };

/** First response byte: in base RTTs (shaped networks), with the ms figure as the fallback where there is no base RTT (loopback). */
function firstByte(mode: HandshakeMode, unit: 'rtt' | 'ms'): MetricDefinition {
  const ms = unit === 'ms';
  return {
    id: `${mode}.firstByte${ms ? 'Ms' : ''}`,
    label: `${MODE_LABELS[mode]} first byte`,
    unit,
    better: 'lower',
    pick: (c) => {
      const phase = handshakeMode(c, mode)?.phases.firstByte;
      return ms ? phase?.medianMs : phase?.medianRtt;
    },
    ...(!ms && { fallback: firstByte(mode, 'ms') }),
  };
}

function resumedConnections(mode: Exclude<HandshakeMode, 'cold'>): MetricDefinition {
  return {
    id: `${mode}.resumedConnections`,
    label: `${MODE_LABELS[mode]} resumed`,
    unit: 'count',
    better: 'higher',
    pick: (c) => handshakeMode(c, mode)?.resumed,
  };
}

const earlyDataAccepted: MetricDefinition = {
  id: '0rtt.earlyDataAccepted',
  label: '0-RTT early data accepted',
  unit: 'count',
  better: 'higher',
  pick: (c) => handshakeMode(c, '0rtt')?.earlyDataAccepted,
};

/** A statistic of one of a workload's per-event lists in details; undefined when the list is empty. */
function overDetailsList(def: Omit<MetricDefinition, 'pick'>, list: (c: Cell) => number[] | undefined, statistic: (values: number[]) => number): MetricDefinition {
  return {
    ...def,
    pick: (c) => {
      const values = list(c);
      return values && values.length > 0 ? statistic(values) : undefined;
    },
  };
}

const stalledPerLoss = overDetailsList(
  { id: 'stalledPerLoss', label: 'stalled per loss event', unit: 'streams', better: 'lower' },
  (c) => multiplexDetails(c)?.stalledPerLoss,
  mean,
);

const handshakesPerLoad = overDetailsList(
  { id: 'handshakesPerLoad', label: 'handshakes per page load', unit: 'count', better: 'lower' },
  (c) => pageDetails(c)?.handshakesPerLoad,
  median,
);

/**
 * The migration workload's answers, one move per repetition; their ids are also the fields of its
 * `bench run --json` rows.
 */
export const MIGRATION_METRICS = {
  interruptionMs: { id: 'interruptionMs', label: 'interruption', unit: 'ms', better: 'lower', pick: (c) => migrationDetails(c)?.interruptionMs },
  requestsFailed: { id: 'requestsFailed', label: 'requests failed', unit: 'count', better: 'lower', pick: (c) => migrationDetails(c)?.requestsFailed },
  requestsRetried: { id: 'requestsRetried', label: 'requests re-sent', unit: 'count', better: 'lower', pick: (c) => migrationDetails(c)?.requestsRetried },
  bytesRefetched: { id: 'bytesRefetched', label: 'bytes downloaded twice', unit: 'bytes', better: 'lower', pick: (c) => migrationDetails(c)?.bytesRefetched },
  connectionSurvived: {
    id: 'connectionSurvived',
    label: 'connection survived (1 = yes)',
    unit: 'count',
    better: 'higher',
    pick: (c) => {
      const d = migrationDetails(c);
      return d ? Number(d.connectionSurvived) : undefined;
    },
  },
  handshakes: { id: 'handshakes', label: 'handshakes after the move', unit: 'count', better: 'lower', pick: (c) => migrationDetails(c)?.handshakes },
} satisfies Record<string, MetricDefinition>;

/** A figure of the knee step of one repetition's sweep (src/results/load.ts), per successful request where `perRequest`. */
function atKnee(def: Omit<MetricDefinition, 'pick'>, value: (knee: NonNullable<ReturnType<typeof cellKnee>>) => number | undefined, perRequest = false): MetricDefinition {
  return {
    ...def,
    pick: (c) => {
      const knee = cellKnee(c);
      if (!knee) return undefined;
      const v = value(knee);
      if (!perRequest) return v;
      return v === undefined || knee.step.ok === 0 ? undefined : v / knee.step.ok;
    },
  };
}

/**
 * The load workload's answers, at the knee of each repetition's sweep (the last step before p99
 * or the achieved rate breaks); also the fields of its `bench run --json` rows.
 */
export const LOAD_METRICS = {
  kneeRequestsPerSec: atKnee({ id: 'knee.requestsPerSec', label: 'requests/s at the knee', unit: 'req/s', better: 'higher' }, (k) => k.step.achievedPerSec),
  kneeP99: {
    ...atKnee({ id: 'knee.latency.p99', label: 'latency p99 at the knee', unit: 'ms', better: 'lower' }, (k) => k.latency?.p99),
    samples: { count: (c) => cellKnee(c)?.latency?.count, needed: Math.round(SAMPLES_BEYOND_PERCENTILE / (1 - 0.99)) },
  },
  kneeServerCpu: atKnee({ id: 'knee.serverCpuPerRequest', label: 'server CPU per request at the knee', unit: 'ms', better: 'lower' }, (k) => k.step.serverCpuMs, true),
  kneeClientCpu: atKnee({ id: 'knee.clientCpuPerRequest', label: 'client CPU per request at the knee', unit: 'ms', better: 'lower' }, (k) => k.step.clientCpuMs, true),
  kneeLinkCpu: atKnee({ id: 'knee.linkCpuPerRequest', label: 'link CPU per request at the knee', unit: 'ms', better: 'lower' }, (k) => k.step.linkCpuMs, true),
  kneeWireBytes: atKnee({ id: 'knee.wireBytesPerRequest', label: 'bytes on the wire per request at the knee', unit: 'bytes', better: 'lower' }, (k) => k.step.wireBytes, true),
} satisfies Record<string, MetricDefinition>;

/** A statistic over the throughput workload's complete rounds. */
function overRounds(def: Omit<MetricDefinition, 'pick'>, value: (round: { goodputBps?: number; completeMs?: number }) => number | undefined, statistic: (values: number[]) => number): MetricDefinition {
  return overDetailsList(def, (c) => throughputDetails(c)?.rounds.map(value).filter((v): v is number => v !== undefined), statistic);
}
const mbps = (r: { goodputBps?: number }) => (r.goodputBps === undefined ? undefined : r.goodputBps / 1e6);

/** The throughput workload's answers (one value per repetition: over its rounds); also the fields of its `bench run --json` rows. */
export const THROUGHPUT_METRICS = {
  goodputMbps: overRounds({ id: 'goodputMbps', label: 'goodput, median round', unit: 'Mbit/s', better: 'higher' }, mbps, median),
  completeMs: overRounds({ id: 'completeMs', label: 'time to complete, median round', unit: 'ms', better: 'lower' }, (r) => r.completeMs, median),
  goodputMinMbps: overRounds({ id: 'goodputMinMbps', label: 'goodput, slowest round', unit: 'Mbit/s', better: 'higher' }, mbps, (v) => Math.min(...v)),
  goodputMaxMbps: overRounds({ id: 'goodputMaxMbps', label: 'goodput, fastest round', unit: 'Mbit/s', better: 'higher' }, mbps, (v) => Math.max(...v)),
} satisfies Record<string, MetricDefinition>;

interface WorkloadCatalogue {
  /** The figures that answer the workload's question, in display order. */
  headline: MetricDefinition[];
  /** Further figures of its own, not in the headline. */
  other: MetricDefinition[];
  /** Distributions it records (each with every HISTOGRAM_STATISTICS). */
  histograms: string[];
}

const REQUEST_HISTOGRAMS = ['latency', 'ttfb', 'connect', 'tls'];

const CATALOGUE: Record<string, WorkloadCatalogue> = {
  requests: {
    headline: [COMMON_METRICS.requestsPerSec, histogramMetric('latency', 'p50'), histogramMetric('latency', 'p99')],
    other: [],
    histograms: REQUEST_HISTOGRAMS,
  },
  handshake: {
    headline: [firstByte('cold', 'rtt'), firstByte('resumed', 'rtt'), firstByte('0rtt', 'rtt'), resumedConnections('resumed'), earlyDataAccepted],
    other: [...HANDSHAKE_MODES.map((m) => firstByte(m, 'ms')), resumedConnections('0rtt')],
    histograms: HANDSHAKE_MODES.flatMap((m) => [...REQUEST_HISTOGRAMS, ...HANDSHAKE_PHASES].map((h) => `${m}.${h}`)),
  },
  multiplex: {
    headline: [histogramMetric('latency', 'p50'), histogramMetric('latency', 'p99'), stalledPerLoss],
    other: [],
    histograms: [...REQUEST_HISTOGRAMS, 'excess', 'stallTime', 'stalledPerLoss', ...REQUEST_HISTOGRAMS.map((h) => `reference.${h}`)],
  },
  page: {
    headline: [histogramMetric('pageLoad', 'p50'), histogramMetric('pageLoad', 'p90'), handshakesPerLoad],
    other: [],
    histograms: ['pageLoad', ...REQUEST_HISTOGRAMS],
  },
  migration: {
    headline: [
      MIGRATION_METRICS.interruptionMs,
      MIGRATION_METRICS.requestsFailed,
      MIGRATION_METRICS.requestsRetried,
      MIGRATION_METRICS.bytesRefetched,
      MIGRATION_METRICS.connectionSurvived,
    ],
    other: [MIGRATION_METRICS.handshakes],
    histograms: [...REQUEST_HISTOGRAMS, 'download.latency', 'download.ttfb'],
  },
  load: {
    headline: [LOAD_METRICS.kneeRequestsPerSec, LOAD_METRICS.kneeP99, LOAD_METRICS.kneeServerCpu, LOAD_METRICS.kneeClientCpu],
    other: [LOAD_METRICS.kneeLinkCpu, LOAD_METRICS.kneeWireBytes],
    // Per step, `<step>.latency`, `.service` and `.ttfb` (details.load.steps[].metricPrefix), summarised as recorded.
    histograms: ['connect', 'tls'],
  },
  throughput: {
    headline: [THROUGHPUT_METRICS.goodputMbps, THROUGHPUT_METRICS.completeMs],
    other: [THROUGHPUT_METRICS.goodputMinMbps, THROUGHPUT_METRICS.goodputMaxMbps],
    histograms: [...REQUEST_HISTOGRAMS, 'complete'],
  },
};

/** A workload type this catalogue does not know gets the common figures and request distributions. */
const FALLBACK: WorkloadCatalogue = { ...CATALOGUE.requests! };

function entry(workloadType: string): WorkloadCatalogue {
  return CATALOGUE[workloadType] ?? FALLBACK;
}

/** The metrics that answer this workload type's question, in display order. */
export function headlineMetrics(workloadType: string): MetricDefinition[] {
  return entry(workloadType).headline;
}

/** The headline metrics that have a value in these cells (each replaced by its fallback where only that has one). */
export function measuredHeadline(workloadType: string, cells: readonly Cell[]): MetricDefinition[] {
  const measured = (m: MetricDefinition) => cells.some((c) => !c.error && m.pick(c) !== undefined);
  return headlineMetrics(workloadType).flatMap((m) => (measured(m) ? [m] : m.fallback && measured(m.fallback) ? [m.fallback] : []));
}

/** Every metric of a workload type: headline first, then the common figures, its own, and every statistic of its distributions. */
export function workloadMetrics(workloadType: string): MetricDefinition[] {
  const e = entry(workloadType);
  const all = [
    ...e.headline,
    ...Object.values(COMMON_METRICS),
    ...e.other,
    ...e.histograms.flatMap((h) => HISTOGRAM_STATISTICS.map((s) => histogramMetric(h, s))),
  ];
  const seen = new Set<string>();
  return all.filter((m) => !seen.has(m.id) && seen.add(m.id));
}

/** The metric named `id` for a workload type; statistics of distributions not in the list resolve too ("foo.p99"). */
export function findMetric(workloadType: string, id: string): MetricDefinition | undefined {
  const known = workloadMetrics(workloadType).find((m) => m.id === id);
  if (known) return known;
  const dot = id.lastIndexOf('.');
  const stat = id.slice(dot + 1) as HistogramStatistic;
  return dot > 0 && HISTOGRAM_STATISTICS.includes(stat) ? histogramMetric(id.slice(0, dot), stat) : undefined;
}

/** Every metric with a value in these cells (for summaries): the catalogue's, plus any other recorded distribution. */
export function metricsWithValues(workloadType: string, cells: readonly Cell[]): MetricDefinition[] {
  const known = workloadMetrics(workloadType);
  const knownIds = new Set(known.map((m) => m.id));
  const extra = [...new Set(cells.flatMap((c) => Object.keys(c.metrics)))]
    .flatMap((h) => HISTOGRAM_STATISTICS.map((s) => histogramMetric(h, s)))
    .filter((m) => !knownIds.has(m.id));
  return [...known, ...extra].filter((m) => cells.some((c) => m.pick(c) !== undefined));
}
