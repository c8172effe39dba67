/**
 * HTTP/2 driver: one TCP+TLS connection (node:http2 over our own TLS socket, so its timings are
 * observed directly), many concurrent streams. Streams beyond the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS wait here, so `sent` is when a stream really went out.
 */
import { connect as h2Connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { BenchError } from '../util/errors.ts';
import { authorityOf, normaliseHeaders, RequestTimeline } from './common.ts';
import { QueuedRequest, RequestQueue } from './request-queue.ts';
import { openTlsConnection, silenceError, watchSilence, type TlsConnection } from './tcp-tls.ts';
import { DEFAULT_RECEIVE_WINDOWS, type ClientSession, type ConnectionRecord, type ConnectOptions, type Driver, type MoveOutcome, type RequestRecord, type RequestSpec, type Target } from './types.ts';

/** Used until the server's SETTINGS arrive (RFC 9113 recommends servers allow at least 100). */
const DEFAULT_MAX_CONCURRENT_STREAMS = 100;

/** One TCP+TLS connection carrying an HTTP/2 session, and its streams in flight. */
interface H2Connection {
  tls: TlsConnection;
  h2: ClientHttp2Session;
  streams: number;
}

/** Where a stream's listeners find the attempt it carries. */
const ATTEMPT = Symbol('h2 attempt');
type AttemptStream = ClientHttp2Stream & { [ATTEMPT]?: H2Attempt };

/** One attempt of one request, on one stream of one connection. */
class H2Attempt {
  readonly attempt: number;

  constructor(
    readonly session: H2Session,
    readonly r: QueuedRequest,
    readonly connection: H2Connection,
    private readonly stream: ClientHttp2Stream,
  ) {
    this.attempt = r.attempt;
  }

  /** Withdraws the request: RST_STREAM CANCEL. */
  cancel(): void {
    this.stream.close(constants.NGHTTP2_CANCEL);
  }
}

class H2Session implements ClientSession {
  readonly protocol = 'h2' as const;
  readonly connections: ConnectionRecord[] = [];
  private readonly queue: RequestQueue<QueuedRequest>;
  private latestTicket: Buffer | undefined;
  /** The connection new streams go on; undefined while a new one is being opened. */
  private current: H2Connection | undefined;
  private replacing: Promise<void> | undefined;
  /** Where new connections come from: ConnectOptions.localAddress, then wherever moveTo() went. */
  private localAddress: string | undefined;
  private closed = false;

  private constructor(
    private readonly target: Target,
    private readonly opts: ConnectOptions,
  ) {
    this.localAddress = opts.localAddress;
    this.queue = new RequestQueue(
      {
        canStart: () => this.current !== undefined && this.current.streams < streamLimit(this.current.h2),
        start: (r) => this.startStream(r, this.current!),
      },
      opts.requestTimeoutMs,
    );
  }

  static async open(target: Target, opts: ConnectOptions): Promise<H2Session> {
    const session = new H2Session(target, opts);
    session.current = await session.connect(opts.session);
    return session;
  }

  /** A new TCP+TLS connection with an HTTP/2 session on it (resumed when a ticket is given). */
  private async connect(ticket: Uint8Array | undefined): Promise<H2Connection> {
    const tls = openTlsConnection({
      protocol: 'h2',
      target: this.target,
      alpn: 'h2',
      localAddress: this.localAddress,
      session: ticket,
      onTicket: (t) => {
        this.latestTicket = t;
      },
    });
    this.connections.push(tls.record);
    try {
      await tls.ready;
      const windows = this.opts.receiveWindows ?? DEFAULT_RECEIVE_WINDOWS;
      const h2 = h2Connect(`https://${authorityOf(this.target)}`, {
        createConnection: () => tls.socket,
        settings: { enablePush: false, initialWindowSize: windows.streamBytes },
        maxSessionMemory: 256,
      });
      await new Promise<void>((resolve, reject) => {
        h2.once('connect', () => resolve());
        h2.once('error', reject);
      });
      h2.setLocalWindowSize(windows.connectionBytes);
      const connection: H2Connection = { tls, h2, streams: 0 };
      h2.on('error', (error) => {
        tls.record.error ??= error.message;
      });
      h2.on('remoteSettings', () => this.queue.pump());
      h2.once('close', () => this.lost(connection, new BenchError('E_CONNECTION_LOST', 'the HTTP/2 connection was lost')));
      const silenceMs = this.opts.silenceTimeoutMs;
      if (this.opts.reconnect && silenceMs !== undefined) {
        watchSilence(tls.socket, silenceMs, () => connection.streams > 0, () => this.lost(connection, silenceError(silenceMs)));
      }
      return connection;
    } catch (error) {
      tls.socket.destroy();
      throw error;
    } finally {
      this.opts.onConnection?.(tls.record);
    }
  }

  /** The connection broke under the session: with reconnect, its requests go again on a new one. */
  private lost(connection: H2Connection, cause: Error): void {
    if (connection !== this.current || this.closed || !this.opts.reconnect) return;
    void this.replace(cause).catch(() => {});
  }

  /**
   * Leaves the current connection for a new one from this.localAddress (resumed with the newest
   * ticket): its requests in flight go again on the new one; requests wait meanwhile.
   */
  private replace(cause: Error): Promise<void> {
    this.replacing ??= (async () => {
      const left = this.current;
      this.current = undefined;
      this.queue.resend([...this.queue.inFlight], cause);
      if (left) {
        left.h2.destroy();
        left.tls.socket.destroy();
      }
      try {
        this.current = await this.connect(this.latestTicket ?? this.opts.session);
      } catch (error) {
        this.queue.failAll(error);
        throw error;
      } finally {
        this.replacing = undefined;
      }
      this.queue.pump();
    })();
    return this.replacing;
  }

  request(spec: RequestSpec): Promise<RequestRecord> {
    const timeline = new RequestTimeline('h2', spec);
    return new Promise((resolve) => {
      if (this.closed) {
        resolve(timeline.finish(new Error('HTTP/2 connection is closed')));
        return;
      }
      this.queue.add(new QueuedRequest(timeline, resolve));
    });
  }

  /**
   * Opens the stream of the request's current attempt; its cancel sends RST_STREAM CANCEL. The
   * stream's listeners are the shared static functions below (`this` is the stream, which carries
   * its attempt): a loaded client paid measurably for the closures and once-wrappers made per stream.
   */
  private startStream(r: QueuedRequest, connection: H2Connection): boolean {
    const { timeline, spec } = r;
    const { h2, tls } = connection;
    if (h2.closed || h2.destroyed) {
      this.streamEnded(r, r.attempt, connection, new Error('HTTP/2 connection is closed'));
      return true;
    }
    try {
      const stream = h2.request(
        { ':method': spec.method ?? 'GET', ':path': spec.path, ...timeline.attemptHeaders() },
        { endStream: !spec.body },
      ) as AttemptStream;
      connection.streams++;
      const attempt = new H2Attempt(this, r, connection, stream);
      stream[ATTEMPT] = attempt;
      // On a connected session the stream gets its id (headers submitted) inside request().
      if (!stream.pending) timeline.sent(tls.record.id, tls.record.localAddress);
      else stream.once('ready', H2Session.onStreamReady);
      // 'response', 'error' and 'close' are emitted once per stream: plain listeners suffice.
      stream.on('response', H2Session.onStreamResponse);
      stream.on('data', H2Session.onStreamData);
      stream.on('error', H2Session.onStreamError);
      stream.on('close', H2Session.onStreamClose);
      if (spec.body) stream.end(Buffer.from(spec.body));
      r.handle = attempt;
    } catch (error) {
      this.streamEnded(r, r.attempt, connection, error);
    }
    return true;
  }

  private static onStreamReady(this: AttemptStream): void {
    const { r, connection } = this[ATTEMPT]!;
    r.timeline.sent(connection.tls.record.id, connection.tls.record.localAddress);
  }

  private static onStreamResponse(this: AttemptStream, headers: IncomingHttpHeaders): void {
    const { r, attempt } = this[ATTEMPT]!;
    if (r.isCurrent(attempt)) r.timeline.headers(Number(headers[':status']), r.spec.keepBody ? normaliseHeaders(headers) : undefined);
  }

  private static onStreamData(this: AttemptStream, chunk: Buffer): void {
    const { r, attempt } = this[ATTEMPT]!;
    if (r.isCurrent(attempt)) r.timeline.data(chunk);
  }

  private static onStreamError(this: AttemptStream, error: Error): void {
    const { session, r, attempt, connection } = this[ATTEMPT]!;
    session.streamEnded(r, attempt, connection, error);
  }

  private static onStreamClose(this: AttemptStream): void {
    const { session, r, attempt, connection } = this[ATTEMPT]!;
    connection.streams--;
    if (this.rstCode !== constants.NGHTTP2_NO_ERROR) session.streamEnded(r, attempt, connection, new Error(`stream reset (HTTP/2 error code ${this.rstCode})`));
    else if (r.timeline.record.status === undefined) session.streamEnded(r, attempt, connection, new Error('stream closed without a response'));
    // A stream whose connection closed ends too (node pushes its end) with a CANCEL code, but
    // only a complete body was read to its end: one cut short is no response.
    else session.streamEnded(r, attempt, connection, this.readableEnded ? undefined : new Error('the connection closed before the response ended'));
    // A freed stream slot lets a waiting request start.
    if (connection === session.current) session.queue.pump();
  }

  /** An attempt's stream ended (error: failed); with reconnect, a broken connection sends its requests again. */
  private streamEnded(r: QueuedRequest, attempt: number, connection: H2Connection, error?: unknown): void {
    if (!r.isCurrent(attempt)) return;
    // The connection broke under the stream: with reconnect, every request on it goes again.
    if (error !== undefined && this.opts.reconnect && !this.closed && connectionBroken(connection)) {
      this.lost(connection, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.queue.finish(r, error);
  }

  async moveTo(localAddress: string): Promise<MoveOutcome> {
    if (this.closed) throw new BenchError('E_SESSION_CLOSED', 'HTTP/2 session is closed');
    this.localAddress = localAddress;
    await this.replace(new BenchError('E_MOVED', `the client moved to ${localAddress}`));
    return 'reconnected';
  }

  session(): Uint8Array | undefined {
    return this.latestTicket;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.replacing?.catch(() => {});
    const closedError = new Error('HTTP/2 connection is closed');
    // Requests still waiting never got a stream; those in flight may finish (for up to a second).
    this.queue.failWaiting(closedError);
    const connection = this.current;
    if (connection) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          connection.h2.destroy();
          resolve();
        }, 1000);
        connection.h2.close(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      connection.tls.socket.destroy();
    }
    this.queue.failAll(closedError);
  }
}

/** Streams beyond the server's SETTINGS_MAX_CONCURRENT_STREAMS wait in the queue. */
function streamLimit(h2: ClientHttp2Session): number {
  return h2.remoteSettings?.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS;
}

/** Whether a stream failed because its whole connection did (reset, closed), not the stream alone. */
function connectionBroken(connection: H2Connection): boolean {
  return connection.tls.socket.destroyed || connection.h2.destroyed || connection.h2.closed;
}

export const h2Driver: Driver = {
  protocol: 'h2',
  connect: (target, opts = {}) => H2Session.open(target, opts),
};
