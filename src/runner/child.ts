import { spawn, type ChildProcess } from 'node:child_process';
import { BenchError } from '../util/errors.ts';
import { nodeTsArgv } from '../util/node-child.ts';

/**
 * How long a child (client, server) may take to start and say it is ready. Natively a second or two;
 * a loaded machine, or an emulated one (the kernel backend's suite runs under qemu without KVM, where
 * starting a Node process with its modules takes about a minute), takes far longer. A child that
 * hangs is still found, only later.
 */
export const CHILD_READY_TIMEOUT_MS = 180_000;

/**
 * A Node child process running a .ts entry, optionally inside a namespace (argv prefix), talking
 * over IPC. Crashes surface as rejected waits, never as hangs. `Outgoing`: the messages it takes,
 * so what is sent is checked against what the child reads.
 */
export class ChildHandle<Outgoing = unknown> {
  private readonly child: ChildProcess;
  private readonly listeners = new Set<(msg: any) => void>();
  private exitError: Error | undefined;
  private readonly exited: Promise<void>;
  /** Resolves, with the error saying how, when the process has exited or could not start. */
  readonly exitedWith: Promise<Error>;
  stderrTail = '';

  constructor(
    readonly name: string,
    script: string,
    prefix: string[] = [],
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const argv = [...prefix, ...nodeTsArgv(script)];
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], env });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
    });
    this.child.on('message', (msg) => {
      for (const listener of [...this.listeners]) listener(msg);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitError = new BenchError(
          'E_CHILD_EXIT',
          `${this.name} process exited (${signal ?? `code ${code}`})${this.stderrTail ? `:\n${this.stderrTail.trim()}` : ''}`,
        );
        for (const listener of [...this.listeners]) listener({ type: '__exit__' });
        resolve();
      });
      this.child.on('error', (error) => {
        this.exitError = new BenchError('E_CHILD_SPAWN', `${this.name} process could not start: ${error.message}`);
        for (const listener of [...this.listeners]) listener({ type: '__exit__' });
        resolve();
      });
    });
    this.exitedWith = this.exited.then(() => this.exitError!);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exitError === undefined;
  }

  send(message: Outgoing): void {
    if (this.exitError) throw this.exitError;
    this.child.send(message as any);
  }

  onMessage(listener: (msg: any) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves with the first message matching `predicate`; rejects if the child exits, after
   * `timeoutMs` (none when undefined), or when `cancel` aborts (with its reason).
   */
  waitFor<T = any>(predicate: (msg: any) => boolean, timeoutMs: number | undefined, what: string, cancel?: AbortSignal): Promise<T> {
    if (this.exitError) return Promise.reject(this.exitError);
    if (cancel?.aborted) return Promise.reject(cancel.reason);
    return new Promise<T>((resolve, reject) => {
      const settle = (done: () => void) => {
        clearTimeout(timer);
        off();
        cancel?.removeEventListener('abort', onCancel);
        done();
      };
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => settle(() => reject(new BenchError('E_CHILD_TIMEOUT', `${this.name} process: no ${what} within ${timeoutMs} ms`))), timeoutMs);
      const onCancel = () => settle(() => reject(cancel!.reason));
      cancel?.addEventListener('abort', onCancel, { once: true });
      const off = this.onMessage((msg) => {
        if (msg?.type === '__exit__') settle(() => reject(this.exitError));
        else if (predicate(msg)) settle(() => resolve(msg as T));
      });
    });
  }

  /** SIGKILL, for a child that no longer answers (its event loop is blocked); resolves once it is gone. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Ends the process: IPC disconnect (it exits by itself), then SIGTERM, then SIGKILL. */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.alive) return;
    try {
      this.child.disconnect();
    } catch {
      /* already disconnected */
    }
    const timeout = (ms: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
    if ((await Promise.race([this.exited, timeout(graceMs)])) === 'timeout') {
      this.child.kill('SIGTERM');
      if ((await Promise.race([this.exited, timeout(graceMs)])) === 'timeout') {
        this.child.kill('SIGKILL');
        await this.exited;
      }
    }
  }
}
