/**
 * The requests one session holds, the same way in every driver: waiting for the connection to take
 * them (h2: the server's stream limit; h3: the peer's stream credit; any: a connection being
 * replaced), in flight, and, when their connection is lost or left behind by a move, back at the
 * front of the line to go out again on the next one. The request timeout and the failure of a
 * whole session go through here too, so every driver withdraws a request alike.
 */
import type { RequestRecord, RequestSpec } from './types.ts';
import type { RequestTimeline } from './common.ts';
import { monoMs } from '../util/clock.ts';

/**
 * Sent again at most this often: an HTTP/1.1 pool may hand a re-sent request to several of its
 * broken connections in turn (each learns it is broken only when it writes), then it dials anew.
 */
export const MAX_RESENDS = 10;

/** A started attempt as the driver's stack holds it (a stream, a dispatched request). */
export interface AttemptHandle {
  /** Withdraws the attempt from the stack: reset its stream, abort it. */
  cancel(error: Error): void;
}

export class QueuedRequest {
  /** Which attempt is current: callbacks of an earlier attempt (a connection left behind) are ignored. */
  attempt = 0;
  /** The current attempt in the stack; set when it starts. An object rather than a closure per request. */
  handle: AttemptHandle | undefined;

  constructor(
    readonly timeline: RequestTimeline,
    readonly resolve: (record: RequestRecord) => void,
  ) {}

  get spec(): RequestSpec {
    return this.timeline.spec;
  }

  /** Whether attempt `n` still speaks for the request: not finished, not replaced by a later attempt. */
  isCurrent(n: number): boolean {
    return n === this.attempt && !this.timeline.isFinished;
  }
}

export interface RequestQueueHooks<R extends QueuedRequest> {
  /** Whether the connection can take another request now. */
  canStart(): boolean;
  /**
   * Hands the request to the stack (the queue has marked it in flight). false: no slot after all
   * (it stays first in line until the next pump). It may finish the request at once.
   */
  start(request: R): boolean;
  /** A request left the queue for good (finished): e.g. a freed stream slot to use. */
  finished?(): void;
}

export class RequestQueue<R extends QueuedRequest> {
  private readonly waiting: R[] = [];
  private readonly flying = new Set<R>();
  /**
   * Requests not finished (and some that are, dropped lazily), by deadline: the timeout is the same
   * for all, so in the order they came. One timer for the earliest rather than one per request,
   * which a loaded client paid for on every request.
   */
  private readonly deadlines: R[] = [];
  private deadlineTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly hooks: RequestQueueHooks<R>,
    /** ConnectOptions.requestTimeoutMs: from the moment a request is handed in. */
    private readonly requestTimeoutMs: number | undefined,
  ) {}

  get inFlight(): ReadonlySet<R> {
    return this.flying;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /**
   * A closing session's requests: those waiting fail at once, those in flight may finish for up to
   * `graceMs`, then whatever is left fails.
   */
  async close(error: unknown, graceMs: number): Promise<void> {
    this.failWaiting(error);
    const deadline = Date.now() + graceMs;
    while (this.flying.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    this.failAll(error);
  }

  /** A new request: in line behind the others, its timeout armed, started when the connection can take it. */
  add(request: R): void {
    if (this.requestTimeoutMs !== undefined) {
      this.deadlines.push(request);
      this.armDeadline();
    }
    this.waiting.push(request);
    this.pump();
  }

  /** Starts waiting requests, in order, while the connection takes them. */
  pump(): void {
    while (this.waiting.length > 0 && this.hooks.canStart()) {
      const request = this.waiting.shift()!;
      this.flying.add(request);
      if (!this.hooks.start(request)) {
        this.flying.delete(request);
        if (!request.timeline.isFinished) this.waiting.unshift(request);
        return;
      }
    }
  }

  /** The request is done (error: failed); its record goes to whoever asked. Once only. */
  finish(request: R, error?: unknown): void {
    if (request.timeline.isFinished) return;
    this.flying.delete(request);
    const queued = this.waiting.indexOf(request);
    if (queued >= 0) this.waiting.splice(queued, 1);
    request.resolve(request.timeline.finish(error));
    this.dropFinishedDeadlines();
    this.hooks.finished?.();
  }

  /**
   * The connection carrying these requests is gone (lost, or left by a move): each GET or HEAD goes
   * to the front of the line, in the order it was sent, to be sent again (its partial body resumed
   * with Range); anything else fails with `error`. Nothing starts here: the driver pumps once its
   * next connection is up.
   */
  resend(requests: Iterable<R>, error: unknown): void {
    const again: R[] = [];
    for (const request of requests) {
      if (request.timeline.isFinished) continue;
      const method = request.spec.method ?? 'GET';
      const retries = request.timeline.record.retries ?? 0;
      if ((method !== 'GET' && method !== 'HEAD') || retries >= MAX_RESENDS) {
        this.finish(request, error);
        continue;
      }
      this.flying.delete(request);
      request.attempt++;
      request.handle = undefined;
      request.timeline.retry(error);
      again.push(request);
    }
    this.waiting.unshift(...again);
  }

  /** Every request in flight goes back in line (see resend). */
  resendInFlight(error: unknown): void {
    this.resend([...this.flying], error);
  }

  /** Fails the requests not handed to the connection yet (a session closing lets those in flight finish). */
  failWaiting(error: unknown): void {
    for (const request of [...this.waiting]) this.finish(request, error);
  }

  /** Fails every request, waiting or in flight (the session closed, or cannot connect). */
  failAll(error: unknown): void {
    for (const request of [...this.flying, ...this.waiting]) this.finish(request, error);
  }

  /** Past its timeout: withdrawn from the line, or its attempt cancelled in the stack; fails with the timeout. */
  private expire(request: R, error: Error): void {
    if (this.flying.has(request)) request.handle?.cancel(error);
    this.finish(request, error);
  }

  private deadlineOf(request: R): number {
    return request.timeline.record.queued + this.requestTimeoutMs!;
  }

  private armDeadline(): void {
    if (this.deadlineTimer !== undefined || this.deadlines.length === 0) return;
    const wait = this.deadlineOf(this.deadlines[0]!) - monoMs();
    this.deadlineTimer = setTimeout(() => {
      this.deadlineTimer = undefined;
      this.expireDue();
    }, Math.max(0, Math.ceil(wait)));
  }

  /** Fails every request past its deadline; timers may fire a little early, so never one before its time. */
  private expireDue(): void {
    const now = monoMs();
    while (this.deadlines.length > 0) {
      const request = this.deadlines[0]!;
      if (!request.timeline.isFinished && this.deadlineOf(request) > now) break;
      this.deadlines.shift();
      if (!request.timeline.isFinished) this.expire(request, request.timeline.timedOut(this.requestTimeoutMs!));
    }
    this.armDeadline();
  }

  /** Finished requests leave the front of the deadline line; with none left, no timer waits. */
  private dropFinishedDeadlines(): void {
    while (this.deadlines.length > 0 && this.deadlines[0]!.timeline.isFinished) this.deadlines.shift();
    if (this.deadlines.length === 0 && this.deadlineTimer !== undefined) {
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = undefined;
    }
  }
}
