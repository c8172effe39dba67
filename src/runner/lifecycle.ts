/**
 * Turns SIGINT/SIGTERM into an abort of the current run, so teardown happens by ordinary unwinding
 * (finally blocks), and only then exits with the conventional code (130, 143).
 */
export interface RunLifecycle {
  signal: AbortSignal;
  /** The signal that interrupted the run, if any. */
  interruptedBy(): NodeJS.Signals | undefined;
  dispose(): void;
}

export function watchSignals(onSignal?: (signal: NodeJS.Signals) => void): RunLifecycle {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (received) {
      // A second signal while tearing down: the user insists; teardown still runs in finally blocks.
      return;
    }
    received = signal;
    onSignal?.(signal);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('SIGHUP', handler);
  return {
    signal: controller.signal,
    interruptedBy: () => received,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      process.off('SIGHUP', handler);
    },
  };
}

export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 129;
}
