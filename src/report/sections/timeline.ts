/**
 * Latency over time from raw.jsonl: one dot per request of one repetition per protocol, placed at
 * the moment it was queued. Stalls, slow starts and head-of-line pauses show as columns of slow
 * requests, which no percentile reveals. Needs raw.jsonl; absent otherwise.
 */
import type { Protocol } from '../../drivers/types.ts';
import type { RawEvent } from '../../results/events.ts';
import { protocolColor } from '../charts.ts';
import type { ReportContext, VegaLiteSpec, WorkloadScope } from '../context.ts';
import { PROTOCOL_NAMES } from '../context.ts';

type RequestEvent = Extract<RawEvent, { type: 'request' }>;

/** Dots per protocol at most; more are thinned evenly (every k-th request), which keeps the shape. */
const MAX_POINTS_PER_PROTOCOL = 2500;

interface TimelineRow {
  protocolName: string;
  startMs: number;
  latencyMs: number;
  path: string;
  status: number | string;
  repetition: number;
  connection: string;
}

export function renderTimeline(ctx: ReportContext, scope: WorkloadScope): string | undefined {
  if (!ctx.raw || ctx.raw.length === 0) return undefined;
  const rows: TimelineRow[] = [];
  const chosen: string[] = [];
  for (const protocol of scope.protocols) {
    const repetition = representativeRepetition(scope, protocol);
    if (repetition === undefined) continue;
    const events = ctx.raw.filter(
      (e): e is RequestEvent =>
        e.type === 'request' &&
        e.network === scope.network.label &&
        e.workload === scope.workload &&
        e.protocol === protocol &&
        e.repetition === repetition &&
        e.phase !== 'warmup',
    );
    if (events.length === 0) continue;
    const start = cellStart(ctx.raw, scope, protocol, repetition) ?? Math.min(...events.map((e) => e.queued));
    const step = Math.max(1, Math.ceil(events.length / MAX_POINTS_PER_PROTOCOL));
    chosen.push(`${PROTOCOL_NAMES[protocol]} repetition ${repetition + 1} (${events.length} requests${step > 1 ? `, every ${step}th shown` : ''})`);
    events.forEach((e, i) => {
      if (i % step !== 0) return;
      rows.push({
        protocolName: PROTOCOL_NAMES[protocol],
        startMs: e.queued - start,
        latencyMs: e.done - e.queued,
        path: e.path,
        status: e.error ? `error: ${e.error}` : (e.status ?? '\u2014'),
        repetition: repetition + 1,
        connection: e.connectionId ?? '\u2014',
      });
    });
  }
  if (rows.length === 0) return undefined;
  const protocols = scope.protocols.filter((p) => rows.some((r) => r.protocolName === PROTOCOL_NAMES[p]));
  return ctx.chart(timelineChart(rows, protocols), {
    title: 'Request latency over time (one repetition per protocol)',
    caption:
      'Each dot is a request, placed when it was queued; vertical bands of slow requests are stalls. The repetition shown is the one with the median p50. Click a protocol in the legend to show it alone.',
    source: `raw.jsonl request events, ${chosen.join('; ')}; ${ctx.provenance(scope)}`,
  });
}

/** The repetition whose latency p50 is the median of the protocol's repetitions. */
function representativeRepetition(scope: WorkloadScope, protocol: Protocol): number | undefined {
  const cells = scope.cells
    .filter((c) => c.protocol === protocol && !c.error)
    .sort((a, b) => (a.metrics.latency?.p50 ?? 0) - (b.metrics.latency?.p50 ?? 0));
  return cells[Math.floor((cells.length - 1) / 2)]?.repetition;
}

function cellStart(raw: readonly RawEvent[], scope: WorkloadScope, protocol: Protocol, repetition: number): number | undefined {
  const e = raw.find(
    (x) =>
      x.type === 'cell-start' &&
      x.network === scope.network.label &&
      x.workload === scope.workload &&
      x.protocol === protocol &&
      x.repetition === repetition,
  );
  return e?.type === 'cell-start' ? e.t : undefined;
}

function timelineChart(rows: TimelineRow[], protocols: Protocol[]): VegaLiteSpec {
  return {
    width: 'container',
    height: 260,
    data: { values: rows },
    mark: { type: 'point', filled: true, size: 14 },
    // Click a protocol in the legend to see it alone.
    params: [{ name: 'shown', select: { type: 'point', fields: ['protocolName'] }, bind: 'legend' }],
    encoding: {
      opacity: { condition: { param: 'shown', value: 0.6 }, value: 0.04 },
      x: { field: 'startMs', type: 'quantitative', title: 'Queued at (ms since the repetition started)' },
      y: { field: 'latencyMs', type: 'quantitative', title: 'Latency (ms)' },
      color: protocolColor(protocols),
      tooltip: [
        { field: 'protocolName', title: 'protocol' },
        { field: 'repetition', title: 'repetition' },
        { field: 'startMs', title: 'queued at (ms)', format: ',.1f' },
        { field: 'latencyMs', title: 'latency (ms)', format: ',.3~f' },
        { field: 'path', title: 'path' },
        { field: 'status', title: 'status' },
        { field: 'connection', title: 'connection' },
      ],
    },
  };
}
