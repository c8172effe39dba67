/**
 * HTTP/1.1 driver: an undici Pool of up to 6 keep-alive connections per origin (as browsers),
 * no pipelining. Connections come from our own connector so each gets a ConnectionRecord, and
 * undici's `undici:client:sendHeaders` channel tells which socket (and when) a request was written to.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import { BenchError } from '../util/errors.ts';
import { authorityOf, normaliseHeaders, RequestTimeline } from './common.ts';
import { QueuedRequest, RequestQueue, type AttemptHandle } from './request-queue.ts';
import { openTlsConnection, silenceError, watchSilence, type TlsConnection } from './tcp-tls.ts';
import type { ClientSession, ConnectionRecord, ConnectOptions, Driver, MoveOutcome, RequestRecord, RequestSpec, Target } from './types.ts';

export const H1_DEFAULT_MAX_CONNECTIONS = 6;

// undici calls a request's onRequestStart and then publishes sendHeaders synchronously, in that
// order, for the socket it is about to write to; nothing can run in between.
const connectionOfSocket = new WeakMap<object, ConnectionRecord>();
let awaitingSocket: RequestTimeline | undefined;
subscribe('undici:client:sendHeaders', (message) => {
  const { socket } = message as { socket: Socket };
  const connection = connectionOfSocket.get(socket);
  awaitingSocket?.sent(connection?.id, connection?.localAddress);
  awaitingSocket = undefined;
});

class H1Session implements ClientSession {
  readonly protocol = 'h1' as const;
  readonly connections: ConnectionRecord[] = [];
  private pool: Pool;
  private readonly queue: RequestQueue<QueuedRequest>;
  private latestTicket: Buffer | undefined;
  /** The connection opened by connect() or moveTo(), handed to the pool on its first dial. */
  private preconnected: TlsConnection | undefined;
  /** Where new connections come from: ConnectOptions.localAddress, then wherever moveTo() went. */
  private localAddress: string | undefined;
  /** A move is replacing the pool: requests wait in the queue meanwhile. */
  private moving = false;
  private closed = false;

  constructor(
    private readonly target: Target,
    private readonly opts: ConnectOptions,
  ) {
    this.localAddress = opts.localAddress;
    this.pool = this.createPool();
    // undici queues requests for its connections itself: ours holds them only during a move.
    this.queue = new RequestQueue({ canStart: () => !this.moving, start: (r) => this.dispatch(r) }, opts.requestTimeoutMs);
  }

  private createPool(): Pool {
    return new Pool(`https://${authorityOf(this.target)}`, {
      connections: this.opts.maxConnections ?? H1_DEFAULT_MAX_CONNECTIONS,
      pipelining: 1,
      keepAliveTimeout: 120_000,
      keepAliveMaxTimeout: 600_000,
      connect: (_options, callback) => {
        const spare = this.preconnected;
        this.preconnected = undefined;
        if (spare && !spare.socket.destroyed) {
          // undici expects the callback asynchronously (it re-enters its dispatch loop otherwise).
          process.nextTick(() => callback(null, spare.socket));
          return;
        }
        this.dial().ready.then(
          (socket) => callback(null, socket),
          (error: Error) => callback(error, null),
        );
      },
    });
  }

  async open(): Promise<void> {
    const first = this.dial(this.opts.session);
    await first.ready;
    this.preconnected = first;
  }

  /** A new connection; after the first, resumed with the newest ticket, as browsers do. */
  private dial(session = this.latestTicket ?? this.opts.session): TlsConnection {
    const connection = openTlsConnection({
      protocol: 'h1',
      target: this.target,
      alpn: 'http/1.1',
      localAddress: this.localAddress,
      session,
      onTicket: (ticket) => {
        this.latestTicket = ticket;
      },
    });
    connectionOfSocket.set(connection.socket, connection.record);
    this.connections.push(connection.record);
    const silenceMs = this.opts.silenceTimeoutMs;
    if (this.opts.reconnect && silenceMs !== undefined) {
      const busy = () => [...this.queue.inFlight].some((r) => r.timeline.record.connectionId === connection.record.id);
      // Destroyed with the reason: undici fails its request with it, and the request goes again.
      watchSilence(connection.socket, silenceMs, busy, () => connection.socket.destroy(silenceError(silenceMs)));
    }
    const report = () => this.opts.onConnection?.(connection.record);
    connection.ready.then(report, report);
    return connection;
  }

  request(spec: RequestSpec): Promise<RequestRecord> {
    return new Promise((resolve) => this.queue.add(new QueuedRequest(new RequestTimeline('h1', spec), resolve)));
  }

  /** Hands the current attempt of a request to the pool; callbacks of a replaced attempt are ignored. */
  private dispatch(r: QueuedRequest): boolean {
    const { timeline, spec } = r;
    const attempt = new H1Attempt(r, this);
    r.handle = attempt;
    try {
      this.pool.dispatch(
        {
          path: spec.path,
          method: spec.method ?? 'GET',
          headers: timeline.attemptHeaders(),
          body: spec.body ? Buffer.from(spec.body) : undefined,
        },
        attempt,
      );
    } catch (error) {
      this.queue.finish(r, error);
    }
    return true;
  }

  /** The attempt's response ended. */
  attemptDone(r: QueuedRequest): void {
    this.queue.finish(r);
  }

  /** The attempt failed; unless withdrawn, a broken connection sends it again (with reconnect). */
  attemptFailed(r: QueuedRequest, error: Error, withdrawn: boolean): void {
    // The connection broke under it (reset, closed): with reconnect, the pool dials anew for it.
    if (this.opts.reconnect && !this.closed && !withdrawn) {
      this.queue.resend([r], error);
      this.queue.pump();
    } else {
      this.queue.finish(r, error);
    }
  }

  /** A new pool from the new address: the old one's connections are closed, their requests sent again. */
  async moveTo(localAddress: string): Promise<MoveOutcome> {
    if (this.closed) throw new BenchError('E_SESSION_CLOSED', 'HTTP/1.1 session is closed');
    this.localAddress = localAddress;
    this.moving = true;
    const left = this.pool;
    this.pool = this.createPool();
    this.preconnected?.socket.destroy();
    this.preconnected = undefined;
    const moved = new BenchError('E_MOVED', `the client moved to ${localAddress}`);
    this.queue.resendInFlight(moved);
    void left.destroy(moved).catch(() => {});
    try {
      const first = this.dial();
      await first.ready;
      this.preconnected = first;
    } finally {
      this.moving = false;
      this.queue.pump();
    }
    return 'reconnected';
  }

  session(): Uint8Array | undefined {
    return this.latestTicket;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.preconnected?.socket.destroy();
    // Graceful first (in-flight requests finish), bounded so an abandoned request cannot hang teardown.
    const graceful = this.pool.close();
    const timer = new Promise((resolve) => setTimeout(resolve, 1000).unref());
    await Promise.race([graceful, timer]);
    await this.pool.destroy().catch(() => {});
    // What a move held back never reached a connection.
    this.queue.failAll(new BenchError('E_SESSION_CLOSED', 'HTTP/1.1 session closed'));
  }
}

/**
 * undici's callbacks for one attempt of one request, as prototype methods: closures made for every
 * request cost a loaded client measurably. Callbacks of an attempt that was replaced are ignored.
 */
class H1Attempt implements Dispatcher.DispatchHandler, AttemptHandle {
  private readonly attempt: number;
  private controller: Dispatcher.DispatchController | undefined;
  private withdrawn: Error | undefined;

  constructor(
    private readonly r: QueuedRequest,
    private readonly session: H1Session,
  ) {
    this.attempt = r.attempt;
  }

  private get current(): boolean {
    return this.r.isCurrent(this.attempt);
  }

  /**
   * Aborting destroys the connection (HTTP/1.1 cannot cancel one response); the pool dials another
   * for the requests after it. One still queued in the pool is aborted when a connection takes it
   * up, as undici does with an abort signal.
   */
  cancel(error: Error): void {
    this.withdrawn = error;
    this.controller?.abort(error);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (!this.current) {
      controller.abort(this.withdrawn ?? new Error('request withdrawn'));
      return;
    }
    this.controller = controller;
    awaitingSocket = this.r.timeline;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    if (this.current) this.r.timeline.headers(status, this.r.spec.keepBody ? normaliseHeaders(headers) : undefined);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.current) this.r.timeline.data(chunk);
  }

  onResponseEnd(): void {
    if (this.current) this.session.attemptDone(this.r);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.current) this.session.attemptFailed(this.r, error, this.withdrawn !== undefined);
  }
}

export const h1Driver: Driver = {
  protocol: 'h1',
  async connect(target, opts = {}) {
    const session = new H1Session(target, opts);
    try {
      await session.open();
    } catch (error) {
      await session.close();
      throw error;
    }
    return session;
  },
};
