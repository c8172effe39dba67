/**
 * The lean HTTP/1.1 client of the load workload: a pool of keep-alive TLS connections (pipelining
 * 1, up to `maxConnections`, as the undici pool of h1.ts), one request encoded once per path and
 * written as it is, responses read by a small parser (src/h1/response.ts: status line, headers,
 * Content-Length, chunked, to-close) that counts bodies instead of keeping them unless asked.
 *
 * Not supported (rejected, never ignored): request bodies and methods other than GET, `reconnect`,
 * `earlyData`, moveTo. A request timeout closes its connection (as undici does); the pool dials
 * another when requests wait.
 */
import { H1ParseError, H1ResponseParser, type H1ResponseEvents } from '../h1/response.ts';
import { authorityOf, cannotMove, CLOSE_GRACE_MS, errorText, leanDriver, RequestTimeline } from './common.ts';
import { QueuedRequest, RequestQueue, type AttemptHandle } from './request-queue.ts';
import { endSocket, openTlsConnection, type TlsConnection } from './tcp-tls.ts';
import type { ClientSession, ConnectionRecord, ConnectOptions, Driver, MoveOutcome, RequestRecord, RequestSpec, Target } from './types.ts';

/** Request heads kept per session, one per path. */
const MAX_CACHED_HEADS = 256;

/** One keep-alive connection: at most one request at a time. */
class LeanH1Connection implements H1ResponseEvents, AttemptHandle {
  readonly parser: H1ResponseParser;
  /** The request on the wire, and its attempt number. */
  current: QueuedRequest | undefined;
  private attempt = 0;
  dead = false;

  constructor(
    readonly pool: LeanH1Session,
    readonly tls: TlsConnection,
    keepHeaders: boolean,
  ) {
    this.parser = new H1ResponseParser(this, keepHeaders);
    tls.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    tls.socket.once('close', () => this.onClose());
  }

  send(r: QueuedRequest, head: Buffer): void {
    this.current = r;
    this.attempt = r.attempt;
    r.handle = this;
    this.parser.expect(false);
    this.tls.socket.write(head);
    const { record } = this.tls;
    r.timeline.sent(record.id, record.localAddress);
  }

  /** The request timed out: the connection cannot be reused mid-response, so it closes. */
  cancel(): void {
    this.current = undefined;
    this.kill();
  }

  head(status: number, fields: Record<string, string> | undefined): void {
    const r = this.current;
    if (r && r.isCurrent(this.attempt)) r.timeline.headers(status, fields);
  }

  data(bytes: Buffer, start: number, end: number): void {
    const r = this.current;
    if (r && r.isCurrent(this.attempt)) r.timeline.data(bytes.subarray(start, end));
  }

  complete(keepAlive: boolean): void {
    const r = this.current;
    this.current = undefined;
    if (!keepAlive) this.kill();
    if (r) this.pool.finished(this, r, undefined);
  }

  private onData(chunk: Buffer): void {
    try {
      this.parser.push(chunk);
    } catch (error) {
      if (!(error instanceof H1ParseError)) throw error;
      this.fail(error);
    }
  }

  private onClose(): void {
    this.dead = true;
    try {
      this.parser.closed();
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.pool.lost(this);
  }

  private fail(error: Error): void {
    const r = this.current;
    this.current = undefined;
    this.tls.record.error ??= errorText(error);
    this.kill();
    if (r) this.pool.finished(this, r, error);
    else this.pool.lost(this);
  }

  kill(): void {
    if (!this.dead) {
      this.dead = true;
      this.tls.socket.destroy();
    }
  }
}

class LeanH1Session implements ClientSession {
  readonly protocol = 'h1' as const;
  readonly connections: ConnectionRecord[] = [];
  private readonly queue: RequestQueue<QueuedRequest>;
  private readonly idle: LeanH1Connection[] = [];
  private readonly all = new Set<LeanH1Connection>();
  private readonly heads = new Map<string, Buffer>();
  private readonly authority: string;
  private readonly maxConnections: number;
  private dialing = 0;
  private latestTicket: Buffer | undefined;
  private closed = false;
  /** The last connection attempt failed: requests fail rather than wait while none is open. */
  private dialError: Error | undefined;

  private constructor(
    private readonly target: Target,
    private readonly opts: ConnectOptions,
  ) {
    this.authority = authorityOf(target);
    this.maxConnections = opts.maxConnections ?? 6;
    this.queue = new RequestQueue(
      {
        canStart: () => this.idle.length > 0,
        start: (r) => {
          const connection = this.idle.pop()!;
          connection.send(r, this.headFor(r));
          return true;
        },
      },
      opts.requestTimeoutMs,
    );
  }

  /** Opens the first connection eagerly (connect timings exist before any request), as h1.ts does. */
  static async open(target: Target, opts: ConnectOptions): Promise<LeanH1Session> {
    const session = new LeanH1Session(target, opts);
    session.dialing++;
    try {
      session.added(await session.dial());
    } finally {
      session.dialing--;
    }
    return session;
  }

  private async dial(): Promise<LeanH1Connection> {
    const tls = openTlsConnection({
      protocol: 'h1',
      target: this.target,
      alpn: 'http/1.1',
      localAddress: this.opts.localAddress,
      session: this.latestTicket ?? this.opts.session,
      onTicket: (t) => {
        this.latestTicket = t;
      },
    });
    this.connections.push(tls.record);
    try {
      await tls.ready;
      return new LeanH1Connection(this, tls, false);
    } catch (error) {
      tls.socket.destroy();
      throw error;
    } finally {
      this.opts.onConnection?.(tls.record);
    }
  }

  private added(connection: LeanH1Connection): void {
    this.all.add(connection);
    if (this.closed) {
      connection.kill();
      return;
    }
    this.idle.push(connection);
    this.queue.pump();
  }

  /** Dials another connection when requests wait for more than the connections on their way. */
  private grow(): void {
    while (!this.closed && this.queue.waitingCount > this.dialing && this.all.size + this.dialing < this.maxConnections) {
      this.dialing++;
      this.dial().then(
        (c) => {
          this.dialing--;
          this.dialError = undefined;
          this.added(c);
          this.grow();
        },
        (error: unknown) => {
          this.dialing--;
          this.dialError = error instanceof Error ? error : new Error(String(error));
          // With no connection left, what waits cannot be sent.
          if (this.all.size === 0 && this.dialing === 0) this.queue.failAll(this.dialError);
        },
      );
    }
  }

  private headFor(r: QueuedRequest): Buffer {
    const extra = r.timeline.attemptHeaders();
    const path = r.spec.path;
    if (!extra) {
      const cached = this.heads.get(path);
      if (cached) return cached;
    }
    let text = `GET ${path} HTTP/1.1\r\nhost: ${this.authority}\r\n`;
    for (const [name, value] of Object.entries(extra ?? {})) text += `${name}: ${value}\r\n`;
    const head = Buffer.from(`${text}\r\n`, 'latin1');
    if (!extra && this.heads.size < MAX_CACHED_HEADS) this.heads.set(path, head);
    return head;
  }

  request(spec: RequestSpec): Promise<RequestRecord> {
    const timeline = new RequestTimeline('h1', spec);
    return new Promise((resolve) => {
      const refused = this.closed
        ? 'HTTP/1.1 pool is closed'
        : (spec.method ?? 'GET') !== 'GET' || spec.body
          ? `the lean HTTP/1.1 client sends GET requests without a body only (got ${spec.method ?? 'GET'}${spec.body ? ' with a body' : ''})`
          : this.all.size === 0 && this.dialing === 0 && this.dialError
            ? errorText(this.dialError)
            : undefined;
      if (refused) {
        resolve(timeline.finish(new Error(refused)));
        return;
      }
      this.queue.add(new QueuedRequest(timeline, resolve));
      if (this.queue.waitingCount > 0) this.grow();
    });
  }

  /** A connection's request is over; a live keep-alive connection takes the next one. */
  finished(connection: LeanH1Connection, r: QueuedRequest, error: Error | undefined): void {
    if (connection.dead) this.all.delete(connection);
    else this.idle.push(connection);
    this.queue.finish(r, error);
    this.queue.pump();
    if (this.queue.waitingCount > 0) this.grow();
  }

  /** A connection closed with no request on it (the server's keep-alive ended, or we closed it). */
  lost(connection: LeanH1Connection): void {
    this.all.delete(connection);
    const i = this.idle.indexOf(connection);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.queue.waitingCount > 0) this.grow();
  }

  async moveTo(): Promise<MoveOutcome> {
    throw cannotMove('HTTP/1.1');
  }

  session(): Uint8Array | undefined {
    return this.latestTicket;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.close(new Error('HTTP/1.1 pool is closed'), CLOSE_GRACE_MS);
    for (const c of this.all) {
      c.dead = true;
      endSocket(c.tls.socket, CLOSE_GRACE_MS);
    }
    this.all.clear();
    this.idle.length = 0;
  }
}

/** The lean HTTP/1.1 driver: what the load workload uses for h1 unless its `client` is `library`. */
export const leanH1Driver: Driver = leanDriver('h1', 'HTTP/1.1', (target, opts) => LeanH1Session.open(target, opts));
