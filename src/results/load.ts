/**
 * Reading the load workload's sweep: which processes bound a step, the latency-versus-throughput
 * curve of one protocol across repetitions (histograms merged by adding counts), and its knee.
 * One definition for the workload that marks steps, the runner's warnings, the report and the
 * metric catalogue.
 */
import { mergeHistograms, type MetricHistogram } from '../metrics/histogram.ts';
import { median } from '../metrics/stats.ts';
import { loadDetails, type LoadDetails, type LoadProcess, type LoadStepDetails } from './details.ts';
import type { Cell } from './model.ts';

/** A process above this share of one core during a cell (or a load step) may be what limits its figures. */
export const CPU_BOUND_SHARE = 0.85;

/**
 * The knee: the last step before the curve breaks, where a step breaks when its p99 exceeds
 * KNEE_P99_FACTOR times the lowest step's p99 or (open loop) it achieves less than
 * KNEE_ACHIEVED_SHARE of the rate offered.
 */
export const KNEE_P99_FACTOR = 3;
export const KNEE_ACHIEVED_SHARE = 0.95;

/**
 * Processes that used more than CPU_BOUND_SHARE of a core over the step's window; a client with
 * several workers (processes, each able to keep a core busy) more than that of each worker's core.
 */
export function boundProcesses(step: Pick<LoadStepDetails, 'windowMs' | 'clientCpuMs' | 'serverCpuMs' | 'linkCpuMs'>, clientWorkers = 1): LoadProcess[] {
  if (step.windowMs <= 0) return [];
  const shares: Array<[LoadProcess, number | undefined, number]> = [
    ['client', step.clientCpuMs, clientWorkers],
    ['server', step.serverCpuMs, 1],
    ['link', step.linkCpuMs, 1],
  ];
  return shares.filter(([, cpu, cores]) => cpu !== undefined && cpu / step.windowMs > CPU_BOUND_SHARE * cores).map(([p]) => p);
}

/**
 * The client's CPU over what was measured: a load cell's steps (their own CPU over their windows,
 * not the set-up and warm-up before them), any other cell's whole CPU over its duration.
 */
export function clientCpuOverMeasurement(cell: Pick<Cell, 'details' | 'clientCpuMs' | 'durationMs'>): { cpuMs: number; windowMs: number } | undefined {
  const steps = loadDetails(cell)?.steps;
  if (steps && steps.length > 0) {
    const windowMs = steps.reduce((t, s) => t + s.windowMs, 0);
    return windowMs > 0 ? { cpuMs: steps.reduce((t, s) => t + s.clientCpuMs, 0), windowMs } : undefined;
  }
  return cell.clientCpuMs !== undefined && cell.durationMs > 0 ? { cpuMs: cell.clientCpuMs, windowMs: cell.durationMs } : undefined;
}

/** The client workers a cell's load ran on (1 for other workloads, and for results from before workers). */
export function clientWorkersOf(cell: Pick<Cell, 'details'>): number {
  return loadDetails(cell)?.clientWorkers ?? 1;
}

/** The latency percentiles a curve point shows. */
export interface LatencyPoint {
  p50: number;
  p90: number;
  p99: number;
  count: number;
}

/** One step of one protocol across repetitions. */
export interface LoadCurvePoint {
  level: number;
  metricPrefix: string;
  repetitions: number;
  /** Median across repetitions. */
  achievedPerSec: number;
  /** From the merged histograms of every repetition (never averaged percentiles); absent when no request succeeded. */
  latency?: LatencyPoint;
  /** Open loop: from each request's actual send. */
  service?: LatencyPoint;
  requests: number;
  failed: number;
  /** Open loop, summed over repetitions. */
  arrivals?: { scheduled: number; late: number; dropped: number; maxLatenessMs: number };
  /** CPU per successful request (total CPU over total answers of the repetitions), ms; absent where not measured. */
  clientCpuPerRequestMs?: number;
  serverCpuPerRequestMs?: number;
  linkCpuPerRequestMs?: number;
  /** IP bytes on the link per successful request; absent where the link counts no bytes. */
  wireBytesPerRequest?: number;
  /** Processes above CPU_BOUND_SHARE in any repetition. */
  machineBound: LoadProcess[];
}

export interface LoadCurve {
  loop: LoadDetails['loop'];
  /** Client workers of the first repetition (every repetition runs the same scenario on the same machine). */
  clientWorkers: number;
  /** h1/h2: the client that sent the requests (the first repetition's; absent for h3 and older results). */
  client?: LoadDetails['client'];
  /** h2: the flow-control windows of the first repetition. */
  flowControl?: LoadDetails['flowControl'];
  lateAfterMs?: number;
  maxInFlight?: number;
  /** In the order the steps ran. */
  points: LoadCurvePoint[];
  /** Index into points of the knee; undefined when even the first step broke, or no step has a p99. */
  knee?: number;
  /** Whether a step past the knee broke (false: the knee is just the last step, the sweep did not reach the break). */
  broke: boolean;
}

/** What a load cell's client was, in words: `lean (HTTP/2 by hand)`, `library (node:http2)`, `library (undici)`. */
export function loadClientText(protocol: string, client: LoadDetails['client']): string | undefined {
  if (client === 'lean') return `lean (bench's HTTP/${protocol === 'h1' ? '1.1' : '2'} client written for load)`;
  if (client === 'library') return protocol === 'h1' ? 'library (undici)' : 'library (node:http2)';
  return undefined;
}

/** The curve of one protocol's cells (successful repetitions of one load workload), or undefined without load details. */
export function loadCurve(cells: readonly Cell[]): LoadCurve | undefined {
  const ok = cells.filter((c) => !c.error && loadDetails(c));
  const details = ok.map((c) => loadDetails(c)!);
  const first = details[0];
  if (!first) return undefined;
  const points = first.steps.map((step, i): LoadCurvePoint => {
    const steps = details.map((d) => d.steps[i]).filter((s): s is LoadStepDetails => s !== undefined);
    const merged = (name: string) => {
      const parts = ok.map((c) => c.metrics[`${step.metricPrefix}.${name}`]).filter((h): h is MetricHistogram => h !== undefined && h.count > 0);
      if (parts.length === 0) return undefined;
      const h = mergeHistograms(...parts);
      return { p50: h.p50, p90: h.p90, p99: h.p99, count: h.count };
    };
    const answered = steps.reduce((n, s) => n + s.ok, 0);
    const perRequest = (pick: (s: LoadStepDetails) => number | undefined) => {
      const values = steps.map(pick);
      if (answered === 0 || values.some((v) => v === undefined)) return undefined;
      return (values as number[]).reduce((a, b) => a + b, 0) / answered;
    };
    const arrivals = steps.every((s) => s.arrivals) ? sumArrivals(steps.map((s) => s.arrivals!)) : undefined;
    return {
      level: step.level,
      metricPrefix: step.metricPrefix,
      repetitions: steps.length,
      achievedPerSec: median(steps.map((s) => s.achievedPerSec)),
      latency: merged('latency'),
      ...(first.loop === 'open' && { service: merged('service') }),
      requests: steps.reduce((n, s) => n + s.requests, 0),
      failed: steps.reduce((n, s) => n + s.failed, 0),
      ...(arrivals && { arrivals }),
      clientCpuPerRequestMs: perRequest((s) => s.clientCpuMs),
      serverCpuPerRequestMs: perRequest((s) => s.serverCpuMs),
      linkCpuPerRequestMs: perRequest((s) => s.linkCpuMs),
      wireBytesPerRequest: perRequest((s) => s.wireBytes),
      machineBound: [...new Set(steps.flatMap((s) => s.machineBound))],
    };
  });
  const { knee, broke } = findKnee(first.loop, points);
  return { loop: first.loop, clientWorkers: first.clientWorkers ?? 1, client: first.client, flowControl: first.flowControl, lateAfterMs: first.lateAfterMs, maxInFlight: first.maxInFlight, points, knee, broke };
}

/** The knee of a sweep (steps in the order they ran, lowest level first as the scenario lists them). */
export function findKnee(
  loop: LoadDetails['loop'],
  points: ReadonlyArray<{ level: number; achievedPerSec: number; latency?: { p99: number } }>,
): { knee?: number; broke: boolean } {
  const baseP99 = points[0]?.latency?.p99;
  if (baseP99 === undefined) return { broke: false };
  const breaks = (p: (typeof points)[number]) =>
    p.latency === undefined || p.latency.p99 > KNEE_P99_FACTOR * baseP99 || (loop === 'open' && p.achievedPerSec < KNEE_ACHIEVED_SHARE * p.level);
  const firstBreak = points.findIndex(breaks);
  if (firstBreak === -1) return { knee: points.length - 1, broke: false };
  return { knee: firstBreak === 0 ? undefined : firstBreak - 1, broke: true };
}

/** The knee step of one cell (one repetition): what the catalogue's headline metrics read. */
export function cellKnee(cell: Cell): { step: LoadStepDetails; latency?: MetricHistogram } | undefined {
  const d = loadDetails(cell);
  if (!d) return undefined;
  const points = d.steps.map((s) => ({ level: s.level, achievedPerSec: s.achievedPerSec, latency: cell.metrics[`${s.metricPrefix}.latency`] }));
  const { knee } = findKnee(d.loop, points);
  if (knee === undefined) return undefined;
  return { step: d.steps[knee]!, latency: points[knee]!.latency };
}

/** An open loop's arrival counts: scheduled, late and dropped added, the worst lateness kept. */
export type ArrivalCounts = NonNullable<LoadStepDetails['arrivals']>;

/** The arrival counts of several steps or client workers as one. */
export function sumArrivals(parts: readonly ArrivalCounts[]): ArrivalCounts {
  return parts.reduce(
    (sum, a) => ({
      scheduled: sum.scheduled + a.scheduled,
      late: sum.late + a.late,
      dropped: sum.dropped + a.dropped,
      maxLatenessMs: Math.max(sum.maxLatenessMs, a.maxLatenessMs),
    }),
    { scheduled: 0, late: 0, dropped: 0, maxLatenessMs: 0 },
  );
}
