/**
 * A closed standard output or error (`bench run ... | head`, a terminal that went away) must not end
 * or stall a run: the results go to files, the printed lines are only a view of them.
 *
 * Without a listener, a write to a closed pipe emits an 'error' (EPIPE) that nobody handles, so it
 * becomes an uncaught exception; Node never destroys stdout/stderr, so every later write (the
 * crash handler's own message included) fails again, and the process spins on errors instead of
 * tearing down. With this listener a write to a closed output is simply lost.
 */
import { writeSync } from 'node:fs';

let installed = false;

/** Installs once per process, for its whole life (the summary is written after the run's handlers are gone). */
export function dropOutputWhenClosed(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
}

/** writeSync for places that cannot use a stream (a worker thread, an exit handler): a closed fd loses the text. */
export function writeSyncIfOpen(fd: number, text: string): void {
  try {
    writeSync(fd, text);
  } catch {
    // EPIPE, EBADF: nobody reads this output any more.
  }
}
