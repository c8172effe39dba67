/**
 * HTTP/3 driver: one QUIC connection (src/quic) carrying an I/O-free HTTP/3 connection
 * (src/h3). The QUIC connection feeds the HTTP/3 layer after every batch of datagrams
 * ('activity'); this driver polls it for events and routes them to request timelines.
 *
 * Timings match h1/h2: transportReady = tlsReady = handshake complete (QUIC does both at once).
 * With a session and earlyData, connect() resolves before the handshake so the first request
 * leaves in 0-RTT; the record says whether the server accepted it.
 */
import { monoMs } from '../util/clock.ts';
import { BenchError } from '../util/errors.ts';
import { QuicClient, quicPacingFor, type QuicConnection } from '../quic/index.ts';
import { authorityOf, errorText, newConnectionId, RequestTimeline } from './common.ts';
import { QueuedRequest, RequestQueue } from './request-queue.ts';
import { H3Connection, H3StreamBlockedError, type H3Event } from '../h3/connection.ts';
import { H3_NO_ERROR, H3_REQUEST_CANCELLED, h3ErrorName } from '../h3/errors.ts';
import {
  DEFAULT_RECEIVE_WINDOWS,
  type ClientSession,
  type ConnectionRecord,
  type ConnectOptions,
  type Driver,
  type MoveOptions,
  type MoveOutcome,
  type RequestRecord,
  type RequestSpec,
  type Target,
  type TransportStats,
} from './types.ts';

const HANDSHAKE_TIMEOUT_MS = 10_000;
const RECV_BUFFER = 64 * 1024;

class PendingRequest extends QueuedRequest {
  /** Request body bytes already written (flow control may hold the rest back). */
  bodyOffset = 0;
  /** Its stream, once sent. */
  streamId: number | undefined;
}

class H3ClientSession implements ClientSession {
  readonly protocol = 'h3' as const;
  readonly connections: ConnectionRecord[];
  /** Requests in flight by stream. */
  private readonly inflight = new Map<number, PendingRequest>();
  /** Requests wait for a stream (the peer's MAX_STREAMS) or for the handshake. */
  private readonly queue: RequestQueue<PendingRequest>;
  private readonly recvBuf = Buffer.allocUnsafe(RECV_BUFFER);
  private closed = false;
  private goawayId: number | undefined;

  private constructor(
    private readonly client: QuicClient,
    private readonly h3: H3Connection,
    private readonly record: ConnectionRecord,
    private readonly target: Target,
    private readonly requestTimeoutMs: number | undefined,
  ) {
    this.connections = [record];
    this.queue = new RequestQueue(
      {
        canStart: () => this.usable && client.connection.peerStreamsLeftBidi() > 0,
        start: (p) => this.startRequest(p),
        // A freed stream slot lets a waiting request start.
        finished: () => {
          if (this.queue.waitingCount > 0) client.connection.scheduleFlush();
        },
      },
      requestTimeoutMs,
    );
    const conn = client.connection;
    conn.on('activity', () => this.drive());
    conn.on('established', () => this.onEstablished());
    conn.once('closed', (info) => {
      this.record.closed = monoMs();
      const err = info.peer ?? info.local;
      if (err && err.errorCode !== H3_NO_ERROR && err.errorCode !== 0) {
        this.record.error ??= `connection closed (${err.isApp ? h3ErrorName(err.errorCode) : `QUIC error 0x${err.errorCode.toString(16)}`})`;
      } else if (info.timedOut) {
        this.record.error ??= 'connection idle timeout';
      }
      this.failAll(new BenchError('H3_CONNECTION_CLOSED', this.record.error ?? 'HTTP/3 connection closed'));
    });
  }

  static async open(target: Target, opts: ConnectOptions): Promise<H3ClientSession> {
    const record: ConnectionRecord = {
      id: newConnectionId('h3'),
      protocol: 'h3',
      start: monoMs(),
      resumed: false,
      earlyData: false,
    };
    let client: QuicClient;
    try {
      client = await QuicClient.connect({
        host: target.host,
        port: target.port,
        servername: target.servername,
        alpn: ['h3'],
        caPem: target.insecure ? undefined : target.ca,
        verifyPeer: !target.insecure,
        localAddress: opts.localAddress,
        session: opts.session,
        earlyData: opts.earlyData ?? false,
        congestionControl: opts.congestionControl,
        pacing: quicPacingFor(opts.pacing),
        initialMaxStreamData: (opts.receiveWindows ?? DEFAULT_RECEIVE_WINDOWS).streamBytes,
        initialMaxData: (opts.receiveWindows ?? DEFAULT_RECEIVE_WINDOWS).connectionBytes,
      });
    } catch (error) {
      record.error = errorText(error);
      record.closed = monoMs();
      opts.onConnection?.(record);
      throw error;
    }
    const conn = client.connection;
    record.start = conn.timings.start;
    record.localAddress = conn.local.host;
    record.localPort = conn.local.port;
    record.remoteAddress = conn.peer.host;
    record.remotePort = conn.peer.port;
    const h3 = new H3Connection(conn, { isServer: false });
    const session = new H3ClientSession(client, h3, record, target, opts.requestTimeoutMs);
    const early = Boolean(opts.session && opts.earlyData && conn.isInEarlyData);
    try {
      if (!early) await client.established(HANDSHAKE_TIMEOUT_MS);
      session.drive();
    } catch (error) {
      record.error = errorText(error);
      record.closed = monoMs();
      opts.onConnection?.(record);
      throw error;
    }
    opts.onConnection?.(record);
    return session;
  }

  private onEstablished(): void {
    const conn = this.client.connection;
    const t = conn.timings;
    this.record.transportReady = t.established;
    this.record.tlsReady = t.established;
    this.record.resumed = conn.isResumed;
    this.record.alpn = conn.alpn;
    this.record.earlyData = t.earlyDataStarted !== undefined && t.earlyDataAccepted === true;
    // Requests sent as 0-RTT keep earlyData only when the server took it.
    if (t.earlyDataAccepted === false) {
      for (const p of this.inflight.values()) if (p.timeline.record.earlyData) p.timeline.record.earlyData = false;
    }
  }

  private get usable(): boolean {
    const c = this.client.connection;
    return !this.closed && !c.isClosed && (c.isEstablished || c.isInEarlyData);
  }

  request(spec: RequestSpec): Promise<RequestRecord> {
    const timeline = new RequestTimeline('h3', spec);
    return new Promise((resolve) => {
      const conn = this.client.connection;
      if (this.closed || conn.isClosed || this.h3.error) {
        resolve(timeline.finish(new BenchError('H3_CLOSED', this.record.error ?? 'HTTP/3 connection is closed')));
        return;
      }
      this.queue.add(new PendingRequest(timeline, resolve));
      this.drive();
    });
  }

  /** One pass: start waiting requests, push request bodies, poll HTTP/3 events. */
  private drive(): void {
    this.h3.process();
    this.pollEvents();
    if (this.usable) {
      this.queue.pump();
      this.writeBodies();
    }
  }

  /** Opens the request's stream and sends its headers; false when the peer has no stream credit for it yet. */
  private startRequest(p: PendingRequest): boolean {
    const conn = this.client.connection;
    if (this.goawayId !== undefined && !this.h3.canSendRequest()) {
      this.queue.finish(p, new BenchError('H3_GOAWAY', 'server sent GOAWAY; request not sent'));
      return true;
    }
    const headers: Array<[string, string]> = [
      [':method', p.spec.method ?? 'GET'],
      [':scheme', 'https'],
      [':authority', authorityOf(this.target)],
      [':path', p.spec.path],
    ];
    for (const [k, v] of Object.entries(p.timeline.attemptHeaders() ?? {})) headers.push([k.toLowerCase(), v]);
    const body = p.spec.body;
    let streamId: number;
    try {
      streamId = this.h3.sendRequest(headers, !body || body.byteLength === 0);
    } catch (error) {
      if (error instanceof H3StreamBlockedError) return false; // no stream credit: retry on the next activity
      this.queue.finish(p, error);
      return true;
    }
    p.timeline.record.earlyData = conn.isInEarlyData && !conn.isEstablished;
    p.timeline.sent(this.record.id, conn.local.host);
    p.streamId = streamId;
    this.inflight.set(streamId, p);
    // RESET_STREAM and STOP_SENDING: the server stops sending, the stream's credit comes back.
    p.handle = {
      cancel: () => {
        this.inflight.delete(streamId);
        this.h3.resetStream(streamId, H3_REQUEST_CANCELLED);
        conn.scheduleFlush();
      },
    };
    return true;
  }

  private writeBodies(): void {
    for (const [streamId, p] of this.inflight) {
      const body = p.spec.body;
      if (!body || p.bodyOffset >= body.byteLength) continue;
      try {
        const n = this.h3.sendBody(streamId, body.subarray(p.bodyOffset), true);
        p.bodyOffset += n;
      } catch (error) {
        this.finish(streamId, error);
      }
    }
  }

  private pollEvents(): void {
    for (;;) {
      const ev: H3Event | null = this.h3.poll();
      if (!ev) return;
      this.onEvent(ev);
    }
  }

  private onEvent(ev: H3Event): void {
    switch (ev.type) {
      case 'headers': {
        const p = this.inflight.get(ev.streamId);
        if (!p || ev.trailers) return;
        const status = Number(ev.headers.find(([n]) => n === ':status')?.[1]);
        const plain: Record<string, string> = {};
        for (const [n, v] of ev.headers) if (!n.startsWith(':')) plain[n] = plain[n] ? `${plain[n]}, ${v}` : v;
        p.timeline.headers(status, plain);
        if (ev.fin) this.finish(ev.streamId);
        return;
      }
      case 'data': {
        const p = this.inflight.get(ev.streamId);
        for (;;) {
          let n: number;
          try {
            n = this.h3.recvBody(ev.streamId, this.recvBuf);
          } catch (error) {
            this.finish(ev.streamId, error);
            return;
          }
          if (n <= 0) return;
          // RequestTimeline keeps chunks only with keepBody: copy only then.
          p?.timeline.data(p.spec.keepBody ? Buffer.from(this.recvBuf.subarray(0, n)) : this.recvBuf.subarray(0, n));
        }
      }
      case 'finished':
        this.finish(ev.streamId);
        return;
      case 'reset':
        this.finish(ev.streamId, new BenchError('H3_STREAM_RESET', `stream reset (${h3ErrorName(ev.code)})`));
        return;
      case 'writable':
        this.writeBodies();
        return;
      case 'connection-error':
        this.record.error ??= `${h3ErrorName(ev.code)}: ${ev.reason}`;
        this.failAll(new BenchError('H3_CONNECTION_ERROR', this.record.error));
        return;
      case 'goaway':
        this.goawayId = ev.id;
        // Requests on streams at or above the GOAWAY id were not processed (RFC 9114 section 5.2).
        for (const [id] of this.inflight) {
          if (id >= ev.id) this.finish(id, new BenchError('H3_GOAWAY', 'request not processed: server sent GOAWAY'));
        }
        return;
      default:
        return;
    }
  }

  private finish(streamId: number, error?: unknown): void {
    const p = this.inflight.get(streamId);
    if (!p) return;
    this.inflight.delete(streamId);
    if (!error && p.timeline.record.status === undefined) error = new BenchError('H3_NO_RESPONSE', 'stream ended without a response');
    this.queue.finish(p, error);
  }

  private failAll(error: unknown): void {
    this.inflight.clear();
    this.queue.failAll(error);
  }

  session(): Uint8Array | undefined {
    return this.client.connection.session();
  }

  async stats(): Promise<TransportStats | undefined> {
    const s = this.client.connection.stats();
    return {
      rttMs: s.rttMs,
      cwndBytes: s.cwndBytes,
      sentPackets: s.sentPackets,
      recvPackets: s.recvPackets,
      lostPackets: s.lostPackets,
      retransmittedPackets: s.retransmittedPackets,
      sentBytes: s.sentBytes,
      recvBytes: s.recvBytes,
      sendDating: this.client.connection.sendDating,
    };
  }

  /** Connection migration: the same connection and streams continue from the new address. */
  async moveTo(localAddress: string, opts: MoveOptions = {}): Promise<MoveOutcome> {
    const local = await this.client.migrate(localAddress, { probe: opts.probe ?? false });
    this.record.localAddress = local.host;
    this.record.localPort = local.port;
    return 'migrated';
  }

  /** The QUIC connection underneath (stats, path events) for measurements beyond the Driver API. */
  get quic(): QuicConnection {
    return this.client.connection;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [id] of this.inflight) this.h3.resetStream(id, H3_REQUEST_CANCELLED);
    this.failAll(new BenchError('H3_CLOSED', 'HTTP/3 session closed'));
    await this.client.close(H3_NO_ERROR);
    this.record.closed ??= monoMs();
  }
}

export const h3Driver: Driver = {
  protocol: 'h3',
  connect: (target, opts = {}) => H3ClientSession.open(target, opts),
};
