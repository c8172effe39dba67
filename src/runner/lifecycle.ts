/**
 * Turns SIGINT/SIGTERM into an abort of the current run, so teardown happens by ordinary unwinding
 * (finally blocks), and only then exits with the conventional code (130, 143). An uncaught exception
 * or unhandled rejection (a bug) aborts the run the same way, so the run still tears down and keeps
 * its partial results; should unwinding not finish, the network teardowns run directly and the
 * process exits 3. Should the event loop itself stop (a bug that spins or blocks it: then no handler
 * here can run), the loop watchdog's thread removes the run's processes and network and exits 3.
 */
import { runAllTeardowns } from '../../netem/index.ts';
import { dropOutputWhenClosed } from '../util/closed-output.ts';
import { BenchError } from '../util/errors.ts';
import { EXIT_CODES } from '../util/exit-codes.ts';
import { loopWatchdogOptionsFromEnv, startLoopWatchdog } from './loop-watchdog.ts';

export interface RunLifecycle {
  signal: AbortSignal;
  /** The signal that interrupted the run, if any. */
  interruptedBy(): NodeJS.Signals | undefined;
  dispose(): void;
}

/** How long unwinding may take after a crash before the teardowns are run directly. */
const CRASH_UNWIND_MS = 30_000;

export function watchSignals(onSignal?: (signal: NodeJS.Signals) => void): RunLifecycle {
  // Otherwise a closed output's EPIPE reaches `crash` below, whose message fails the same way, forever.
  dropOutputWhenClosed();
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  let crashed = false;
  let crashTimer: NodeJS.Timeout | undefined;
  const loopWatchdog = startLoopWatchdog(loopWatchdogOptionsFromEnv());
  controller.signal.addEventListener('abort', () => loopWatchdog.aborted(), { once: true });
  const handler = (signal: NodeJS.Signals) => {
    if (received) {
      // A second signal while tearing down: the user insists; teardown still runs in finally blocks.
      return;
    }
    received = signal;
    onSignal?.(signal);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  const crash = (error: unknown) => {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`internal error (tearing down): ${text}\n`);
    if (crashed) return;
    crashed = true;
    const reason = error instanceof Error ? error : new Error(String(error));
    if (!controller.signal.aborted) controller.abort(new BenchError('E_CRASH', `${reason.message} (stack printed above)`, { cause: reason }));
    crashTimer = setTimeout(() => {
      process.stderr.write('bench: teardown did not finish after an internal error; removing the network directly\n');
      void runAllTeardowns().finally(() => process.exit(EXIT_CODES.internal));
    }, CRASH_UNWIND_MS);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('SIGHUP', handler);
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  return {
    signal: controller.signal,
    interruptedBy: () => received,
    dispose() {
      clearTimeout(crashTimer);
      void loopWatchdog.stop();
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      process.off('SIGHUP', handler);
      process.off('uncaughtException', crash);
      process.off('unhandledRejection', crash);
    },
  };
}
