import { execa } from 'execa';
import { BenchError } from '../src/util/errors.ts';
import { monoMs } from '../src/util/clock.ts';

/** One command the network layer ran, for tests and for the `--verbose` trace. */
export interface CommandRecord {
  argv: string[];
  /** monoMs() when it started. */
  startedAt: number;
  durationMs: number;
  exitCode: number;
  stderr: string;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  /** When false, a non-zero exit is returned instead of thrown. Default true. */
  check?: boolean;
  /** Written to the command's stdin. */
  input?: string;
  timeoutMs?: number;
}

/** The one way netem/ runs OS commands (ip, tc, sysctl ...). */
export interface CommandRunner {
  run(argv: string[], opts?: RunOptions): Promise<CommandResult>;
  /** Every command run so far, in order. */
  readonly history: readonly CommandRecord[];
}

export class CommandFailedError extends BenchError {
  constructor(
    readonly argv: string[],
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super('NETEM_COMMAND_FAILED', `\`${argv.join(' ')}\` failed (exit ${exitCode}): ${stderr.trim() || 'no output'}`);
    this.name = 'CommandFailedError';
  }
}

const DEFAULT_TIMEOUT_MS = 20_000;

/** Runs commands through execa, recording each; `trace` receives one line per command (for --verbose). */
export class ExecaRunner implements CommandRunner {
  readonly history: CommandRecord[] = [];
  constructor(private readonly trace?: (line: string) => void) {}

  async run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    const [file, ...args] = argv;
    if (!file) throw new BenchError('NETEM_EMPTY_COMMAND', 'empty command');
    const startedAt = monoMs();
    const r = await execa(file, args, {
      reject: false,
      input: opts.input,
      timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      stripFinalNewline: true,
    });
    // ENOENT and timeouts leave no exit code: report them as 127 / 124, as shells do.
    const exitCode = r.exitCode ?? (r.timedOut ? 124 : 127);
    const stderr: string = String(r.stderr ?? '') || (r.failed && r.exitCode === undefined ? (r.shortMessage ?? '') : '');
    const record: CommandRecord = { argv, startedAt, durationMs: monoMs() - startedAt, exitCode, stderr };
    this.history.push(record);
    this.trace?.(`[netem] ${argv.join(' ')}${exitCode === 0 ? '' : `  -> exit ${exitCode}: ${stderr.trim()}`}`);
    if (exitCode !== 0 && opts.check !== false) throw new CommandFailedError(argv, exitCode, stderr);
    return { stdout: String(r.stdout ?? ''), stderr, exitCode };
  }
}

/**
 * Records commands without running them; answers from `respond` (default: success, no output).
 * For unit tests of code that builds command lines.
 */
export class RecordingRunner implements CommandRunner {
  readonly history: CommandRecord[] = [];
  constructor(private readonly respond: (argv: string[]) => Partial<CommandResult> = () => ({})) {}

  async run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    const r = { stdout: '', stderr: '', exitCode: 0, ...this.respond(argv) };
    this.history.push({ argv, startedAt: monoMs(), durationMs: 0, exitCode: r.exitCode, stderr: r.stderr });
    if (r.exitCode !== 0 && opts.check !== false) throw new CommandFailedError(argv, r.exitCode, r.stderr);
    return r;
  }

  get commands(): string[][] {
    return this.history.map((h) => h.argv);
  }
}

let defaultRunner: CommandRunner = new ExecaRunner();

/** The process-wide runner; the CLI replaces it with a tracing one for `--verbose`. */
export function getRunner(): CommandRunner {
  return defaultRunner;
}

export function setRunner(runner: CommandRunner): void {
  defaultRunner = runner;
}
