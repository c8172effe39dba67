/**
 * One share of a load workload (the whole of it with one client worker): its sessions, its warm-up,
 * and each step's requests on the coordinator's order (load.ts). It runs in the client process
 * itself or in a worker process of it (load-worker-process.ts), and reports tallies and histograms that
 * load-split.ts merges.
 */
import { getLeanDriver } from '../drivers/index.ts';
import { leanWindows } from '../drivers/h2-lean.ts';
import { DEFAULT_RECEIVE_WINDOWS, type ClientSession, type Driver, type Protocol, type RequestRecord } from '../drivers/types.ts';
import type { LoadClient, LoadFlowControl } from '../results/details.ts';
import { monoMs } from '../util/clock.ts';
import type { ShareResult, ShareSpec, ShareStep, StepOrder } from './load-split.ts';
import { runClosedLoop, runClosedLoopUntil, runOpenLoop } from './pool.ts';
import { CellRecorder, failureKind } from './recorder.ts';
import { bytesPath, openSessions } from './requests.ts';
import type { WorkloadContext } from './types.ts';

/**
 * An arrival sent more than this after its intended time counts as late: Node's timers wake up to
 * about a millisecond after their time on an idle machine, so beyond 2 ms the client itself was
 * behind (its event loop busy). Latency still counts from the intended time.
 */
export const LATE_AFTER_MS = 2;

/** The name of a step's distributions in the cell's metrics (`rate500.latency`, `concurrency8.latency`). */
export function stepPrefix(loop: 'open' | 'closed', level: number): string {
  return `${loop === 'open' ? 'rate' : 'concurrency'}${level}`;
}

/** What a share needs of the cell's context: no link control (the coordinator samples usage). */
export type ShareContext = Pick<WorkloadContext, 'driver' | 'target' | 'requestTimeoutMs' | 'congestionControl' | 'pacing' | 'emit' | 'signal'>;

/** What the coordinator drives: a share in the client process itself (LoadShare) or in a worker process. */
export interface ShareHandle {
  warmup(): Promise<void>;
  step(order: StepOrder): Promise<ShareStep>;
  /** Records the last connections, closes the sessions and returns the share's figures. */
  finish(): Promise<ShareResult>;
  /** Tells the share the cell was aborted (a share in the client process sees the cell's signal itself). */
  abort(): void;
  /** Releases everything, whether or not finish() ran. */
  close(): Promise<void>;
}

interface SendOptions {
  phase: string;
  measured: boolean;
  /** Open loop: the request's intended send time. */
  dueAt?: number;
}

const WARMUP: SendOptions = { phase: 'warmup', measured: false };
/**
 * How long the warm-up keeps every connection busy before the first step. Measured on loopback (2
 * workers, h1): a fresh worker's first 3 s step cost 1.2-1.9x the CPU per request of its second
 * without it, 1.0-1.2x after 0.5 s of warm-up, 0.9-1.1x after 1.5 s.
 */
export const WARMUP_MS = 1000;
const SETTLED_ONLY = { settledOnly: true };

/** A step's requests counted as they finish (keeping them would grow the heap with the sweep). */
class StepTally {
  requests = 0;
  ok = 0;
  firstAnswer = Infinity;
  lastAnswer = -Infinity;
  lastDone = -Infinity;

  add(record: RequestRecord): void {
    this.requests++;
    this.lastDone = Math.max(this.lastDone, record.done);
    if (failureKind(record) !== undefined) return;
    this.ok++;
    this.firstAnswer = Math.min(this.firstAnswer, record.done);
    this.lastAnswer = Math.max(this.lastAnswer, record.done);
  }

  figures(): ShareStep {
    const step: ShareStep = { requests: this.requests, ok: this.ok };
    if (this.ok > 0) {
      step.firstAnswer = this.firstAnswer;
      step.lastAnswer = this.lastAnswer;
    }
    if (this.requests > 0) step.lastDone = this.lastDone;
    return step;
  }
}

/**
 * The client a load cell uses over a protocol: h1 and h2 as the workload says (`lean`: bench's own,
 * `library`: the protocol's driver); h3 has one client (undefined).
 */
export function loadClientFor(protocol: Protocol, client: LoadClient): LoadClient | undefined {
  return protocol === 'h3' ? undefined : client;
}

/** The driver for a load share: the lean client when the cell uses it, else the cell's own driver. */
async function loadDriver(driver: Driver, client: LoadClient): Promise<Driver> {
  if (loadClientFor(driver.protocol, client) !== 'lean') return driver;
  return (await getLeanDriver(driver.protocol)) ?? driver;
}

/** HTTP/2's windows: the lean client knows both directions; node:http2 advertises DEFAULT_RECEIVE_WINDOWS. */
function flowControlOf(protocol: Protocol, session: ClientSession): LoadFlowControl | undefined {
  if (protocol !== 'h2') return undefined;
  const lean = leanWindows(session);
  if (lean) return { receive: lean.receive, send: lean.send, windowUpdates: lean.windowUpdates };
  return { receive: { ...DEFAULT_RECEIVE_WINDOWS } };
}

export class LoadShare implements ShareHandle {
  private readonly recorder: CellRecorder;
  /** One request spec for all: drivers only read it. */
  private readonly request: { path: string };
  private sent = 0;
  private closed = false;

  private constructor(
    private readonly ctx: ShareContext,
    private readonly share: ShareSpec,
    private readonly sessions: ClientSession[],
  ) {
    this.recorder = new CellRecorder(ctx);
    this.request = { path: bytesPath(share.spec.size) };
  }

  static async open(ctx: ShareContext, share: ShareSpec): Promise<LoadShare> {
    const driver = await loadDriver(ctx.driver, share.spec.client);
    return new LoadShare(ctx, share, await openSessions({ ...ctx, driver }, share.connections, share.spec.h1PoolSize));
  }

  private async send(opts: SendOptions, tally?: StepTally): Promise<void> {
    const session = this.sessions[this.sent++ % this.sessions.length]!;
    const record = await session.request(this.request);
    this.recorder.sessionConnections(session, undefined, SETTLED_ONLY);
    this.recorder.request(record, opts);
    tally?.add(record);
  }

  /**
   * Unmeasured: opens every connection of HTTP/1.1's pools, so the first step does not carry
   * handshakes, then keeps them busy for WARMUP_MS, so it does not carry the compiling of the code
   * either (a fresh worker process compiles all of it on its first requests).
   */
  async warmup(): Promise<void> {
    const n = this.share.connections * this.share.spec.h1PoolSize;
    await runClosedLoop(n, n, () => this.send(WARMUP), this.ctx.signal);
    const now = monoMs();
    await runClosedLoopUntil(now, now + WARMUP_MS, n, () => this.send(WARMUP), this.ctx.signal);
  }

  async step(order: StepOrder): Promise<ShareStep> {
    const { spec } = this.share;
    const phase = stepPrefix(spec.loop, order.level);
    const tally = new StepTally();
    if (spec.loop === 'open') {
      const arrivals = await runOpenLoop(
        {
          rate: order.level,
          durationMs: spec.stepDurationMs,
          maxInFlight: this.share.maxInFlight ?? spec.maxInFlight,
          lateAfterMs: LATE_AFTER_MS,
          startAt: order.startAt,
          stride: this.share.shares,
          offset: this.share.index,
          signal: this.ctx.signal,
        },
        (dueAt) => this.send({ phase, measured: true, dueAt }, tally),
      );
      return { ...tally.figures(), arrivals };
    }
    const measured: SendOptions = { phase, measured: true };
    await runClosedLoopUntil(order.startAt, order.startAt + spec.stepDurationMs, order.concurrency ?? order.level, () => this.send(measured, tally), this.ctx.signal);
    return tally.figures();
  }

  async finish(): Promise<ShareResult> {
    for (const s of this.sessions) this.recorder.sessionConnections(s);
    const transport = this.share.index === 0 ? await this.sessions[0]?.stats?.() : undefined;
    const flowControl = this.sessions[0] && flowControlOf(this.ctx.driver.protocol, this.sessions[0]);
    const { requests, connections, metrics } = this.recorder.result();
    await this.close();
    return { requests: { ...requests, failedBy: requests.failedBy ?? {} }, connections, metrics, ...(transport && { transport }), ...(flowControl && { flowControl }) };
  }

  /** Nothing to tell: a share in the client process runs under the cell's signal. */
  abort(): void {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.sessions.map((s) => s.close()));
  }
}
