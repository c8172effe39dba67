import type { RequestRecord } from '../drivers/types.ts';
import type { LoadStepDetails } from '../results/details.ts';
import { boundProcesses } from '../results/load.ts';
import { monoMs } from '../util/clock.ts';
import type { LinkCounters } from '../../netem/types.ts';
import { runClosedLoop, runClosedLoopFor, runOpenLoop, type ArrivalOutcome } from './pool.ts';
import { failureKind, CellRecorder } from './recorder.ts';
import { registerWorkload } from './registry.ts';
import { bytesPath, openSessions } from './requests.ts';
import type { ProcessUsage, Workload, WorkloadContext } from './types.ts';

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
 * An arrival sent more than this after its intended time counts as late: Node's timers wake up to
 * about a millisecond after their time on an idle machine, so beyond 2 ms the client itself was
 * behind (its event loop busy). Latency still counts from the intended time.
 */
export const LATE_AFTER_MS = 2;

/** The name of a step's distributions in the cell's metrics (`rate500.latency`, `concurrency8.latency`). */
export function stepPrefix(loop: LoadSpec['loop'], level: number): string {
  return `${loop === 'open' ? 'rate' : 'concurrency'}${level}`;
}

/**
 * Requests at increasing load, one step per offered rate (open loop) or concurrency (closed loop):
 * per step the throughput achieved, the latency distribution and what each request cost the
 * client, the server and the link.
 */
export const loadWorkload: Workload<LoadSpec> = {
  type: 'load',
  describe: 'Requests at increasing load, step by step: latency against the throughput achieved, and the CPU and bytes each request cost.',
  paths: (spec) => [bytesPath(spec.size)],
  async run(ctx) {
    const { spec } = ctx;
    const recorder = new CellRecorder(ctx);
    recorder.start(monoMs());
    const sessions = await openSessions(ctx, spec.connections, spec.h1PoolSize);
    const path = bytesPath(spec.size);
    const request = { path };
    let sent = 0;
    const send = async (opts: SendOptions, tally?: StepTally) => {
      const session = sessions[sent++ % sessions.length]!;
      const record = await session.request(request);
      recorder.sessionConnections(session, undefined, SETTLED_ONLY);
      recorder.request(record, opts);
      tally?.add(record);
    };
    try {
      // Unmeasured: opens every connection of HTTP/1.1's pools, so the first step does not carry handshakes.
      const warmup = spec.connections * spec.h1PoolSize;
      await runClosedLoop(warmup, warmup, () => send({ phase: 'warmup', measured: false }), ctx.signal);
      const steps: LoadStepDetails[] = [];
      for (const level of spec.levels) {
        if (ctx.signal.aborted) break;
        steps.push(await runStep(ctx, level, recorder, send));
      }
      recorder.finish(monoMs());
      for (const s of sessions) recorder.sessionConnections(s);
      const transport = await sessions[0]?.stats?.();
      return recorder.result({
        transport,
        details: { load: { loop: spec.loop, steps, ...(spec.loop === 'open' && { lateAfterMs: LATE_AFTER_MS, maxInFlight: spec.maxInFlight }) } },
      });
    } finally {
      await Promise.allSettled(sessions.map((s) => s.close()));
    }
  },
};

interface SendOptions {
  phase: string;
  measured: boolean;
  /** Open loop: the request's intended send time. */
  dueAt?: number;
}

type Send = (opts: SendOptions, tally: StepTally) => Promise<void>;

const SETTLED_ONLY = { settledOnly: true };

/** A step's requests counted as they finish (keeping them would grow the heap with the sweep). */
class StepTally {
  requests = 0;
  ok = 0;
  /** First and last successful answer. */
  firstAnswer = Infinity;
  lastAnswer = -Infinity;
  /** The last answer of any kind. */
  lastDone = -Infinity;

  add(record: RequestRecord): void {
    this.requests++;
    this.lastDone = Math.max(this.lastDone, record.done);
    if (failureKind(record) !== undefined) return;
    this.ok++;
    this.firstAnswer = Math.min(this.firstAnswer, record.done);
    this.lastAnswer = Math.max(this.lastAnswer, record.done);
  }
}

async function runStep(ctx: WorkloadContext<LoadSpec>, level: number, recorder: CellRecorder, send: Send): Promise<LoadStepDetails> {
  const spec = ctx.spec;
  const metricPrefix = stepPrefix(spec.loop, level);
  const tally = new StepTally();
  const before = await ctx.link.usage();
  const clientCpu = process.cpuUsage();
  const start = monoMs();
  let arrivals: ArrivalOutcome | undefined;
  if (spec.loop === 'open') {
    arrivals = await runOpenLoop(
      { rate: level, durationMs: spec.stepDurationMs, maxInFlight: spec.maxInFlight, lateAfterMs: LATE_AFTER_MS, signal: ctx.signal },
      (dueAt) => send({ phase: metricPrefix, measured: true, dueAt }, tally),
    );
  } else {
    const measured = { phase: metricPrefix, measured: true };
    await runClosedLoopFor(spec.stepDurationMs, level, () => send(measured, tally), ctx.signal);
  }
  // Answers still arriving after the step's duration belong to it: a backlog stretches the window.
  const lastDone = Math.max(tally.lastDone, start + spec.stepDurationMs);
  const cpu = process.cpuUsage(clientCpu);
  const after = await ctx.link.usage();
  recorder.span(start, lastDone);
  const windowMs = lastDone - start;
  const ok = tally.ok;
  const figures = {
    windowMs,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
    serverCpuMs: difference(before.serverCpuMs, after.serverCpuMs),
    linkCpuMs: difference(before.linkCpuMs, after.linkCpuMs),
  };
  return {
    level,
    metricPrefix,
    requests: tally.requests,
    ok,
    failed: tally.requests - ok,
    achievedPerSec: answerRate(tally, windowMs),
    ...(arrivals && { arrivals }),
    ...figures,
    wireBytes: wireBytes(before, after),
    machineBound: boundProcesses(figures),
  };
}

/**
 * Answers per second from the step's first answer to its last: the rate they came at. Counted
 * over the step's duration instead, a latency of L would cost L/duration of the rate; a backlog
 * drained after the duration lowers it, as it should.
 */
function answerRate(tally: StepTally, windowMs: number): number {
  if (tally.ok < 2) return windowMs > 0 ? (tally.ok * 1000) / windowMs : 0;
  return tally.lastAnswer > tally.firstAnswer ? ((tally.ok - 1) * 1000) / (tally.lastAnswer - tally.firstAnswer) : 0;
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
