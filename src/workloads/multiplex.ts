import type { ClientSession, RequestRecord, TransportStats } from '../drivers/types.ts';
import type { DropEvent } from '../../netem/types.ts';
import { median } from '../metrics/stats.ts';
import { monoMs } from '../util/clock.ts';
import { analyseHeadOfLine, connectionEndpoints, dropsForEndpoints, type ClientEndpoint, type LossEventStall } from './hol-analysis.ts';
import { packetsPerRoundTrip } from './flights.ts';
import { CellRecorder } from './recorder.ts';
import { registerWorkload } from './registry.ts';
import { bytesPath, openSessions } from './requests.ts';
import { readTcpInfo } from './tcp-info.ts';
import type { Workload, WorkloadContext } from './types.ts';

export interface MultiplexSpec {
  type: 'multiplex';
  name: string;
  /** Concurrent requests per round. */
  requests: number;
  /** Response sizes in bytes, cycled over the requests. */
  sizes: number[];
  rounds: number;
  /** Also run the same rounds with the loss removed, to measure each request's excess latency. */
  reference: boolean;
  h1PoolSize: number;
}

interface RoundResult {
  records: RequestRecord[];
  transport: TransportStats[];
  drops: DropEvent[];
  /** The link's deliveries to the client since the round started (absent without a delivery log, and in reference rounds). */
  deliveries?: Record<number, number[]>;
  /** The round's connections where they meet the link (path and client port). */
  endpoints: ClientEndpoint[];
  portByConnection: Map<string, number>;
}

/**
 * Head-of-line blocking: one connection (h2, h3) or a pool of up to 6 (h1) carrying N concurrent
 * requests at once, R times, under the scenario's loss; each request's latency is compared with the
 * same request on the same link without loss, and every loss event is joined with the streams it stalled.
 */
export const multiplexWorkload: Workload<MultiplexSpec> = {
  type: 'multiplex',
  describe:
    'N concurrent requests on one connection (a pool of 6 for HTTP/1.1) under loss: how many streams one lost packet stalls, and for how long.',
  paths: (spec) => spec.sizes.map(bytesPath),
  async run(ctx) {
    const { spec } = ctx;
    const recorder = new CellRecorder(ctx);
    recorder.start(monoMs());

    let reference: Map<number, number> | undefined;
    if (spec.reference) {
      await ctx.link.applyPhase({ up: { loss: { model: 'none' } }, down: { loss: { model: 'none' } } });
      try {
        const rounds: RoundResult[] = [];
        for (let r = 0; r < spec.rounds && !ctx.signal.aborted; r++) rounds.push(await runRound(ctx, recorder, 'reference'));
        reference = medianLatencyByIndex(rounds);
      } finally {
        await ctx.link.restore();
      }
    }

    const measuredStart = monoMs();
    recorder.start(measuredStart);
    const rounds: RoundResult[] = [];
    for (let r = 0; r < spec.rounds && !ctx.signal.aborted; r++) rounds.push(await runRound(ctx, recorder, undefined));
    recorder.finish(monoMs());

    const stalls: LossEventStall[] = [];
    const oneWay = { up: ctx.baseRttMs / 2, down: ctx.baseRttMs / 2 };
    for (const round of rounds) {
      const mine = dropsForEndpoints(round.drops, round.endpoints);
      stalls.push(
        ...analyseHeadOfLine({
          requests: round.records,
          drops: mine,
          oneWayDelayMs: oneWay,
          baseRttMs: ctx.baseRttMs,
          deliveries: round.deliveries,
          portOf: (r) => (r.connectionId === undefined ? undefined : round.portByConnection.get(r.connectionId)),
        }),
      );
      if (reference) {
        round.records.forEach((rec, i) => {
          const ref = reference!.get(i % spec.requests);
          if (!rec.error && ref !== undefined) recorder.recordValue('excess', Math.max(0, rec.done - rec.queued - ref));
        });
      }
    }
    for (const s of stalls) {
      recorder.recordValue('stalledPerLoss', s.stalled);
      if (s.holBlocked !== undefined) recorder.recordValue('holBlockedPerLoss', s.holBlocked);
      if (s.congestionStalled !== undefined) recorder.recordValue('congestionStalledPerLoss', s.congestionStalled);
      for (const ms of s.stallMs) recorder.recordValue('stallTime', ms);
    }
    const transport = rounds.flatMap((r) => r.transport);
    const perRoundTrip = rounds
      .map((r) => (r.deliveries ? packetsPerRoundTrip([...r.portByConnection.values()].flatMap((port) => r.deliveries![port] ?? []), ctx.baseRttMs) : []))
      .filter((counts) => counts.length > 0);
    return recorder.result({
      transport: transport[0],
      details: {
        multiplex: {
          lossEvents: stalls.length,
          stalledPerLoss: stalls.map((s) => s.stalled),
          lossEventAt: stalls.map((s) => ({ t: s.t, dir: s.dir })),
          waitedRequestsPerLoss: stalls.map((s) => s.waitedRequests),
          ...(stalls.every((s) => s.holBlocked !== undefined) && {
            holBlockedPerLoss: stalls.map((s) => s.holBlocked!),
            congestionStalledPerLoss: stalls.map((s) => s.congestionStalled!),
            holRequestsPerLoss: stalls.map((s) => s.holRequests!),
          }),
          inFlightPerLoss: stalls.map((s) => s.inFlight),
          transportPerConnection: transport,
          referenceMedianMs: reference ? [...reference.values()] : undefined,
          ...(perRoundTrip.length > 0 && { packetsPerRoundTrip: perRoundTrip }),
        },
      },
    });
  },
};

async function runRound(ctx: WorkloadContext<MultiplexSpec>, recorder: CellRecorder, phase: string | undefined): Promise<RoundResult> {
  const { spec } = ctx;
  const [session] = await openSessions(ctx, 1, spec.h1PoolSize);
  const roundStart = monoMs();
  try {
    const records = await Promise.all(
      Array.from({ length: spec.requests }, (_, i) =>
        session!.request({ path: bytesPath(spec.sizes[i % spec.sizes.length]!), recordProgress: phase === undefined }),
      ),
    );
    if (phase === undefined) recorder.span(roundStart, monoMs());
    recorder.sessionConnections(session!, phase);
    for (const r of records) recorder.request({ ...r, progress: undefined }, { phase });
    const transport = await transportStats(ctx, session!);
    const drops = phase === undefined ? (await ctx.link.drops()).filter((d) => d.t >= roundStart) : [];
    // Kept for every measured round, loss or not: the packets per round trip come from it too.
    const deliveries = phase === undefined ? await ctx.link.deliveries(roundStart) : undefined;
    const endpoints = connectionEndpoints(session!.connections, ctx.clientAddresses);
    const portByConnection = new Map(session!.connections.filter((c) => c.localPort !== undefined).map((c) => [c.id, c.localPort!]));
    return { records, transport, drops, deliveries, endpoints, portByConnection };
  } finally {
    await session!.close();
  }
}

async function transportStats(ctx: WorkloadContext<MultiplexSpec>, session: ClientSession): Promise<TransportStats[]> {
  if (ctx.protocol === 'h3') {
    const stats = await session.stats?.();
    return stats ? [stats] : [];
  }
  const ports = new Set(session.connections.map((c) => c.localPort));
  return (await readTcpInfo(ctx.target.port)).filter((t) => ports.has(t.localPort));
}

function medianLatencyByIndex(rounds: RoundResult[]): Map<number, number> {
  const byIndex = new Map<number, number[]>();
  for (const round of rounds) {
    round.records.forEach((r, i) => {
      if (!r.error) byIndex.set(i, [...(byIndex.get(i) ?? []), r.done - r.queued]);
    });
  }
  return new Map([...byIndex].map(([i, values]) => [i, median(values)]));
}

registerWorkload(multiplexWorkload);
