import type { DirectionCounters, LinkCounters, LinkProcessLoad } from '../../netem/types.ts';
import { baseRttMs, type NetworkSpec } from '../../netem/model.ts';
import { bootstrapCI95, mean, median } from '../metrics/stats.ts';
import { metricsWithValues } from '../results/catalogue.ts';
import { loadDetails } from '../results/details.ts';
import { clientCpuOverMeasurement, clientWorkersOf, CPU_BOUND_SHARE } from '../results/load.ts';
import type { Cell, RunResult, Summary, Warning } from '../results/model.ts';
import type { WorkloadResult } from '../workloads/types.ts';
import type { QuicSenderStats } from '../quic/stats.ts';
import type { PlannedCell } from './plan.ts';

export function cellFromResult(input: {
  planned: PlannedCell;
  workloadType: string;
  outcome: { result: WorkloadResult } | { error: string };
  serverCpuMs?: number;
  clientCpuMs?: number;
  serverQuic?: QuicSenderStats[];
  countersBefore?: LinkCounters;
  countersAfter?: LinkCounters;
  linkProcess?: LinkProcessLoad;
  wallMs: number;
}): Cell {
  const { planned } = input;
  const base = {
    network: planned.network,
    protocol: planned.protocol,
    workload: planned.workload,
    workloadType: input.workloadType,
    repetition: planned.repetition,
    order: planned.order,
    serverCpuMs: input.serverCpuMs,
    clientCpuMs: input.clientCpuMs,
    ...(input.serverQuic && input.serverQuic.length > 0 && { serverQuic: input.serverQuic }),
    link: diffCounters(input.countersBefore, input.countersAfter),
    ...(input.linkProcess && { linkProcess: input.linkProcess }),
  };
  if ('error' in input.outcome) {
    return {
      ...base,
      durationMs: input.wallMs,
      requests: { total: 0, ok: 0, failed: 0, bytes: 0 },
      requestsPerSec: 0,
      goodputBps: 0,
      connections: { opened: 0, resumed: 0, earlyData: 0 },
      metrics: {},
      error: input.outcome.error,
    };
  }
  const r = input.outcome.result;
  const seconds = r.durationMs / 1000;
  return {
    ...base,
    durationMs: r.durationMs,
    requests: r.requests,
    requestsPerSec: seconds > 0 ? r.requests.ok / seconds : 0,
    goodputBps: seconds > 0 ? (r.requests.bytes * 8) / seconds : 0,
    connections: r.connections,
    metrics: r.metrics,
    transport: r.transport,
    details: r.details,
  };
}

function diffCounters(before?: LinkCounters, after?: LinkCounters): LinkCounters | undefined {
  if (!after || Object.keys(after).length === 0) return undefined;
  const out: LinkCounters = {};
  for (const [path, dirs] of Object.entries(after)) {
    const prev = before?.[path];
    out[path] = { up: diffDirection(dirs.up, prev?.up), down: diffDirection(dirs.down, prev?.down) };
  }
  return out;
}

function diffDirection(after: DirectionCounters, before?: DirectionCounters): DirectionCounters {
  if (!before) return after;
  return {
    ...after,
    packetsIn: after.packetsIn - before.packetsIn,
    packetsOut: after.packetsOut - before.packetsOut,
    dropped: after.dropped - before.dropped,
    duplicated: after.duplicated - before.duplicated,
    reordered: after.reordered - before.reordered,
    corrupted: after.corrupted - before.corrupted,
    ...(after.bytesIn !== undefined && before.bytesIn !== undefined && { bytesIn: after.bytesIn - before.bytesIn }),
    ...(after.bytesOut !== undefined && before.bytesOut !== undefined && { bytesOut: after.bytesOut - before.bytesOut }),
  };
}

/** Every catalogue metric with a value, across repetitions, per (network, protocol, workload). */
export function summariseCells(cells: Cell[]): Summary[] {
  const groups = new Map<string, Cell[]>();
  for (const cell of cells) {
    if (cell.error) continue;
    const key = JSON.stringify([cell.network, cell.protocol, cell.workload]);
    groups.set(key, [...(groups.get(key) ?? []), cell]);
  }
  const summaries: Summary[] = [];
  for (const group of groups.values()) {
    const { network, protocol, workload, workloadType } = group[0]!;
    for (const metric of metricsWithValues(workloadType, group)) {
      const values = group.map(metric.pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
      if (values.length === 0) continue;
      summaries.push({ network, protocol, workload, metric: metric.id, unit: metric.unit, values, ...medianInterval(values) });
    }
  }
  return summaries;
}

/** Fewest repetitions for which a bootstrap interval of the median is reported (else the range). */
export const MIN_REPETITIONS_FOR_CI = 5;

/**
 * The headline figure is the median across repetitions; its interval is a percentile bootstrap of
 * the median (seeded, so reports are reproducible) once there are enough repetitions, and the plain
 * min..max range below that: a t interval of the mean beside a median would describe another number.
 */
export function medianInterval(values: number[]): Pick<Summary, 'median' | 'mean' | 'ci95' | 'ciMethod'> {
  const m = median(values);
  if (values.length === 1) return { median: m, mean: m, ci95: [m, m], ciMethod: 'none' };
  if (values.length < MIN_REPETITIONS_FOR_CI) {
    return { median: m, mean: mean(values), ci95: [Math.min(...values), Math.max(...values)], ciMethod: 'range' };
  }
  return { median: m, mean: mean(values), ci95: bootstrapCI95(values, median, { seed: 1, resamples: 2000 }), ciMethod: 'bootstrap' };
}

/** Reasons a number in this run may not mean what it seems to. */
export function validityWarnings(result: RunResult): Warning[] {
  const warnings: Warning[] = [];
  for (const cell of result.cells) {
    const where = { network: cell.network, protocol: cell.protocol, workload: cell.workload };
    const rep = `repetition ${cell.repetition + 1}`;
    if (cell.error) {
      warnings.push({ level: 'error', code: 'CELL_FAILED', message: `${rep} failed: ${cell.error}`, ...where });
      continue;
    }
    if (cell.requests.failed > 0) {
      warnings.push({
        level: 'warn',
        code: 'REQUESTS_FAILED',
        message: `${cell.requests.failed} of ${cell.requests.total} requests failed in ${rep}${failureKinds(cell.requests.failedBy)}`,
        ...where,
      });
    }
    const latency = cell.metrics.latency;
    if (latency && latency.count < 100) {
      warnings.push({
        level: 'info',
        code: 'FEW_SAMPLES',
        message: `only ${latency.count} latency samples in ${rep}: p99 and p99.9 are the largest values, not estimates`,
        ...where,
      });
    }
    // A client with several worker processes can keep as many cores busy.
    const clientWorkers = clientWorkersOf(cell);
    const client = clientCpuOverMeasurement(cell);
    if (client && client.cpuMs / client.windowMs > CPU_BOUND_SHARE * clientWorkers) {
      const workers = clientWorkers > 1 ? ` (${clientWorkers} workers)` : '';
      warnings.push({
        level: 'warn',
        code: 'CLIENT_CPU_SATURATED',
        message: `the client process${workers} used ${((100 * client.cpuMs) / client.windowMs).toFixed(0)}% of a core in ${rep}: latency includes client CPU queueing, so this figure may be the client's rather than the protocol's`,
        ...where,
      });
    }
    const inflated = stackRttInflation(cell, result.networks.find((n) => n.label === cell.network)?.spec);
    if (inflated) {
      warnings.push({
        level: 'warn',
        code: 'STACK_RTT_INFLATED',
        message: `the HTTP/3 server's own RTT estimate (median ${inflated.srttMs.toFixed(0)} ms over ${inflated.connections} connections) was ${(100 * (inflated.srttMs / inflated.pathRttMs - 1)).toFixed(0)}% above the path's ${inflated.pathRttMs.toFixed(0)} ms in ${rep} while the link queued nothing (no rate limit, no jitter): time spent in the QUIC stack, so this HTTP/3 figure may be the stack's rather than the protocol's`,
        ...where,
      });
    }
    warnings.push(...loadStepWarnings(cell).map((w) => ({ ...w, ...where })));
    const link = cell.linkProcess;
    if (link && cell.durationMs > 0 && (link.cpuMs / cell.durationMs > CPU_BOUND_SHARE || link.latenessP99Ms > LINK_LATENESS_BOUND_MS)) {
      warnings.push({
        level: 'warn',
        code: 'LINK_SATURATED',
        message: `the userspace link process used ${((100 * link.cpuMs) / cell.durationMs).toFixed(0)}% of a core and sent packets ${link.latenessP99Ms.toFixed(2)} ms late (p99) in ${rep}: the emulator, not the network model or the protocol, may limit this figure`,
        ...where,
      });
    }
    const release = quicReleaseLateness(cell, result.networks.find((n) => n.label === cell.network)?.spec);
    if (release) {
      warnings.push({
        level: 'warn',
        code: 'QUIC_SENDER_LATE',
        message: `the HTTP/3 server released its paced packets ${release.meanMs.toFixed(1)} ms late on average (${(100 * release.lateShare).toFixed(0)}% more than 1 ms late) in ${rep}, more than ${release.boundMs.toFixed(1)} ms: its send loop was held up (its own CPU or the machine's load), so this HTTP/3 figure may be the machine's rather than the protocol's`,
        ...where,
      });
    }
    if (cell.serverCpuMs !== undefined && cell.durationMs > 0 && cell.serverCpuMs / cell.durationMs > CPU_BOUND_SHARE) {
      warnings.push({
        level: 'warn',
        code: 'SERVER_CPU_SATURATED',
        message: `the server process used ${((100 * cell.serverCpuMs) / cell.durationMs).toFixed(0)}% of a core in ${rep}: the server, not the network or the protocol, may limit this figure`,
        ...where,
      });
    }
  }
  const reps = new Set(result.cells.map((c) => c.repetition)).size;
  if (result.cells.length > 0 && reps < MIN_REPETITIONS_FOR_CI) {
    warnings.push({
      level: 'info',
      code: 'FEW_REPETITIONS',
      message: `${reps} repetition(s): figures show the range across repetitions; ${MIN_REPETITIONS_FOR_CI} or more give a 95% confidence interval of the median`,
    });
  }
  if (result.run.serverDelayMs) {
    warnings.push({
      level: 'warn',
      code: 'SERVER_DELAY_INJECTED',
      message: `the built-in servers waited ${result.run.serverDelayMs} ms before every response (--server-delay): an injected regression, not the servers' own speed`,
    });
  }
  const fidelity = result.environment.emulator.fidelity;
  if (fidelity) {
    for (const [check, ok] of Object.entries(fidelity.pass)) {
      if (!ok) warnings.push({ level: 'warn', code: 'EMULATOR_FIDELITY', message: `emulator fidelity check failed: ${check}` });
    }
  }
  return warnings;
}

/** Late arrivals above this share of a step's schedule: the client, not the server, delayed a noticeable part of the sends. */
const LATE_ARRIVALS_SHARE = 0.01;

/** A load sweep's steps that measured the machine rather than the protocol: a process near a full core, a client behind its schedule. */
function loadStepWarnings(cell: Cell): Array<Pick<Warning, 'level' | 'code' | 'message'>> {
  const d = loadDetails(cell);
  if (!d) return [];
  const rep = `repetition ${cell.repetition + 1}`;
  const unit = d.loop === 'open' ? 'requests/s' : 'requesters';
  const workers = d.clientWorkers ?? 1;
  return d.steps.flatMap((step) => {
    const out: Array<Pick<Warning, 'level' | 'code' | 'message'>> = [];
    const at = `the step at ${step.level} ${unit} in ${rep}`;
    if (step.machineBound.length > 0) {
      const shares = step.machineBound.map((p) => {
        const cpu = p === 'client' ? step.clientCpuMs : p === 'server' ? step.serverCpuMs : step.linkCpuMs;
        return `${p} ${((100 * (cpu ?? 0)) / step.windowMs).toFixed(0)}%`;
      });
      out.push({
        level: 'warn',
        code: 'LOAD_STEP_MACHINE_BOUND',
        message: `${at} is machine-bound, not protocol-bound: ${shares.join(', ')} of a core (above ${CPU_BOUND_SHARE * 100}%${workers > 1 ? `; the client's ${workers} workers: above ${CPU_BOUND_SHARE * 100 * workers}%` : ''})`,
      });
    }
    const a = step.arrivals;
    if (a && (a.dropped > 0 || a.late > LATE_ARRIVALS_SHARE * a.scheduled)) {
      out.push({
        level: 'warn',
        code: 'LOAD_CLIENT_BEHIND',
        message: `the client could not keep up with ${at}: ${a.late} of ${a.scheduled} arrivals sent more than ${d.lateAfterMs} ms late (at most ${a.maxLatenessMs.toFixed(1)} ms), ${a.dropped} dropped with ${d.maxInFlight} outstanding; latency counts from the intended times, so the client's delay is in it`,
      });
    }
    return out;
  });
}

/**
 * bench's HTTP/3 server releasing its paced packets late on average by more than this share of the
 * path's base RTT (at least 1 ms) delays its own RTT samples and its sending by as much: the figure
 * is then the machine's. Shorter delays are common on a busy machine and leave goodput near the link's rate.
 */
const QUIC_LATE_RTT_SHARE = 0.25;

/** How late bench's HTTP/3 server released its paced packets in a cell, when beyond the bound; undefined otherwise. */
export function quicReleaseLateness(cell: Cell, spec: NetworkSpec | undefined): { lateShare: number; meanMs: number; boundMs: number } | undefined {
  const stats = cell.serverQuic ?? [];
  const queued = stats.reduce((a, s) => a + s.pacing.queued, 0);
  if (queued === 0) return undefined;
  const path = spec?.kind === 'shaped' ? spec.paths[0] : undefined;
  const boundMs = Math.max(1, QUIC_LATE_RTT_SHARE * (path ? baseRttMs(path) : 0));
  const meanMs = stats.reduce((a, s) => a + s.pacing.lateSumMs, 0) / queued;
  if (meanMs <= boundMs) return undefined;
  return { lateShare: stats.reduce((a, s) => a + s.pacing.lateOver1Ms, 0) / queued, meanMs, boundMs };
}

/** The link's fidelity check allows a scheduling lateness p99 below 1 ms (netem/fidelity.ts). */
const LINK_LATENESS_BOUND_MS = 1;

/** Above this ratio of the path RTT, a QUIC sender's smoothed RTT counts as inflated by the stack. */
const STACK_RTT_TOLERANCE = 1.1;

/**
 * When the link cannot queue (no rate limit, no jitter on the first path), every RTT sample
 * above the path's RTT is time spent in the endpoints. Returns the figures when the HTTP/3
 * server's median smoothed RTT exceeds the path RTT by more than 10%.
 */
export function stackRttInflation(cell: Cell, spec: NetworkSpec | undefined): { srttMs: number; pathRttMs: number; connections: number } | undefined {
  if (!spec || spec.kind !== 'shaped' || !cell.serverQuic) return undefined;
  const path = spec.paths[0];
  if (!path || spec.phases.length > 0) return undefined;
  const queueFree = [path.up, path.down].every((d) => d.rateBps === undefined && d.jitterMs === 0 && !d.rateTrace);
  const srtts = cell.serverQuic.map((c) => c.srttMs).filter((v): v is number => v !== undefined);
  if (!queueFree || srtts.length === 0) return undefined;
  const pathRttMs = baseRttMs(path);
  const srttMs = median(srtts);
  return pathRttMs > 0 && srttMs > STACK_RTT_TOLERANCE * pathRttMs ? { srttMs, pathRttMs, connections: srtts.length } : undefined;
}

/** ` (timeout 3, status 1)`: the kinds of a cell's failed requests, when the result has them. */
function failureKinds(failedBy: Cell['requests']['failedBy']): string {
  const parts = Object.entries(failedBy ?? {})
    .filter(([, n]) => n! > 0)
    .map(([kind, n]) => `${kind} ${n}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}
