import { monoMs } from '../util/clock.ts';

/**
 * Runs `total` jobs with at most `concurrency` in flight (a closed loop): each worker takes the next
 * index as soon as its previous job finished.
 */
export async function runClosedLoop(
  total: number,
  concurrency: number,
  job: (index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total && !signal?.aborted) {
      const index = next++;
      await job(index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, worker));
}

/**
 * `concurrency` requesters, each sending its next job as soon as its previous one finished, from
 * `startAt` (monoMs; now if past) until `endAt` (a closed loop for a time). Given as times rather
 * than a duration, so requesters in several threads run the same window.
 */
export async function runClosedLoopUntil(startAt: number, endAt: number, concurrency: number, job: () => Promise<void>, signal?: AbortSignal): Promise<void> {
  const wait = startAt - monoMs();
  if (wait > 0) await sleep(wait);
  const requester = async (): Promise<void> => {
    while (monoMs() < endAt && !signal?.aborted) await job();
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, requester));
}

/** How an open loop's schedule went. */
export interface ArrivalOutcome {
  /** Arrivals the schedule held (rate x duration). */
  scheduled: number;
  /** Sent more than `lateAfterMs` after their intended time. */
  late: number;
  /** Not sent: `maxInFlight` jobs were outstanding at their time. */
  dropped: number;
  /** The latest any arrival was sent after its intended time. */
  maxLatenessMs: number;
}

export interface OpenLoopOptions {
  /** Arrivals per second (of the whole schedule, all shares together). */
  rate: number;
  durationMs: number;
  maxInFlight: number;
  lateAfterMs: number;
  /** When arrival 0 is due (monoMs); default now. */
  startAt?: number;
  /**
   * This loop sends arrivals `offset`, `offset + stride`, ... of the schedule: one share of it, when
   * several loops (client workers) split one schedule. Default: all of it (stride 1, offset 0).
   */
  stride?: number;
  offset?: number;
  signal?: AbortSignal;
}

/**
 * An open loop: arrival i is due at start + i/rate whatever became of the earlier ones, so the
 * schedule never drifts and a slow answer does not hold back the next send (the coordinated
 * omission of a closed loop). The loop sleeps until its next arrival is due, then sends every one
 * due by then (Node's timers wake a millisecond or so late). `job` gets the intended time and must
 * not reject; resolves when every job sent has finished. The outcome counts this loop's arrivals.
 */
export async function runOpenLoop(opts: OpenLoopOptions, job: (dueAt: number) => Promise<void>): Promise<ArrivalOutcome> {
  const intervalMs = 1000 / opts.rate;
  const total = Math.floor((opts.durationMs * opts.rate) / 1000);
  const stride = opts.stride ?? 1;
  const offset = opts.offset ?? 0;
  const scheduled = offset < total ? Math.floor((total - 1 - offset) / stride) + 1 : 0;
  const outcome: ArrivalOutcome = { scheduled, late: 0, dropped: 0, maxLatenessMs: 0 };
  const outstanding = new Set<Promise<void>>();
  const start = opts.startAt ?? monoMs();
  let index = offset;
  while (index < total && !opts.signal?.aborted) {
    const now = monoMs();
    for (; index < total && start + index * intervalMs <= now; index += stride) {
      const dueAt = start + index * intervalMs;
      if (outstanding.size >= opts.maxInFlight) {
        outcome.dropped++;
        continue;
      }
      const lateness = monoMs() - dueAt;
      if (lateness > opts.lateAfterMs) outcome.late++;
      outcome.maxLatenessMs = Math.max(outcome.maxLatenessMs, lateness);
      const sent: Promise<void> = job(dueAt).finally(() => outstanding.delete(sent));
      outstanding.add(sent);
    }
    if (index < total) await sleep(start + index * intervalMs - monoMs());
  }
  await Promise.all(outstanding);
  return outcome;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
