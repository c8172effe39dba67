/**
 * Stable error codes on one base class (as undici does). A UserError is a mistake in the user's
 * input or environment: the CLI prints its message alone (no stack) and exits with code 2.
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
  /** Exit code for any user mistake (bad scenario, no root, port taken ...). */
  static readonly EXIT_CODE = 2;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'UserError';
  }
}
