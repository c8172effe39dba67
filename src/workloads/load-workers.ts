/**
 * The coordinator's side of client workers: each share of a load workload runs in a worker process
 * of its own (load-worker-process.ts, a child of the client process, so in its network namespace),
 * driven over IPC one order at a time. Processes rather than worker threads: the QUIC binding
 * (napi-rs) frees its references through one process-wide callback, which crashed the client with
 * a segmentation fault once HTTP/3 ran in two threads. A measured cell's worker appends its events
 * to raw.jsonl itself (the coordinator relaying them would spend its CPU on it); an unmeasured one
 * sends them here in batches, to go on through the cell's `emit`. Either way a batch is out before
 * the worker's answer to an order. A worker ends with its IPC channel, so it never outlives the client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Protocol, Target } from '../drivers/types.ts';
import type { CellEventLog, WorkloadEvent } from '../results/events.ts';
import { nodeTsArgv } from '../util/node-child.ts';
import type { ShareHandle } from './load-share.ts';
import type { ShareResult, ShareSpec, ShareStep, StepOrder } from './load-split.ts';
import type { WorkloadContext } from './types.ts';

const WORKER_SCRIPT = fileURLToPath(new URL('./load-worker-process.ts', import.meta.url));
/** A worker told to stop (IPC closed, SIGTERM) that has not exited by then is killed. */
const STOP_GRACE_MS = 2000;

/** What a worker is asked to open first. */
export interface ShareWorkerSetup {
  protocol: Protocol;
  target: Target;
  requestTimeoutMs: number;
  congestionControl?: WorkloadContext['congestionControl'];
  pacing?: WorkloadContext['pacing'];
  /** A measured cell's: the worker appends its events there itself instead of sending them here. */
  eventLog?: CellEventLog;
  share: ShareSpec;
}

export type ToShareWorker = { type: 'open'; setup: ShareWorkerSetup } | { type: 'warmup' } | { type: 'step'; order: StepOrder } | { type: 'finish' } | { type: 'abort' };

export type FromShareWorker =
  | { type: 'events'; events: WorkloadEvent[] }
  | { type: 'opened' }
  | { type: 'warmed' }
  | { type: 'stepped'; step: ShareStep }
  | { type: 'finished'; result: ShareResult }
  | { type: 'failed'; error: string };

type Answer = Exclude<FromShareWorker, { type: 'events' } | { type: 'failed' }>;

class WorkerShare implements ShareHandle {
  private waiting: { expect: Answer['type']; resolve: (answer: Answer) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private stderrTail = '';
  private readonly exited: Promise<void>;

  constructor(
    private readonly child: ChildProcess,
    private readonly index: number,
    emit: (event: WorkloadEvent) => void,
  ) {
    child.on('message', (message: FromShareWorker) => {
      if (message.type === 'events') {
        for (const event of message.events) emit(event);
      } else if (message.type === 'failed') {
        this.fail(new Error(`client worker ${this.index}: ${message.error}`));
      } else if (this.waiting?.expect === message.type) {
        const { resolve } = this.waiting;
        this.waiting = undefined;
        resolve(message);
      } else {
        this.fail(new Error(`client worker ${this.index} answered ${message.type}, expected ${this.waiting?.expect ?? 'nothing'}`));
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.fail(new Error(`client worker ${this.index} exited (${signal ?? `code ${code}`})${this.stderrTail ? `:\n${this.stderrTail.trim()}` : ''}`));
        resolve();
      });
      child.once('error', (error) => {
        this.fail(new Error(`client worker ${this.index} could not start: ${error.message}`));
        resolve();
      });
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(this.failure);
  }

  private ask(message: ToShareWorker, answer: Answer['type']): Promise<Answer> {
    if (this.failure) return Promise.reject(this.failure);
    const answered = new Promise<Answer>((resolve, reject) => {
      this.waiting = { expect: answer, resolve, reject };
    });
    this.child.send(message);
    return answered;
  }

  async open(setup: ShareWorkerSetup): Promise<void> {
    await this.ask({ type: 'open', setup }, 'opened');
  }

  async warmup(): Promise<void> {
    await this.ask({ type: 'warmup' }, 'warmed');
  }

  async step(order: StepOrder): Promise<ShareStep> {
    return ((await this.ask({ type: 'step', order }, 'stepped')) as Extract<Answer, { type: 'stepped' }>).step;
  }

  async finish(): Promise<ShareResult> {
    return ((await this.ask({ type: 'finish' }, 'finished')) as Extract<Answer, { type: 'finished' }>).result;
  }

  abort(): void {
    if (!this.failure && this.child.connected) this.child.send({ type: 'abort' } satisfies ToShareWorker);
  }

  /** Closes the IPC channel (the worker exits on its own), then SIGTERM and SIGKILL if it lingers. */
  async close(): Promise<void> {
    this.failure ??= new Error(`client worker ${this.index} closed`);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.disconnect();
    const stopped = (ms: number) => Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    if (await stopped(STOP_GRACE_MS)) return;
    this.child.kill('SIGTERM');
    if (await stopped(STOP_GRACE_MS)) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** One worker process per share, each with its sessions open; none left running if any fails to open. */
export async function startShareWorkers(ctx: WorkloadContext, shares: readonly ShareSpec[]): Promise<ShareHandle[]> {
  const [node, ...args] = nodeTsArgv(WORKER_SCRIPT);
  const workers = shares.map(
    (share) => new WorkerShare(spawn(node!, args, { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], env: process.env }), share.index, (event) => ctx.emit(event)),
  );
  const opened = await Promise.allSettled(
    workers.map((w, i) =>
      w.open({
        protocol: ctx.protocol,
        target: ctx.target,
        requestTimeoutMs: ctx.requestTimeoutMs,
        congestionControl: ctx.congestionControl,
        pacing: ctx.pacing,
        eventLog: ctx.eventLog,
        share: shares[i]!,
      }),
    ),
  );
  const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) {
    await Promise.allSettled(workers.map((w) => w.close()));
    throw failed.reason;
  }
  return workers;
}
