import type { ClientSession, ConnectionRecord, RequestRecord, TransportStats } from '../drivers/types.ts';
import { LatencyRecorder, type MetricHistogram } from '../metrics/index.ts';
import type { WorkloadDetails } from '../results/details.ts';
import type { RequestFailureKind } from '../results/model.ts';
import type { WorkloadContext, WorkloadResult } from './types.ts';

/**
 * Collects the requests and connections of one cell, streams them to the runner as they finish,
 * and turns them into the cell's histograms. Shared by every workload so they all measure alike.
 */
export class CellRecorder {
  private readonly histograms = new Map<string, LatencyRecorder>();
  private readonly seenConnections = new Set<string>();
  readonly requests: RequestRecord[] = [];
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
    let h = this.histograms.get(metric);
    if (!h) {
      h = new LatencyRecorder();
      this.histograms.set(metric, h);
    }
    h.record(ms);
  }

  /**
   * A finished request: recorded in latency/ttfb unless it is warm-up. With `dueAt` (an open loop's
   * intended send time) latency counts from then, so time the request waited for the client or a
   * stalled connection counts (coordinated omission corrected), and `service` from its actual send.
   */
  request(record: RequestRecord, opts: { phase?: string; measured?: boolean; dueAt?: number } = {}): void {
    const measured = opts.measured ?? true;
    this.ctx.emit({ type: 'request', phase: opts.phase, ...(opts.dueAt !== undefined && { dueAt: opts.dueAt }), ...stripBody(record) });
    if (!measured) return;
    this.requests.push(record);
    if (record.error) return;
    const prefix = opts.phase ? `${opts.phase}.` : '';
    this.recordValue(`${prefix}latency`, record.done - (opts.dueAt ?? record.queued));
    if (opts.dueAt !== undefined) this.recordValue(`${prefix}service`, record.done - (record.sent ?? record.queued));
    if (record.firstByte !== undefined && record.sent !== undefined) {
      this.recordValue(`${prefix}ttfb`, record.firstByte - record.sent);
    }
  }

  /**
   * Record every connection of a session not seen before. Mid-run (`settledOnly`), one still in its
   * handshake waits for a later call: its record is written once, so it must be complete by then.
   */
  sessionConnections(session: ClientSession, phase?: string, { settledOnly = false } = {}): void {
    for (const c of session.connections) {
      if (settledOnly && c.tlsReady === undefined && c.error === undefined && c.closed === undefined) continue;
      this.connection(c, phase);
    }
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

  result(extra: { transport?: TransportStats; details?: WorkloadDetails } = {}): WorkloadResult {
    const ok = this.requests.filter((r) => failureKind(r) === undefined);
    const failedBy: Partial<Record<RequestFailureKind, number>> = {};
    for (const r of this.requests) {
      const kind = failureKind(r);
      if (kind) failedBy[kind] = (failedBy[kind] ?? 0) + 1;
    }
    const metrics: Record<string, MetricHistogram> = {};
    for (const [name, h] of this.histograms) metrics[name] = h.toMetricHistogram();
    return {
      durationMs: this.spansMs.length > 0 ? this.spansMs.reduce((a, b) => a + b, 0) : this.endedAt - this.startedAt,
      requests: {
        total: this.requests.length,
        ok: ok.length,
        failed: this.requests.length - ok.length,
        bytes: this.requests.reduce((sum, r) => sum + r.bytes, 0),
        failedBy,
      },
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
