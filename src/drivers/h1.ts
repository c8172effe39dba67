/**
 * HTTP/1.1 driver: an undici Pool of up to 6 keep-alive connections per origin (as browsers),
 * no pipelining. Connections come from our own connector so each gets a ConnectionRecord, and
 * undici's `undici:client:sendHeaders` channel tells which socket (and when) a request was written to.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import { authorityOf, normaliseHeaders, RequestTimeline } from './common.ts';
import { openTlsConnection, type TlsConnection } from './tcp-tls.ts';
import type { ClientSession, ConnectionRecord, ConnectOptions, Driver, RequestRecord, RequestSpec, Target } from './types.ts';

export const H1_DEFAULT_MAX_CONNECTIONS = 6;

// undici calls a request's onRequestStart and then publishes sendHeaders synchronously, in that
// order, for the socket it is about to write to; nothing can run in between.
const connectionIdOfSocket = new WeakMap<object, string>();
let awaitingSocket: RequestTimeline | undefined;
subscribe('undici:client:sendHeaders', (message) => {
  const { socket } = message as { socket: Socket };
  awaitingSocket?.sent(connectionIdOfSocket.get(socket));
  awaitingSocket = undefined;
});

class H1Session implements ClientSession {
  readonly protocol = 'h1' as const;
  readonly connections: ConnectionRecord[] = [];
  private readonly pool: Pool;
  private latestTicket: Buffer | undefined;
  /** The connection opened by connect(), handed to the pool on its first dial. */
  private preconnected: TlsConnection | undefined;
  private closed = false;

  constructor(
    private readonly target: Target,
    private readonly opts: ConnectOptions,
  ) {
    this.pool = new Pool(`https://${authorityOf(target)}`, {
      connections: opts.maxConnections ?? H1_DEFAULT_MAX_CONNECTIONS,
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
      localAddress: this.opts.localAddress,
      session,
      onTicket: (ticket) => {
        this.latestTicket = ticket;
      },
    });
    connectionIdOfSocket.set(connection.socket, connection.record.id);
    this.connections.push(connection.record);
    const report = () => this.opts.onConnection?.(connection.record);
    connection.ready.then(report, report);
    return connection;
  }

  request(spec: RequestSpec): Promise<RequestRecord> {
    const timeline = new RequestTimeline('h1', spec);
    return new Promise((resolve) => {
      let controller: Dispatcher.DispatchController | undefined;
      let expired: Error | undefined;
      timeline.expireAfter(this.opts.requestTimeoutMs, (error) => {
        // Aborting destroys the connection (HTTP/1.1 cannot cancel one response); the pool dials
        // another for the requests after it. A request still queued in the pool is aborted when a
        // connection takes it up, as undici does with an abort signal.
        expired = error;
        controller?.abort(error);
        resolve(timeline.finish(error));
      });
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: (requestController) => {
          if (expired) {
            requestController.abort(expired);
            return;
          }
          controller = requestController;
          awaitingSocket = timeline;
        },
        onResponseStart: (_controller, status, headers) => {
          timeline.headers(status, spec.keepBody ? normaliseHeaders(headers) : undefined);
        },
        onResponseData: (_controller, chunk) => timeline.data(chunk),
        onResponseEnd: () => resolve(timeline.finish()),
        onResponseError: (_controller, error) => resolve(timeline.finish(error)),
      };
      try {
        this.pool.dispatch(
          { path: spec.path, method: spec.method ?? 'GET', headers: spec.headers, body: spec.body ? Buffer.from(spec.body) : undefined },
          handler,
        );
      } catch (error) {
        resolve(timeline.finish(error));
      }
    });
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
