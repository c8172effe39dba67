/**
 * The lean HTTP/2 client of the load workload: HTTP/2 written by hand (src/h2/) on a node:tls
 * socket, rather than node:http2. node:http2 crosses from JS into nghttp2 and back for every frame
 * and builds a Duplex stream per request; measured on loopback a minimal node:http2 client cost 31-38
 * µs of CPU per 1 KiB request at one core, below what a load generator must reach. Here one socket
 * read is one call of the frame parser for every frame in it, requests reuse one header block per
 * path, and bodies are counted, not kept (unless keepBody).
 *
 * What it does not do (the load workload needs none of it; connect() rejects the options): request
 * bodies and methods other than GET, reconnecting a broken connection, moveTo. A GOAWAY from the
 * server is honoured as a real client does: new requests go on a new connection, and those the
 * server did not process (above its last stream id, or REFUSED_STREAM) are sent again there.
 */
import { encodeRequestBlock } from '../h2/hpack.ts';
import { H2ClientConnection, type H2ClientEvents, type H2ClientOptions, type H2Windows } from '../h2/connection.ts';
import { BenchError } from '../util/errors.ts';
import { authorityOf, cannotMove, CLOSE_GRACE_MS, leanDriver, RequestTimeline } from './common.ts';
import { QueuedRequest, RequestQueue, type AttemptHandle } from './request-queue.ts';
import { endSocket, openTlsConnection, type TlsConnection } from './tcp-tls.ts';
import { DEFAULT_RECEIVE_WINDOWS, type ClientSession, type ConnectionRecord, type ConnectOptions, type Driver, type MoveOutcome, type RequestRecord, type RequestSpec, type Target } from './types.ts';

/** How long the server has to send its SETTINGS after the TLS handshake. */
const SETTINGS_TIMEOUT_MS = 10_000;
/** Header blocks kept per session, one per path (the load workload requests one path). */
const MAX_CACHED_BLOCKS = 256;

/** One attempt of one request on one stream: the stream's `user`, and the queue's handle to cancel it. */
class LeanAttempt implements AttemptHandle {
  readonly attempt: number;
  streamId = 0;

  constructor(
    readonly r: QueuedRequest,
    readonly connection: LeanConnection,
  ) {
    this.attempt = r.attempt;
  }

  cancel(): void {
    this.connection.h2.cancelStream(this.streamId);
  }
}

/** One TCP+TLS connection and the HTTP/2 state machine on it. */
class LeanConnection implements H2ClientEvents<LeanAttempt> {
  readonly h2: H2ClientConnection<LeanAttempt>;
  private flushQueued = false;
  private settled: ((error?: Error) => void) | undefined;

  constructor(
    readonly session: LeanH2Session,
    readonly tls: TlsConnection,
    opts: H2ClientOptions,
  ) {
    this.h2 = new H2ClientConnection(opts, this);
  }

  /** Starts the connection and resolves once the server's SETTINGS are in (its stream limit known). */
  start(): Promise<void> {
    const { socket } = this.tls;
    const settings = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.settled?.(new Error(`no SETTINGS from the server within ${SETTINGS_TIMEOUT_MS} ms`)), SETTINGS_TIMEOUT_MS);
      this.settled = (error) => {
        clearTimeout(timer);
        this.settled = undefined;
        if (error) reject(error);
        else resolve();
      };
    });
    socket.on('data', (chunk: Buffer) => this.h2.receive(chunk));
    socket.once('close', () => this.h2.transportClosed(new BenchError('E_CONNECTION_LOST', 'the HTTP/2 connection was lost')));
    this.h2.start();
    return settings;
  }

  /** Writes what the state machine queued, once per turn of the event loop's microtasks. */
  output(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    process.nextTick(flushConnection, this);
  }

  flush(): void {
    this.flushQueued = false;
    const bytes = this.h2.takeOutput();
    if (bytes && !this.tls.socket.destroyed) this.tls.socket.write(bytes);
  }

  headers(a: LeanAttempt, status: number, fields: Record<string, string> | undefined): void {
    if (a.r.isCurrent(a.attempt)) a.r.timeline.headers(status, fields);
  }

  data(a: LeanAttempt, bytes: Buffer, start: number, end: number): void {
    if (a.r.isCurrent(a.attempt)) a.r.timeline.data(bytes.subarray(start, end));
  }

  ended(a: LeanAttempt, error: Error | undefined, unprocessed: boolean): void {
    this.session.streamEnded(a, error, unprocessed);
  }

  ready(): void {
    if (this.settled && this.h2.settingsReceived) this.settled();
    this.session.pump(this);
  }

  closing(error: Error | undefined): void {
    this.settled?.(error ?? new Error('the server sent GOAWAY before the first request'));
    this.session.connectionClosing(this, error);
  }
}

function flushConnection(connection: LeanConnection): void {
  connection.flush();
}

class LeanH2Session implements ClientSession {
  readonly protocol = 'h2' as const;
  readonly connections: ConnectionRecord[] = [];
  private readonly queue: RequestQueue<QueuedRequest>;
  private readonly blocks = new Map<string, Buffer>();
  private readonly authority: string;
  private latestTicket: Buffer | undefined;
  /** The connection new streams go on; undefined while none is open (after a GOAWAY, before the next). */
  private current: LeanConnection | undefined;
  /** Connections that were sent GOAWAY and still carry streams. */
  private readonly draining = new Set<LeanConnection>();
  private opening: Promise<void> | undefined;
  private closed = false;
  /** The connection failed: requests fail rather than wait (the lean client does not reconnect). */
  private broken: Error | undefined;

  private constructor(
    private readonly target: Target,
    private readonly opts: ConnectOptions,
  ) {
    this.authority = authorityOf(target);
    this.queue = new RequestQueue(
      {
        canStart: () => this.current !== undefined && this.current.h2.canOpenStream(),
        start: (r) => this.startStream(r, this.current!),
      },
      opts.requestTimeoutMs,
    );
  }

  static async open(target: Target, opts: ConnectOptions): Promise<LeanH2Session> {
    const session = new LeanH2Session(target, opts);
    session.current = await session.connect(opts.session);
    return session;
  }

  /** The flow-control windows of the current connection (what we advertise, what the server allows). */
  windows(): H2Windows | undefined {
    return this.current?.h2.windows;
  }

  private async connect(ticket: Uint8Array | undefined): Promise<LeanConnection> {
    const tls = openTlsConnection({
      protocol: 'h2',
      target: this.target,
      alpn: 'h2',
      localAddress: this.opts.localAddress,
      session: ticket,
      onTicket: (t) => {
        this.latestTicket = t;
      },
    });
    this.connections.push(tls.record);
    try {
      await tls.ready;
      const windows = this.opts.receiveWindows ?? DEFAULT_RECEIVE_WINDOWS;
      const connection = new LeanConnection(this, tls, { streamWindow: windows.streamBytes, connectionWindow: windows.connectionBytes, keepHeaders: false });
      await connection.start();
      return connection;
    } catch (error) {
      tls.record.error ??= error instanceof Error ? error.message : String(error);
      tls.socket.destroy();
      throw error;
    } finally {
      this.opts.onConnection?.(tls.record);
    }
  }

  request(spec: RequestSpec): Promise<RequestRecord> {
    const timeline = new RequestTimeline('h2', spec);
    return new Promise((resolve) => {
      const refused = this.closed ? 'HTTP/2 connection is closed' : this.broken ? this.broken.message : unsupported(spec);
      if (refused) {
        resolve(timeline.finish(new Error(refused)));
        return;
      }
      this.queue.add(new QueuedRequest(timeline, resolve));
      if (this.current === undefined) this.openNext();
    });
  }

  /** The header block of a request: one per path, encoded once; a block of its own with headers. */
  private blockFor(r: QueuedRequest): Buffer {
    const extra = r.timeline.attemptHeaders();
    const path = r.spec.path;
    if (!extra) {
      const cached = this.blocks.get(path);
      if (cached) return cached;
    }
    const fields: Array<[string, string]> = [[':method', 'GET'], [':scheme', 'https'], [':authority', this.authority], [':path', path]];
    for (const [name, value] of Object.entries(extra ?? {})) fields.push([name.toLowerCase(), value]);
    const block = encodeRequestBlock(fields);
    if (!extra && this.blocks.size < MAX_CACHED_BLOCKS) this.blocks.set(path, block);
    return block;
  }

  private startStream(r: QueuedRequest, connection: LeanConnection): boolean {
    const attempt = new LeanAttempt(r, connection);
    attempt.streamId = connection.h2.openStream(this.blockFor(r), attempt);
    r.handle = attempt;
    const { record } = connection.tls;
    r.timeline.sent(record.id, record.localAddress);
    return true;
  }

  /** A stream is over: finished, failed, or (not processed by the server) back in line for the next connection. */
  streamEnded(a: LeanAttempt, error: Error | undefined, unprocessed: boolean): void {
    const { r } = a;
    if (!r.isCurrent(a.attempt)) return;
    if (error && unprocessed && !this.closed) {
      this.queue.resend([r], error);
      if (this.current === undefined || !this.current.h2.canOpenStream()) this.openNext();
      return;
    }
    this.queue.finish(r, error);
    this.retire(a.connection);
  }

  pump(connection: LeanConnection): void {
    if (connection === this.current) this.queue.pump();
    else this.retire(connection);
  }

  /**
   * GOAWAY (graceful or not) or a failure: new streams go elsewhere. The current connection failing
   * breaks the session (the lean client does not reconnect); one already left by GOAWAY failing
   * (the server closing it) only ends its own streams.
   */
  connectionClosing(connection: LeanConnection, error: Error | undefined): void {
    const wasCurrent = connection === this.current;
    if (wasCurrent) this.current = undefined;
    if (connection.h2.failed) {
      connection.tls.socket.destroy();
      this.draining.delete(connection);
      if (wasCurrent && !connection.h2.goingAway) {
        this.broken ??= error ?? connection.h2.failed;
        this.queue.failAll(this.broken);
        return;
      }
    } else {
      if (wasCurrent) this.draining.add(connection);
      this.retire(connection);
    }
    if (this.queue.waitingCount > 0) this.openNext();
  }

  /** A connection left by GOAWAY closes once its last stream is over. */
  private retire(connection: LeanConnection): void {
    if (connection === this.current || connection.h2.openStreams > 0 || !this.draining.has(connection)) return;
    this.draining.delete(connection);
    connection.h2.close();
    connection.flush();
    connection.tls.socket.end();
  }

  /** Opens the next connection (after a GOAWAY) for the requests waiting. */
  private openNext(): void {
    if (this.opening || this.closed || this.broken || this.current) return;
    this.opening = (async () => {
      try {
        this.current = await this.connect(this.latestTicket ?? this.opts.session);
      } catch (error) {
        this.broken = error instanceof Error ? error : new Error(String(error));
        this.queue.failAll(error);
        return;
      } finally {
        this.opening = undefined;
      }
      this.queue.pump();
    })();
  }

  async moveTo(): Promise<MoveOutcome> {
    throw cannotMove('HTTP/2');
  }

  session(): Uint8Array | undefined {
    return this.latestTicket;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.opening?.catch(() => {});
    await this.queue.close(new Error('HTTP/2 connection is closed'), CLOSE_GRACE_MS);
    for (const connection of [this.current, ...this.draining]) {
      if (!connection) continue;
      connection.h2.close();
      connection.flush();
      endSocket(connection.tls.socket, CLOSE_GRACE_MS);
    }
    this.current = undefined;
    this.draining.clear();
  }
}

/** Why the lean client refuses a request, or undefined. */
function unsupported(spec: RequestSpec): string | undefined {
  if ((spec.method ?? 'GET') !== 'GET' || spec.body) return `the lean HTTP/2 client sends GET requests without a body only (got ${spec.method ?? 'GET'}${spec.body ? ' with a body' : ''})`;
  return undefined;
}

/** The lean HTTP/2 driver: what the load workload uses for h2 unless its `client` is `library`. */
export const leanH2Driver: Driver = leanDriver('h2', 'HTTP/2', (target, opts) => LeanH2Session.open(target, opts));

/** Whether a session is the lean client's (for its windows in the result). */
export function leanWindows(session: ClientSession): H2Windows | undefined {
  return session instanceof LeanH2Session ? session.windows() : undefined;
}
