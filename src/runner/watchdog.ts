/**
 * Watches the peers a cell depends on (the server process and the network link) while the runner
 * waits for the client: a dead peer ends the wait at once with an error naming it, instead of every
 * request timing out against a server or a link that is gone.
 */
import type { Topology } from '../../netem/types.ts';
import { BenchError } from '../util/errors.ts';

const LINK_POLL_MS = 1000;

export class PeerWatchdog {
  /** Rejects with the first failure seen; never resolves. */
  readonly failure: Promise<never>;
  private failedWith: Error | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private fail!: (error: Error) => void;

  constructor(serverExited: Promise<Error>, private readonly topology: Topology) {
    this.failure = new Promise<never>((_, reject) => {
      this.fail = (error) => {
        if (this.stopped || this.failedWith) return;
        this.failedWith = error;
        reject(error);
      };
    });
    // Nobody may be racing against it when it fires (between cells): not an unhandled rejection.
    this.failure.catch(() => {});
    void serverExited.then((error) => this.fail(error));
    this.pollLink();
  }

  get failed(): Error | undefined {
    return this.failedWith;
  }

  /** `wait`, unless a peer dies first. */
  guard<T>(wait: Promise<T>): Promise<T> {
    if (this.failedWith) return Promise.reject(this.failedWith);
    return Promise.race([wait, this.failure]);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** A link that cannot report its counters (its process died, or it stopped answering) is broken. */
  private pollLink(): void {
    if (this.topology.backend === 'none') return;
    this.timer = setTimeout(() => {
      this.topology.counters().then(
        () => !this.stopped && this.pollLink(),
        (error: unknown) => {
          if (this.stopped) return;
          const reason = error instanceof Error ? error.message : String(error);
          this.fail(new BenchError('E_LINK_FAILED', `the network link failed: ${reason}`));
        },
      );
    }, LINK_POLL_MS);
    this.timer.unref();
  }
}
