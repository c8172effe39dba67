/**
 * The userspace link backend: a TUN device at each end of every path and a link process in the host
 * namespace that schedules every packet through the link model (netem/userspace/model). Besides what
 * tc netem does, it rebinds the client's address/port (NAT rebinding) and follows Mahimahi rate traces.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeTsArgv } from '../../src/util/node-child.ts';
import { BenchError, UserError } from '../../src/util/errors.ts';
import { LINK_PROCESS_MARKER, type LinkBackend, type LinkUpContext } from '../backend.ts';
import type { PathModel, Phase } from '../model.ts';
import type { CaptureRequest, CaptureSummary, DropEvent, LinkCounters } from '../types.ts';
import type { JitterOrder } from './model/direction.ts';
import type { LinkProcessConfig, LinkRequest, LinkResponse, LinkScheduling, LinkStats } from './protocol.ts';

export type { JitterOrder } from './model/direction.ts';
export type { LatenessStats, LinkScheduling, LinkStats } from './protocol.ts';

export interface UserspaceBackendOptions {
  /** Seed of every random decision; default: the run id, so a run is reproducible from its id. */
  seed?: string | number;
  /** 'reorder' (default, as netem) or 'fifo' (jitter never reorders). */
  jitterOrder?: JitterOrder;
  /**
   * Poll without sleeping this long before a departure (default 0 with real-time scheduling, whose
   * wake-ups are punctual and whose budget a spinning thread would exhaust; 1 ms otherwise).
   */
  spinMarginMs?: number;
  /**
   * Batching window in microseconds (default 100; 0 = wake for every packet). While packets keep
   * coming, the link wakes at most once per window and handles every arrival and departure of it in
   * one round, instead of waking for each packet (each wake-up costs more than the packet's own read
   * and write). An arrival is then timestamped up to the window late and a departure leaves up to the
   * window late (both counted in its scheduler lateness); with no traffic it behaves as with 0.
   */
  batchUs?: number;
  /**
   * Run the hot path on synthetic packets before forwarding (default true): the first second of a
   * new link is otherwise late by milliseconds (compilation, page faults; model/warm-up.ts).
   */
  warmUp?: boolean;
  /** Drop events kept in memory (default 200,000). */
  maxDropEvents?: number;
  /** TUN transmit queue (packets waiting for the link process to read them; default 1000). */
  txQueueLen?: number;
  /**
   * Scheduling of the link thread (default 'realtime': SCHED_FIFO, falling back to nice -10). A link
   * scheduled late delays every packet: on a busy machine a woken ordinary process often waits
   * several ms for a CPU, a real-time one tens of microseconds.
   */
  scheduling?: LinkScheduling;
  /** Extra Node/V8 flags for the link process (e.g. --cpu-prof); env BENCH_LINK_NODE_FLAGS adds more. */
  nodeFlags?: string[];
  /** How long up() waits for the link process (default 15 s). */
  startTimeoutMs?: number;
}

export interface UserspaceLinkBackend extends LinkBackend {
  readonly name: 'userspace';
  /** Scheduler lateness and process figures; reset=true starts a new lateness histogram. */
  stats(reset?: boolean): Promise<LinkStats>;
  /** pid of the link process while it runs. */
  readonly pid: number | undefined;
}

/** A request without its id (Omit distributed over the union). */
type LinkRequestBody = LinkRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

const LINK_PROCESS_PATH = fileURLToPath(new URL('./link-process.ts', import.meta.url));

/**
 * --single-threaded-gc: V8's parallel GC helpers are ordinary threads that the real-time link thread
 * would wait for. A young generation of fixed size (16 MB semi-spaces, V8's own upper bound) does not
 * grow while packets flow (growing faulted in fresh pages inside scavenges: 5-40 ms pauses in a new
 * link's first seconds); the warm-up fills it once and ends with a full collection (--expose-gc).
 */
const LINK_V8_FLAGS = ['--single-threaded-gc', '--min-semi-space-size=16', '--max-semi-space-size=16', '--expose-gc'];
/** Measured (test/perf/link.ts, fidelity): 1.6-3.4x less CPU per packet, scheduler p99 0.14-0.2 ms. */
const DEFAULT_BATCH_US = 100;
const REQUEST_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 2_000;
const CAPTURE_STOP_TIMEOUT_MS = 30_000;

export function createUserspaceBackend(opts: UserspaceBackendOptions = {}): UserspaceLinkBackend {
  return new UserspaceBackend(opts);
}

/** Rate trace paths resolved against the working directory, each checked to exist. */
function resolveTraces(paths: PathModel[]): PathModel[] {
  return paths.map((p) => {
    const fix = (d: PathModel['up']) => {
      if (d.rateTrace === undefined) return d;
      const abs = resolve(d.rateTrace);
      if (!existsSync(abs)) throw new UserError('NETEM_TRACE_NOT_FOUND', `rate trace ${d.rateTrace} (path "${p.name}") does not exist: give a Mahimahi trace file (one ms timestamp per line)`);
      return { ...d, rateTrace: abs };
    };
    return { ...p, up: fix(p.up), down: fix(p.down) };
  });
}

class UserspaceBackend implements UserspaceLinkBackend {
  readonly name = 'userspace' as const;
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: LinkResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private exitError: Error | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly opts: UserspaceBackendOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async up(ctx: LinkUpContext): Promise<void> {
    if (this.child) throw new BenchError('NETEM_LINK_ALREADY_UP', 'the userspace link is already up');
    const paths = resolveTraces(ctx.paths);
    const [cmd, ...args] = nodeTsArgv(LINK_PROCESS_PATH, [`${LINK_PROCESS_MARKER}${ctx.runId}`]);
    // V8's parallel GC helpers are ordinary threads: on a busy machine the real-time link thread would
    // wait for them inside every collection. Collect on the link thread alone.
    const extra = [...(this.opts.nodeFlags ?? []), ...(process.env.BENCH_LINK_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? [])];
    args.unshift(...LINK_V8_FLAGS, ...extra);
    const child = spawn(cmd!, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    this.child = child;
    this.exitError = undefined;
    this.exited = new Promise((done) => {
      child.once('exit', (code, signal) => {
        this.exitError = new BenchError('NETEM_LINK_EXITED', `the userspace link process exited (${signal ?? `code ${code}`})`);
        for (const [id, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(this.exitError);
          this.pending.delete(id);
        }
        if (this.child === child) this.child = undefined;
        done();
      });
    });
    child.on('message', (m: LinkResponse) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      p.resolve(m);
    });
    child.on('error', () => {
      // 'exit' follows and rejects whatever is pending.
    });
    const config: LinkProcessConfig = {
      seed: this.opts.seed ?? ctx.runId,
      jitterOrder: this.opts.jitterOrder ?? 'reorder',
      paths,
      devices: ctx.addressing.map((a) => ({
        clientNs: ctx.clientNs,
        clientDevice: a.clientDevice,
        serverNs: ctx.serverNs,
        serverDevice: a.serverDevice,
        clientAddress: a.clientAddress,
        rebindAddress: a.rebindAddress,
      })),
      spinMarginMs: this.opts.spinMarginMs ?? ((this.opts.scheduling ?? 'realtime') === 'realtime' ? 0 : 1),
      maxDropEvents: this.opts.maxDropEvents ?? 200_000,
      batchUs: this.opts.batchUs ?? DEFAULT_BATCH_US,
      warmUp: this.opts.warmUp ?? true,
      scheduling: this.opts.scheduling ?? 'realtime',
    };
    try {
      await this.request({ op: 'init', config }, this.opts.startTimeoutMs ?? 15_000);
      const txq = String(this.opts.txQueueLen ?? 1000);
      for (const a of ctx.addressing) {
        await ctx.exec.run(['ip', '-n', ctx.clientNs, 'link', 'set', 'dev', a.clientDevice, 'txqueuelen', txq]);
        await ctx.exec.run(['ip', '-n', ctx.serverNs, 'link', 'set', 'dev', a.serverDevice, 'txqueuelen', txq]);
      }
    } catch (e) {
      await this.down();
      throw e;
    }
  }

  private async request(req: LinkRequestBody, timeoutMs = REQUEST_TIMEOUT_MS): Promise<LinkResponse & { ok: true }> {
    const child = this.child;
    if (!child || !child.connected) throw this.exitError ?? new BenchError('NETEM_LINK_NOT_UP', 'the userspace link is not up');
    const id = this.nextId++;
    const response = await new Promise<LinkResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BenchError('NETEM_LINK_TIMEOUT', `the userspace link process did not answer "${req.op}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      child.send({ ...req, id } as LinkRequest, (err) => {
        if (err) {
          clearTimeout(timer);
          this.pending.delete(id);
          // A process killed a moment ago still looks connected until its exit is seen; the failed
          // write (EPIPE) is that death, and is reported as such.
          reject(new BenchError('NETEM_LINK_EXITED', `the userspace link process exited (its channel: ${err.message})`));
        }
      });
    });
    if (!response.ok) throw new BenchError('NETEM_LINK_FAILED', `userspace link: ${req.op}: ${response.error}`);
    return response;
  }

  async applyPhase(phase: Phase): Promise<void> {
    await this.request({ op: 'applyPhase', phase });
  }

  async restartRateTraces(): Promise<void> {
    await this.request({ op: 'restartTraces' });
  }

  async counters(): Promise<LinkCounters> {
    return (await this.request({ op: 'counters' })).result as LinkCounters;
  }

  async cpuMs(): Promise<number> {
    return (await this.stats()).cpuMs;
  }

  async drops(): Promise<DropEvent[]> {
    return (await this.request({ op: 'drops' })).result as DropEvent[];
  }

  async deliveries(sinceMs: number): Promise<Record<number, number[]>> {
    return (await this.request({ op: 'deliveries', sinceMs })).result as Record<number, number[]>;
  }

  async startCapture(capture: CaptureRequest): Promise<number> {
    return (await this.request({ op: 'captureStart', capture })).result as number;
  }

  async stopCapture(): Promise<CaptureSummary> {
    // The link writes what it still holds before it answers.
    return (await this.request({ op: 'captureStop' }, CAPTURE_STOP_TIMEOUT_MS)).result as CaptureSummary;
  }

  async stats(reset = false): Promise<LinkStats> {
    return (await this.request({ op: 'stats', reset })).result as LinkStats;
  }

  async down(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.connected) {
      try {
        await this.request({ op: 'stop' }, STOP_GRACE_MS);
      } catch {
        // fall through to the kill
      }
    }
    const killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(killTimer);
    this.child = undefined;
  }
}
