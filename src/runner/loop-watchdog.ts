/**
 * A watchdog outside the runner's event loop. The loop ticks a shared counter; a worker thread
 * (./loop-watchdog-worker.ts) watches it. When the loop has not run for `stallMs` (or, once the run
 * was aborted by a signal or a crash, for `abortedStallMs`), nothing on it can run any more: no
 * signal handler, no teardown. The worker then removes the run's processes and network itself,
 * synchronously, and ends the process with exit 3.
 */
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../util/node-child.ts';

/** Slots of the shared counter. */
export const BEATS = 0;
export const ABORTED = 1;

export interface LoopWatchdogOptions {
  /** A loop that has not run this long is stuck (default 60 s: far above any synchronous work of the runner). */
  stallMs?: number;
  /** Once the run is being aborted (default 10 s, or stallMs when shorter). */
  abortedStallMs?: number;
}

export interface LoopWatchdogData {
  shared: SharedArrayBuffer;
  stallMs: number;
  abortedStallMs: number;
  ownerPid: number;
}

export interface LoopWatchdog {
  /** The run is being torn down: from now on a shorter stall is fatal. */
  aborted(): void;
  stop(): Promise<void>;
}

const WORKER = fileURLToPath(new URL('./loop-watchdog-worker.ts', import.meta.url));
const BEAT_MS = 250;
const DEFAULT_STALL_MS = 60_000;
const DEFAULT_ABORTED_STALL_MS = 10_000;

/** BENCH_LOOP_STALL_MS shortens both limits (tests, or a machine where 60 s is too patient). */
export function loopWatchdogOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): LoopWatchdogOptions {
  const ms = Number(env.BENCH_LOOP_STALL_MS);
  return Number.isFinite(ms) && ms > 0 ? { stallMs: ms } : {};
}

export function startLoopWatchdog(opts: LoopWatchdogOptions = {}): LoopWatchdog {
  const stallMs = opts.stallMs ?? DEFAULT_STALL_MS;
  const shared = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
  const counter = new Int32Array(shared);
  const data: LoopWatchdogData = { shared, stallMs, abortedStallMs: Math.min(opts.abortedStallMs ?? DEFAULT_ABORTED_STALL_MS, stallMs), ownerPid: process.pid };
  const worker: Worker = startTsWorker(WORKER, data);
  worker.unref();
  // A worker that cannot start leaves the run without this backstop, nothing worse.
  worker.on('error', (error) => process.stderr.write(`bench: the event-loop watchdog stopped: ${error.message}\n`));
  const beat = setInterval(() => Atomics.add(counter, BEATS, 1), BEAT_MS);
  beat.unref();
  return {
    aborted: () => Atomics.store(counter, ABORTED, 1),
    async stop() {
      clearInterval(beat);
      await worker.terminate();
    },
  };
}
