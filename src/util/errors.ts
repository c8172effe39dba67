/**
 * Stable error codes on one base class (as undici does). A UserError is a mistake in the user's
 * input or environment: the CLI prints its message alone (no stack) and exits with
 * EXIT_CODES.userMistake (src/util/exit-codes.ts).
 */
export class BenchError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BenchError';
  }
}

export class UserError extends BenchError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'UserError';
  }
}
