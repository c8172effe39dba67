/**
 * Every exit code of `bench`, in one place. Commands return one of these; only the CLI's main()
 * hands it to the process. 1 means "regression" and nothing else, so a CI step can tell a slower
 * build from a broken tool.
 */
export const EXIT_CODES = {
  /** Success; for the gate: no error-level assertion failed. */
  ok: 0,
  /** The gate found an error-level regression or a failed assertion (`bench gate`, `bench run --baseline`, `assert:`). */
  regression: 1,
  /** A mistake in the input: one message names the file (line:col) and the fix; nothing was started or left behind. */
  userMistake: 2,
  /** An internal failure or an incomplete run; partial results are kept on disk. */
  internal: 3,
  /** `bench doctor`: a required check failed (this machine cannot run shaped scenarios as it is). */
  doctorCheckFailed: 4,
  /** Interrupted by SIGHUP, SIGINT or SIGTERM, after teardown (128 + signal number). */
  sighup: 129,
  sigint: 130,
  sigterm: 143,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The conventional code for a run ended by a signal. */
export function exitCodeForSignal(signal: NodeJS.Signals): ExitCode {
  return signal === 'SIGINT' ? EXIT_CODES.sigint : signal === 'SIGTERM' ? EXIT_CODES.sigterm : EXIT_CODES.sighup;
}
