/**
 * A load workload spread over several client workers: how its connections, requesters, arrivals
 * and in-flight limit are split into shares, and how the shares' figures are put back together.
 * Histograms are merged by adding their counts (HdrHistogram add), so the merged percentiles are
 * those of every share's samples together, never an average of the shares' percentiles; counters
 * are summed. Pure: no processes, sockets or clocks.
 */
import type { TransportStats } from '../drivers/types.ts';
import type { LoadFlowControl } from '../results/details.ts';
import { mergeHistograms, type MetricHistogram } from '../metrics/histogram.ts';
import { sumArrivals } from '../results/load.ts';
import type { RequestCounts, RequestFailureKind } from '../results/model.ts';
import type { LoadSpec } from './load.ts';
import type { ArrivalOutcome } from './pool.ts';
import type { WorkloadResult } from './types.ts';

/** One share of a load workload: what one client worker runs. */
export interface ShareSpec {
  /** This share's position and the number of shares: open-loop arrival i is this share's when i % shares === index. */
  index: number;
  shares: number;
  spec: LoadSpec;
  /** Sessions of this share (h1: pools of `spec.h1PoolSize`). */
  connections: number;
  /** Open loop: this share's part of `spec.maxInFlight`. */
  maxInFlight?: number;
}

/** What a share is told to run for one step. */
export interface StepOrder {
  /** The step's level: the whole schedule's rate (open loop) or all requesters (closed loop). */
  level: number;
  /** Closed loop: this share's requesters. */
  concurrency?: number;
  /** When the step starts, monoMs: the same instant for every share, so one schedule, one window. */
  startAt: number;
}

/** One share's tally of one step (plain numbers only: it crosses process boundaries as JSON). */
export interface ShareStep {
  requests: number;
  ok: number;
  /** done of the first and last successful answer; absent without one. */
  firstAnswer?: number;
  lastAnswer?: number;
  /** done of the last answer of any kind; absent without one. */
  lastDone?: number;
  arrivals?: ArrivalOutcome;
  /** CPU of the worker process that ran the share, over the step; absent when it ran in the client process itself. */
  cpuMs?: number;
}

/** One share's figures for the whole cell. */
export interface ShareResult {
  requests: Required<RequestCounts>;
  connections: WorkloadResult['connections'];
  metrics: Record<string, MetricHistogram>;
  transport?: TransportStats;
  /** h2: the flow-control windows of the share's first connection. */
  flowControl?: LoadFlowControl;
  /** CPU of the worker process over its whole life (start-up included); absent for a share in the client process. */
  cpuMs?: number;
}

/** `total` in `parts` whole parts as even as can be, the larger ones first (10 in 3: 4, 3, 3). */
export function splitEvenly(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}

/** The workload in `workers` shares: connections (and, open loop, the in-flight limit) split evenly. */
export function splitLoad(spec: LoadSpec, workers: number): ShareSpec[] {
  const connections = splitEvenly(spec.connections, workers);
  const maxInFlight = spec.loop === 'open' ? splitEvenly(spec.maxInFlight, workers) : undefined;
  return connections.map((c, index) => ({ index, shares: workers, spec, connections: c, ...(maxInFlight && { maxInFlight: maxInFlight[index] }) }));
}

/**
 * Each share's order for one step. Closed loop: the requesters split evenly. Open loop: every share
 * gets the whole schedule's rate and takes every `shares`-th arrival of it from the same start, so
 * the arrivals together are exactly the one schedule (arrival i due at startAt + i/rate).
 */
export function stepOrders(spec: LoadSpec, level: number, startAt: number, shares: number): StepOrder[] {
  if (spec.loop === 'open') return Array.from({ length: shares }, () => ({ level, startAt }));
  return splitEvenly(level, shares).map((concurrency) => ({ level, concurrency, startAt }));
}

/** Sum of the defined values; undefined when there are none. */
function sumOf(values: ReadonlyArray<number | undefined>): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length === 0 ? undefined : defined.reduce((a, b) => a + b, 0);
}

function extreme(pick: (values: number[]) => number, values: ReadonlyArray<number | undefined>): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length === 0 ? undefined : pick(defined);
}

/** A step's shares as one tally: what a single client would have counted; the workers' CPU summed. */
export function mergeSteps(parts: readonly ShareStep[]): ShareStep {
  const withArrivals = parts.filter((p) => p.arrivals);
  const arrivals = withArrivals.length === 0 ? undefined : sumArrivals(withArrivals.map((p) => p.arrivals!));
  const merged: ShareStep = {
    requests: parts.reduce((n, p) => n + p.requests, 0),
    ok: parts.reduce((n, p) => n + p.ok, 0),
  };
  const firstAnswer = extreme((v) => Math.min(...v), parts.map((p) => p.firstAnswer));
  const lastAnswer = extreme((v) => Math.max(...v), parts.map((p) => p.lastAnswer));
  const lastDone = extreme((v) => Math.max(...v), parts.map((p) => p.lastDone));
  const cpuMs = sumOf(parts.map((p) => p.cpuMs));
  if (firstAnswer !== undefined) merged.firstAnswer = firstAnswer;
  if (lastAnswer !== undefined) merged.lastAnswer = lastAnswer;
  if (lastDone !== undefined) merged.lastDone = lastDone;
  if (arrivals) merged.arrivals = arrivals;
  if (cpuMs !== undefined) merged.cpuMs = cpuMs;
  return merged;
}

/** The shares' figures as one cell's: counts and workers' CPU summed, each distribution's histograms added; transport statistics from the first share. */
export function mergeShareResults(parts: readonly ShareResult[]): ShareResult {
  const requests: Required<RequestCounts> = { total: 0, ok: 0, failed: 0, bytes: 0, failedBy: {} };
  const connections = { opened: 0, resumed: 0, earlyData: 0 };
  const histograms = new Map<string, MetricHistogram[]>();
  for (const part of parts) {
    requests.total += part.requests.total;
    requests.ok += part.requests.ok;
    requests.failed += part.requests.failed;
    requests.bytes += part.requests.bytes;
    for (const [kind, n] of Object.entries(part.requests.failedBy) as Array<[RequestFailureKind, number]>) {
      requests.failedBy[kind] = (requests.failedBy[kind] ?? 0) + n;
    }
    connections.opened += part.connections.opened;
    connections.resumed += part.connections.resumed;
    connections.earlyData += part.connections.earlyData;
    for (const [name, h] of Object.entries(part.metrics)) histograms.set(name, [...(histograms.get(name) ?? []), h]);
  }
  const metrics = Object.fromEntries([...histograms].map(([name, hs]) => [name, mergeHistograms(...hs)]));
  const transport = parts[0]?.transport;
  const flowControl = parts[0]?.flowControl;
  const cpuMs = sumOf(parts.map((p) => p.cpuMs));
  return { requests, connections, metrics, ...(transport && { transport }), ...(flowControl && { flowControl }), ...(cpuMs !== undefined && { cpuMs }) };
}
