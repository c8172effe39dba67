/**
 * HTTP/2 driver: one TCP+TLS connection (node:http2 over our own TLS socket, so its timings are
 * observed directly), many concurrent streams. Streams beyond the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS wait here, so `sent` is when a stream really went out.
 */
import { connect as h2Connect, constants, type ClientHttp2Session } from 'node:http2';
import { authorityOf, normaliseHeaders, RequestTimeline } from './common.ts';
import { openTlsConnection, type TlsConnection } from './tcp-tls.ts';
import type { ClientSession, ConnectionRecord, ConnectOptions, Driver, RequestRecord, RequestSpec, Target } from './types.ts';

/** Receive windows as Chromium sets them (6 MiB per stream, 15 MiB per connection). */
export const H2_CLIENT_STREAM_WINDOW = 6 * 1024 * 1024;
export const H2_CLIENT_CONNECTION_WINDOW = 15 * 1024 * 1024;
/** Used until the server's SETTINGS arrive (RFC 9113 recommends servers allow at least 100). */
const DEFAULT_MAX_CONCURRENT_STREAMS = 100;

class H2Session implements ClientSession {
  readonly protocol = 'h2' as const;
  readonly connections: ConnectionRecord[];
  private latestTicket: Buffer | undefined;
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private closed = false;

  private constructor(
    private readonly connection: TlsConnection,
    private readonly h2: ClientHttp2Session,
    private readonly requestTimeoutMs: number | undefined,
  ) {
    this.connections = [connection.record];
  }

  static async open(target: Target, opts: ConnectOptions): Promise<H2Session> {
    let ticket: Buffer | undefined;
    const connection = openTlsConnection({
      protocol: 'h2',
      target,
      alpn: 'h2',
      localAddress: opts.localAddress,
      session: opts.session,
      onTicket: (t) => {
        ticket = t;
        if (session) session.latestTicket = t;
      },
    });
    let session: H2Session | undefined;
    try {
      await connection.ready;
      const h2 = h2Connect(`https://${authorityOf(target)}`, {
        createConnection: () => connection.socket,
        settings: { enablePush: false, initialWindowSize: H2_CLIENT_STREAM_WINDOW },
        maxSessionMemory: 256,
      });
      await new Promise<void>((resolve, reject) => {
        h2.once('connect', () => resolve());
        h2.once('error', reject);
      });
      h2.on('error', (error) => {
        connection.record.error ??= error.message;
      });
      h2.setLocalWindowSize(H2_CLIENT_CONNECTION_WINDOW);
      h2.on('remoteSettings', () => session?.pump());
      session = new H2Session(connection, h2, opts.requestTimeoutMs);
      session.latestTicket = ticket;
      return session;
    } catch (error) {
      connection.socket.destroy();
      throw error;
    } finally {
      opts.onConnection?.(connection.record);
    }
  }

  private get streamLimit(): number {
    return this.h2.remoteSettings?.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS;
  }

  private pump(): void {
    while (this.waiting.length > 0 && this.active < this.streamLimit) this.waiting.shift()!();
  }

  request(spec: RequestSpec): Promise<RequestRecord> {
    const timeline = new RequestTimeline('h2', spec);
    return new Promise((resolve) => {
      let cancelStream: ((error: Error) => void) | undefined;
      const start = () => {
        this.active++;
        cancelStream = this.startStream(spec, timeline, (record) => {
          this.active--;
          this.pump();
          resolve(record);
        });
      };
      timeline.expireAfter(this.requestTimeoutMs, (error) => {
        if (cancelStream) return cancelStream(error);
        // Still waiting for a stream slot: it never left.
        const index = this.waiting.indexOf(start);
        if (index >= 0) this.waiting.splice(index, 1);
        resolve(timeline.finish(error));
      });
      if (this.active < this.streamLimit && this.waiting.length === 0) start();
      else this.waiting.push(start);
    });
  }

  /** Opens the request's stream; returns how to cancel it (RST_STREAM CANCEL, then `done` with the error). */
  private startStream(spec: RequestSpec, timeline: RequestTimeline, done: (r: RequestRecord) => void): (error: Error) => void {
    const finish = (error?: unknown) => {
      if (!timeline.isFinished) done(timeline.finish(error));
    };
    if (this.closed || this.h2.closed || this.h2.destroyed) {
      finish(new Error('HTTP/2 connection is closed'));
      return finish;
    }
    try {
      const stream = this.h2.request(
        { ':method': spec.method ?? 'GET', ':path': spec.path, ...spec.headers },
        { endStream: !spec.body },
      );
      // On a connected session the stream gets its id (headers submitted) inside request().
      if (!stream.pending) timeline.sent(this.connection.record.id);
      else stream.once('ready', () => timeline.sent(this.connection.record.id));
      stream.once('response', (headers) => {
        timeline.headers(Number(headers[':status']), spec.keepBody ? normaliseHeaders(headers) : undefined);
      });
      stream.on('data', (chunk: Buffer) => timeline.data(chunk));
      stream.once('end', () => finish());
      stream.once('error', (error) => finish(error));
      stream.once('close', () => {
        if (stream.rstCode !== constants.NGHTTP2_NO_ERROR) finish(new Error(`stream reset (HTTP/2 error code ${stream.rstCode})`));
        else finish(timeline.record.status === undefined ? new Error('stream closed without a response') : undefined);
      });
      if (spec.body) stream.end(Buffer.from(spec.body));
      return (error) => {
        finish(error);
        stream.close(constants.NGHTTP2_CANCEL);
      };
    } catch (error) {
      finish(error);
      return finish;
    }
  }

  session(): Uint8Array | undefined {
    return this.latestTicket;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const start of this.waiting.splice(0)) start();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.h2.destroy();
        resolve();
      }, 1000);
      this.h2.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.connection.socket.destroy();
  }
}

export const h2Driver: Driver = {
  protocol: 'h2',
  connect: (target, opts = {}) => H2Session.open(target, opts),
};
