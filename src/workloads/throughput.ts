import { readFile } from 'node:fs/promises';
import type { ReceiveWindows, RequestRecord, TransportStats } from '../drivers/types.ts';
import type { ThroughputDetails, ThroughputFlowControl, ThroughputRound } from '../results/details.ts';
import { monoMs } from '../util/clock.ts';
import { goodputBins } from './goodput.ts';
import { CellRecorder, failureKind } from './recorder.ts';
import { registerWorkload } from './registry.ts';
import { bytesPath } from './requests.ts';
import { connectSession } from './session.ts';
import type { Workload, WorkloadContext } from './types.ts';

export interface ThroughputSpec {
  type: 'throughput';
  name: string;
  /** Bytes of each download. */
  size: number;
  /** Downloads at once: streams of one connection (h2, h3), one connection each (h1, as browsers). */
  parallel: number;
  /** Rounds per repetition, each on new connections. */
  rounds: number;
  /** Receive windows the h2 and h3 clients advertise, alike. */
  windows: ReceiveWindows;
}

/** Goodput over time is binned this finely (a 1 Gbit/s download of 25 MB lasts about 200 ms). */
export const THROUGHPUT_BIN_MS = 100;
/** The request that opens every connection of a round before its clock starts. */
const OPEN_PATH = bytesPath(1);

/**
 * Bulk downloads: `parallel` downloads of `size` bytes at once, `rounds` times, each round on new
 * connections so every round starts from the same congestion state. Goodput is the bytes of the
 * round over the time from its requests to its last byte; the connections are opened (one small
 * request each) before that clock starts, so the time is transfer, not handshakes.
 */
export const throughputWorkload: Workload<ThroughputSpec> = {
  type: 'throughput',
  describe:
    'Bulk downloads (one or several at once, on one connection for HTTP/2 and HTTP/3, one connection each for HTTP/1.1): goodput, its course over time, and the time to complete.',
  paths: (spec) => [bytesPath(spec.size), OPEN_PATH],
  async run(ctx) {
    const { spec } = ctx;
    const recorder = new CellRecorder(ctx);
    recorder.start(monoMs());
    const rounds: ThroughputRound[] = [];
    let transport: TransportStats | undefined;
    for (let r = 0; r < spec.rounds && !ctx.signal.aborted; r++) {
      const round = await runRound(ctx, recorder);
      rounds.push(round.figures);
      transport ??= round.transport;
    }
    recorder.finish(monoMs());
    const details: ThroughputDetails = {
      sizeBytes: spec.size,
      parallel: spec.parallel,
      connectionsPerRound: ctx.protocol === 'h1' ? spec.parallel : 1,
      flowControl: await flowControl(ctx),
      rounds,
    };
    return recorder.result({ transport, details: { throughput: details } });
  },
};

async function runRound(ctx: WorkloadContext<ThroughputSpec>, recorder: CellRecorder): Promise<{ figures: ThroughputRound; transport?: TransportStats }> {
  const { spec } = ctx;
  const session = await connectSession(ctx, { maxConnections: spec.parallel, receiveWindows: spec.windows });
  try {
    // h1 opens its pool's connections on demand: open them all before the clock starts.
    const opening = await Promise.all(Array.from({ length: spec.parallel }, () => session.request({ path: OPEN_PATH })));
    for (const r of opening) recorder.request(r, { measured: false, phase: 'open' });
    recorder.sessionConnections(session, 'open');
    const start = monoMs();
    const records = await Promise.all(
      Array.from({ length: spec.parallel }, () => session.request({ path: bytesPath(spec.size), recordProgress: true })),
    );
    const end = Math.max(...records.map((r) => r.done));
    recorder.span(start, end);
    // Chunk arrival times stay here (the goodput bins); raw.jsonl gets the requests without them.
    for (const r of records) recorder.request({ ...r, progress: undefined });
    const figures = roundFigures(records, start, end);
    if (figures.completeMs !== undefined) recorder.recordValue('complete', figures.completeMs);
    return { figures, transport: await session.stats?.() };
  } finally {
    await session.close();
  }
}

/** One round's figures; goodput and time to complete only when every download arrived whole. */
export function roundFigures(records: readonly RequestRecord[], start: number, end: number): ThroughputRound {
  const bytes = records.reduce((sum, r) => sum + r.bytes, 0);
  const failed = records.filter((r) => failureKind(r) !== undefined).length;
  const completeMs = end - start;
  return {
    bytes,
    failed,
    ...(failed === 0 && completeMs > 0 && { completeMs, goodputBps: (bytes * 8 * 1000) / completeMs }),
    goodput: goodputBins(records, start, THROUGHPUT_BIN_MS),
  };
}

/**
 * The receive windows that applied: HTTP/2 and HTTP/3 advertise the workload's; TCP's own receive
 * window (under HTTP/1.1 and HTTP/2) is the kernel's, autotuned up to tcp_rmem's maximum.
 */
async function flowControl(ctx: WorkloadContext<ThroughputSpec>): Promise<ThroughputFlowControl> {
  const http = ctx.protocol === 'h1' ? undefined : { streamBytes: ctx.spec.windows.streamBytes, connectionBytes: ctx.spec.windows.connectionBytes };
  if (ctx.protocol === 'h3') return { http };
  const rmem = await readFile('/proc/sys/net/ipv4/tcp_rmem', 'utf8').catch(() => undefined);
  const max = rmem === undefined ? undefined : Number(rmem.trim().split(/\s+/)[2]);
  return { http, ...(max !== undefined && Number.isFinite(max) && { tcpReceiveMaxBytes: max }) };
}

registerWorkload(throughputWorkload);
