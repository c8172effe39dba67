import { availableParallelism } from 'node:os';
import type { LoadClient, LoadStepDetails } from '../results/details.ts';
import { boundProcesses } from '../results/load.ts';
import { monoMs } from '../util/clock.ts';
import type { LinkCounters } from '../../netem/types.ts';
import { LATE_AFTER_MS, loadClientFor, LoadShare, stepPrefix, type ShareHandle } from './load-share.ts';
import { mergeShareResults, mergeSteps, splitLoad, stepOrders, type ShareStep } from './load-split.ts';
import { startShareWorkers } from './load-workers.ts';
import { registerWorkload } from './registry.ts';
import { bytesPath } from './requests.ts';
import type { ProcessUsage, Workload, WorkloadContext } from './types.ts';

export { LATE_AFTER_MS, stepPrefix };

interface LoadCommon {
  type: 'load';
  name: string;
  /** One step per value, increasing: requests per second (open loop) or requesters (closed loop). */
  levels: number[];
  /** How long each step sends; its last answers are awaited after. */
  stepDurationMs: number;
  /** h2/h3 connections; h1 uses one pool of up to h1PoolSize connections per "connection". */
  connections: number;
  h1PoolSize: number;
  /** Response size in bytes. */
  size: number;
  /**
   * Worker processes the requests are spread over (1: the client process itself); `auto`:
   * clientWorkersFor() on the machine that runs it.
   */
  clientWorkers: number | 'auto';
  /**
   * `lean`: bench's own HTTP clients written for load (src/drivers/h1-lean.ts, h2-lean.ts);
   * `library`: the protocol's driver (undici, node:http2). h3 has one client either way.
   */
  client: LoadClient;
}

/** open: arrivals at a constant rate, each at its intended time; closed: requesters that each send when their last answer came. */
export type LoadSpec =
  | (LoadCommon & {
      loop: 'open';
      /** An arrival due while this many requests are outstanding is dropped (counted, not sent). */
      maxInFlight: number;
    })
  | (LoadCommon & { loop: 'closed' });

/**
 * How many client workers run a load workload. `auto`: half the machine's cores, since the rest
 * serve the server under test, the link and the client process itself (on loopback the server
 * competes for the same cores); at least 1, and never more than can each have a share of their
 * own: one connection (HTTP/1.1: one pool) and one requester (closed loop, the lowest step) or one
 * of the in-flight limit (open loop). A number written in the scenario was checked against the
 * same bounds when it loaded.
 */
export function clientWorkersFor(spec: LoadSpec, cores = availableParallelism()): number {
  if (spec.clientWorkers !== 'auto') return spec.clientWorkers;
  const perShare = spec.loop === 'closed' ? Math.min(...spec.levels) : spec.maxInFlight;
  return Math.max(1, Math.min(Math.floor(cores / 2), spec.connections, perShare));
}

/**
 * Every client worker's step starts at the same instant, this long after the orders go out, so a
 * worker that reads its order a little later still starts with the others.
 */
const STEP_START_MARGIN_MS = 5;

/**
 * Requests at increasing load, one step per offered rate (open loop) or concurrency (closed loop):
 * per step the throughput achieved, the latency distribution and what each request cost the
 * client, the server and the link. With `clientWorkers` above 1 the requests are spread over
 * worker processes, each with its own connections, and their figures merged exactly (load-split.ts).
 */
export const loadWorkload: Workload<LoadSpec> = {
  type: 'load',
  describe: 'Requests at increasing load, step by step: latency against the throughput achieved, and the CPU and bytes each request cost.',
  paths: (spec) => [bytesPath(spec.size)],
  async run(ctx) {
    const { spec } = ctx;
    const workers = clientWorkersFor(spec);
    const shareSpecs = splitLoad(spec, workers);
    const shares: ShareHandle[] = workers === 1 ? [await LoadShare.open(ctx, shareSpecs[0]!)] : await startShareWorkers(ctx, shareSpecs);
    const abortShares = () => shares.forEach((s) => s.abort());
    ctx.signal.addEventListener('abort', abortShares, { once: true });
    try {
      await Promise.all(shares.map((s) => s.warmup()));
      const steps: LoadStepDetails[] = [];
      for (const level of spec.levels) {
        if (ctx.signal.aborted) break;
        steps.push(await runStep(ctx, level, shares, workers));
      }
      const { requests, connections, metrics, transport, cpuMs, flowControl } = mergeShareResults(await Promise.all(shares.map((s) => s.finish())));
      const client = loadClientFor(ctx.driver.protocol, spec.client);
      return {
        ...(cpuMs !== undefined && { workersCpuMs: cpuMs }),
        // The measured windows: not the connection set-up and warm-up before them.
        durationMs: steps.reduce((sum, s) => sum + s.windowMs, 0),
        requests,
        connections,
        metrics,
        transport,
        details: {
          load: {
            loop: spec.loop,
            clientWorkers: workers,
            ...(client && { client }),
            ...(flowControl && { flowControl }),
            steps,
            ...(spec.loop === 'open' && { lateAfterMs: LATE_AFTER_MS, maxInFlight: spec.maxInFlight }),
          },
        },
      };
    } finally {
      ctx.signal.removeEventListener('abort', abortShares);
      await Promise.allSettled(shares.map((s) => s.close()));
    }
  },
};

async function runStep(ctx: WorkloadContext<LoadSpec>, level: number, shares: readonly ShareHandle[], workers: number): Promise<LoadStepDetails> {
  const spec = ctx.spec;
  const before = await ctx.link.usage();
  // The client process's own CPU; worker processes report theirs with their tallies.
  const clientCpu = process.cpuUsage();
  const start = monoMs() + (shares.length > 1 ? STEP_START_MARGIN_MS : 0);
  const orders = stepOrders(spec, level, start, shares.length);
  const tally: ShareStep = mergeSteps(await Promise.all(shares.map((s, i) => s.step(orders[i]!))));
  // Answers still arriving after the step's duration belong to it: a backlog stretches the window.
  const lastDone = Math.max(tally.lastDone ?? -Infinity, start + spec.stepDurationMs);
  const cpu = process.cpuUsage(clientCpu);
  const after = await ctx.link.usage();
  const windowMs = lastDone - start;
  const figures = {
    windowMs,
    clientCpuMs: (cpu.user + cpu.system) / 1000 + (tally.cpuMs ?? 0),
    serverCpuMs: difference(before.serverCpuMs, after.serverCpuMs),
    linkCpuMs: difference(before.linkCpuMs, after.linkCpuMs),
  };
  return {
    level,
    metricPrefix: stepPrefix(spec.loop, level),
    requests: tally.requests,
    ok: tally.ok,
    failed: tally.requests - tally.ok,
    achievedPerSec: answerRate(tally, windowMs),
    ...(tally.arrivals && { arrivals: tally.arrivals }),
    ...figures,
    wireBytes: wireBytes(before, after),
    machineBound: boundProcesses(figures, workers),
  };
}

/**
 * Answers per second from the step's first answer to its last: the rate they came at. Counted
 * over the step's duration instead, a latency of L would cost L/duration of the rate; a backlog
 * drained after the duration lowers it, as it should.
 */
function answerRate(tally: ShareStep, windowMs: number): number {
  const { ok, firstAnswer, lastAnswer } = tally;
  if (ok < 2 || firstAnswer === undefined || lastAnswer === undefined) return windowMs > 0 ? (ok * 1000) / windowMs : 0;
  return lastAnswer > firstAnswer ? ((ok - 1) * 1000) / (lastAnswer - firstAnswer) : 0;
}

function difference(before: number | undefined, after: number | undefined): number | undefined {
  return before === undefined || after === undefined ? undefined : after - before;
}

/** IP bytes the link received in both directions of every path between two samples; undefined where it counts none. */
function wireBytes(before: ProcessUsage, after: ProcessUsage): number | undefined {
  const received = (counters: LinkCounters) => {
    const values = Object.values(counters).flatMap((p) => [p.up.bytesIn, p.down.bytesIn]);
    return values.length === 0 || values.some((v) => v === undefined) ? undefined : (values as number[]).reduce((a, b) => a + b, 0);
  };
  return difference(received(before.counters), received(after.counters));
}

registerWorkload(loadWorkload);
