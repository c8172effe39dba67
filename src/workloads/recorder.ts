import type { ClientSession, ConnectionRecord, RequestRecord, TransportStats } from '../drivers/types.ts';
import { LatencyRecorder, type MetricHistogram } from '../metrics/index.ts';
import type { WorkloadDetails } from '../results/details.ts';
import type { RequestCounts, RequestFailureKind } from '../results/model.ts';
import type { WorkloadEvent } from '../results/events.ts';
import type { WorkloadContext, WorkloadResult } from './types.ts';

type RequestEvent = Extract<WorkloadEvent, { type: 'request' }>;

/** A phase's request distributions, looked up by name once per phase rather than once per request. */
interface PhaseDistributions {
  prefix: string;
  latency?: LatencyRecorder;
  service?: LatencyRecorder;
  ttfb?: LatencyRecorder;
}

/**
 * Collects the requests and connections of one cell, streams them to the runner as they finish,
 * and turns them into the cell's histograms. Shared by every workload so they all measure alike.
 * Requests are counted as they come, not kept: a load sweep's records would otherwise pile up in
 * the heap for the whole cell, and every garbage collection would walk them again.
 */
export class CellRecorder {
  private readonly histograms = new Map<string, LatencyRecorder>();
  private readonly byPhase = new Map<string | undefined, PhaseDistributions>();
  private readonly seenConnections = new Set<string>();
  /** Per session, how many of its connections (from the first) are recorded: those need no second look. */
  private readonly recordedPrefix = new WeakMap<ClientSession, number>();
  private readonly counts: Required<RequestCounts> = { total: 0, ok: 0, failed: 0, bytes: 0, failedBy: {} };
  readonly connections: ConnectionRecord[] = [];
  private startedAt = 0;
  private endedAt = 0;
  /** Measured spans (ms) when a workload measures in rounds; their sum is the cell's duration. */
  private spansMs: number[] = [];

  constructor(private readonly ctx: Pick<WorkloadContext, 'emit'>) {}

  start(t: number): void {
    this.startedAt = t;
  }

  finish(t: number): void {
    this.endedAt = t;
  }

  /**
   * A measured stretch of a workload that works in rounds: only these count toward the duration
   * (requests/s, goodput), not the connection set-up and statistics gathering between rounds.
   */
  span(from: number, to: number): void {
    this.spansMs.push(to - from);
  }

  /** Record a value (ms) in a named distribution, e.g. "latency" or "handshake.cold". */
  recordValue(metric: string, ms: number): void {
    this.distribution(metric).record(ms);
  }

  private distribution(metric: string): LatencyRecorder {
    let h = this.histograms.get(metric);
    if (!h) {
      h = new LatencyRecorder();
      this.histograms.set(metric, h);
    }
    return h;
  }

  private phaseDistributions(phase: string | undefined): PhaseDistributions {
    let d = this.byPhase.get(phase);
    if (!d) {
      d = { prefix: phase ? `${phase}.` : '' };
      this.byPhase.set(phase, d);
    }
    return d;
  }

  /**
   * A finished request: recorded in latency/ttfb unless it is warm-up. With `dueAt` (an open loop's
   * intended send time) latency counts from then, so time the request waited for the client or a
   * stalled connection counts (coordinated omission corrected), and `service` from its actual send.
   */
  request(record: RequestRecord, opts: { phase?: string; measured?: boolean; dueAt?: number } = {}): void {
    const measured = opts.measured ?? true;
    const event: RequestEvent = { type: 'request', phase: opts.phase, ...stripBody(record) };
    if (opts.dueAt !== undefined) event.dueAt = opts.dueAt;
    this.ctx.emit(event);
    if (!measured) return;
    const counts = this.counts;
    counts.total++;
    counts.bytes += record.bytes;
    const failure = failureKind(record);
    if (failure === undefined) counts.ok++;
    else {
      counts.failed++;
      counts.failedBy[failure] = (counts.failedBy[failure] ?? 0) + 1;
    }
    if (record.error) return;
    const d = this.phaseDistributions(opts.phase);
    (d.latency ??= this.distribution(`${d.prefix}latency`)).record(record.done - (opts.dueAt ?? record.queued));
    if (opts.dueAt !== undefined) (d.service ??= this.distribution(`${d.prefix}service`)).record(record.done - (record.sent ?? record.queued));
    if (record.firstByte !== undefined && record.sent !== undefined) {
      (d.ttfb ??= this.distribution(`${d.prefix}ttfb`)).record(record.firstByte - record.sent);
    }
  }

  /**
   * Record every connection of a session not seen before. Mid-run (`settledOnly`), one still in its
   * handshake waits for a later call: its record is written once, so it must be complete by then.
   */
  sessionConnections(session: ClientSession, phase?: string, { settledOnly = false } = {}): void {
    const all = session.connections;
    let prefix = this.recordedPrefix.get(session) ?? 0;
    // Called after every request: a session whose connections are all recorded costs one lookup.
    if (prefix === all.length) return;
    for (let i = prefix; i < all.length; i++) {
      const c = all[i]!;
      if (settledOnly && c.tlsReady === undefined && c.error === undefined && c.closed === undefined) continue;
      this.connection(c, phase);
      if (i === prefix) prefix++;
    }
    this.recordedPrefix.set(session, prefix);
  }

  connection(record: ConnectionRecord, phase?: string): void {
    if (this.seenConnections.has(record.id)) return;
    this.seenConnections.add(record.id);
    this.connections.push(record);
    this.ctx.emit({ type: 'connection', phase, ...record });
    const prefix = phase ? `${phase}.` : '';
    if (record.transportReady !== undefined) this.recordValue(`${prefix}connect`, record.transportReady - record.start);
    if (record.tlsReady !== undefined) this.recordValue(`${prefix}tls`, record.tlsReady - record.start);
  }

  /** The measured requests so far. */
  get requestCounts(): Readonly<Required<RequestCounts>> {
    return this.counts;
  }

  result(extra: { transport?: TransportStats; details?: WorkloadDetails } = {}): WorkloadResult {
    const metrics: Record<string, MetricHistogram> = {};
    for (const [name, h] of this.histograms) metrics[name] = h.toMetricHistogram();
    const { failedBy, ...counts } = this.counts;
    return {
      durationMs: this.spansMs.length > 0 ? this.spansMs.reduce((a, b) => a + b, 0) : this.endedAt - this.startedAt,
      requests: { ...counts, failedBy: { ...failedBy } },
      connections: {
        opened: this.connections.length,
        resumed: this.connections.filter((c) => c.resumed).length,
        earlyData: this.connections.filter((c) => c.earlyData === true).length,
      },
      metrics,
      ...extra,
    };
  }
}

/** Why a request failed, or undefined when it succeeded (no error and a status below 400). */
export function failureKind(record: RequestRecord): RequestFailureKind | undefined {
  if (record.timedOut) return 'timeout';
  if (record.error || record.status === undefined) return 'error';
  return record.status >= 400 ? 'status' : undefined;
}

function stripBody(record: RequestRecord): RequestRecord {
  if (!record.body && !record.responseHeaders) return record;
  const { body: _body, responseHeaders: _headers, ...rest } = record;
  return rest;
}
