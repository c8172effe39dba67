/**
 * HTTP/3 listener: a QUIC server endpoint (src/quic) whose connections each carry an I/O-free
 * HTTP/3 connection (src/h3), answering with the same handler as the H1/H2 listeners.
 *
 * Misbehaving clients cost only themselves: the HTTP/3 layer resets a malformed request's stream
 * (H3_MESSAGE_ERROR) and answers an oversized header section with 431, a stream the client
 * resets is dropped here, an HTTP/3 connection error closes that connection with its code, more
 * concurrent streams than MAX_STREAMS is a QUIC error for that client alone, garbage datagrams
 * are counted and dropped by the endpoint. close() sends GOAWAY first.
 */
import { H3Connection, type H3Event } from '../src/h3/connection.ts';
import { H3_NO_ERROR } from '../src/h3/errors.ts';
import type { HeaderList } from '../src/h3/headers.ts';
import { QuicServer, quicPacingFor, type QuicConnection, type QuicSenderStats, type QuicServerCounters } from '../src/quic/index.ts';
import { textBody } from './body.ts';
import { DEFAULT_STREAM_SCHEDULING, type H3Listener, type H3ListenerOptions, type HandlerRequest, type HandlerResponse, type RequestHandler, type ResponseBody, type StreamScheduling } from './handler-types.ts';

/** Largest request header section we take (SETTINGS_MAX_FIELD_SECTION_SIZE); larger ones get 431. */
export const H3_MAX_FIELD_SECTION_SIZE = 64 * 1024;

export interface H3ListenerExtraOptions {
  /** Stateless retry for every new client (address validation; +1 RTT). */
  retry?: boolean;
  /** Concurrent requests one client may have open (QUIC MAX_STREAMS); default 256 as H2. */
  maxConcurrentStreams?: number;
  idleTimeoutMs?: number;
}

export interface RunningH3Listener extends H3Listener {
  /**
   * Sender statistics of every connection not reported yet, open or closed (the runner samples
   * before and after each cell; a cell's connections are done with when it ends, though a closing
   * one may still be draining). Each connection is reported once.
   */
  takeConnectionStats(): QuicSenderStats[];
  /** What the endpoint dropped or answered statelessly. */
  counters: QuicServerCounters;
  /** Connections open now. */
  connections(): number;
  /** The client address and port each open connection sends to now (it follows a client that migrated). */
  peers(): Array<{ host: string; port: number }>;
  /** Requests received and answered, streams the client reset, connections closed for protocol errors. */
  stats: { received: number; requests: number; streamResets: number; connectionErrors: number };
}

interface Outgoing {
  /** Not yet handed to the HTTP/3 layer (see writeResponses). */
  headers?: Array<[string, string]>;
  bodyless: boolean;
  body: ResponseBody;
  /** Body bytes QUIC has taken. */
  offset: number;
}

/**
 * A response's HEADERS go out only when the stream can take this many bytes (HEADERS and the
 * start of the body): quiche puts one STREAM frame in a packet, so HEADERS written alone while
 * the window is full would later leave as a packet of their own (a hundred 60-byte packets for a
 * hundred responses), each costing a packet's overhead and pacing slot. nghttp2 likewise writes
 * HEADERS and DATA together when the socket takes them. Small, so that a client's small stream
 * window (quiche's capacity is the smaller of the window and the connection's room) never keeps a
 * response from starting.
 */
const HEADERS_WITH_BODY_BYTES = 256;

/** RFC 9218 section 4.1: the urgency of a request that carries no Priority field. */
const RFC9218_DEFAULT_URGENCY = 3;

export async function startH3Listener(opts: H3ListenerOptions & H3ListenerExtraOptions): Promise<RunningH3Listener> {
  const server = new QuicServer({
    host: opts.host,
    port: opts.port,
    alpn: ['h3'],
    certPem: opts.cert,
    keyPem: opts.key,
    congestionControl: opts.congestionControl,
    pacing: quicPacingFor(opts.pacing),
    retry: opts.retry,
    earlyData: true,
    idleTimeoutMs: opts.idleTimeoutMs,
    initialMaxStreamsBidi: opts.maxConcurrentStreams,
  });
  const stats = { received: 0, requests: 0, streamResets: 0, connectionErrors: 0 };
  const sessions = new Set<ServedConnection>();
  const closedStats: QuicSenderStats[] = [];
  const unreported = new Set<QuicConnection>();
  server.on('connection', (conn) => {
    unreported.add(conn);
    conn.once('closed', () => {
      if (unreported.delete(conn) && closedStats.length < 100_000) closedStats.push(conn.senderStats());
    });
    const h3 = new H3Connection(conn, { isServer: true, maxFieldSectionSize: H3_MAX_FIELD_SECTION_SIZE });
    const served = new ServedConnection(conn, h3, opts.handler, stats, opts.scheduling ?? DEFAULT_STREAM_SCHEDULING);
    sessions.add(served);
    conn.once('closed', () => sessions.delete(served));
  });
  const address = await server.listen();
  return {
    port: address.port,
    counters: server.counters,
    stats,
    connections: () => server.connections.size,
    peers: () => [...server.connections].map((c) => ({ ...c.peer })),
    takeConnectionStats() {
      const out = closedStats.splice(0);
      for (const conn of unreported) out.push(conn.senderStats());
      unreported.clear();
      return out;
    },
    async close() {
      for (const s of sessions) s.goaway();
      // Give in-flight responses a moment to finish after GOAWAY, then close everything.
      await Promise.race([
        Promise.all([...sessions].map((s) => s.idle())),
        new Promise((r) => setTimeout(r, 1000)),
      ]);
      await server.close({ code: H3_NO_ERROR, maxWaitMs: 500 });
    },
  };
}

class ServedConnection {
  private readonly outgoing = new Map<number, Outgoing>();
  /** Requests whose fields came in this pass, answered after it in stream order. */
  private readonly arrived: Array<{ streamId: number; headers: HeaderList }> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly scratch = Buffer.allocUnsafe(16 * 1024);
  private goingAway = false;

  constructor(
    private readonly conn: QuicConnection,
    private readonly h3: H3Connection,
    private readonly handler: RequestHandler,
    private readonly stats: RunningH3Listener['stats'],
    private readonly scheduling: StreamScheduling,
  ) {
    conn.on('activity', () => this.drive());
    conn.once('closed', () => {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      this.outgoing.clear();
      this.notifyIdle();
    });
  }

  private drive(): void {
    this.h3.process();
    for (let ev = this.h3.poll(); ev; ev = this.h3.poll()) this.onEvent(ev);
    // quiche lists readable streams in no particular order; requests are answered in the order
    // the client opened them, as nghttp2 does.
    if (this.arrived.length > 1) this.arrived.sort((a, b) => a.streamId - b.streamId);
    for (const { streamId, headers } of this.arrived.splice(0)) this.onRequest(streamId, headers);
    this.writeResponses();
  }

  private onEvent(ev: H3Event): void {
    switch (ev.type) {
      case 'headers':
        if (!ev.trailers) this.arrived.push({ streamId: ev.streamId, headers: ev.headers });
        return;
      case 'data':
        // No route reads a request body: drain it so flow control never stalls the client.
        try {
          while (this.h3.recvBody(ev.streamId, this.scratch) > 0);
        } catch {
          // The stream went away meanwhile.
        }
        return;
      case 'reset':
        this.stats.streamResets++;
        this.outgoing.delete(ev.streamId);
        this.notifyIdle();
        return;
      case 'connection-error':
        // The HTTP/3 layer already closed this connection with the code.
        this.stats.connectionErrors++;
        return;
      default:
        // 'writable' included: drive() writes pending bodies once after every poll.
        return;
    }
  }

  private onRequest(streamId: number, fields: HeaderList): void {
    // The HTTP/3 layer has validated the pseudo-fields (RFC 9114 section 4.3.1).
    const request = toHandlerRequest(fields);
    this.stats.received++;
    let response: HandlerResponse;
    try {
      response = this.handler(request, {});
    } catch (error) {
      response = { status: 500, headers: { 'content-type': 'text/plain' }, body: textBody(`internal error: ${String(error)}\n`) };
    }
    const send = () => this.respond(streamId, request, response);
    if (response.delayMs) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        send();
        this.conn.scheduleFlush();
      }, response.delayMs);
      this.timers.add(t);
    } else {
      send();
    }
  }

  private respond(streamId: number, request: HandlerRequest, response: HandlerResponse): void {
    if (this.conn.isClosed || this.h3.error) return;
    const headers: Array<[string, string]> = [[':status', String(response.status)]];
    for (const [k, v] of Object.entries(response.headers)) headers.push([k.toLowerCase(), v]);
    headers.push(['content-length', String(response.body.byteLength)]);
    const bodyless = request.method === 'HEAD' || response.body.byteLength === 0;
    // RFC 9218's defaults (urgency 3) for every response; incremental only when they take turns.
    this.conn.streamPriority(streamId, RFC9218_DEFAULT_URGENCY, this.scheduling === 'round-robin');
    this.outgoing.set(streamId, { headers, bodyless, body: response.body, offset: 0 });
    this.writeResponses();
  }

  /** Sends the HEADERS of a response once the connection can take some of its body with them. */
  private startResponse(streamId: number, out: Outgoing, headers: Array<[string, string]>, force: boolean): boolean {
    const wanted = out.bodyless ? 1 : Math.min(HEADERS_WITH_BODY_BYTES, out.body.byteLength + 64);
    if (!force && this.conn.streamCapacity(streamId) < wanted) return false;
    this.h3.sendResponse(streamId, headers, out.bodyless);
    out.headers = undefined;
    this.stats.requests++;
    return true;
  }

  /**
   * Hands responses (HEADERS, then the body) to QUIC. quiche takes stream data only up to the room left in the
   * congestion window (one budget for the whole connection), so the first body it cannot take
   * whole ends the pass: offering the rest would cost native calls per waiting stream on every
   * turn, for nothing. Round-robin: that body moves to the back, so the bodies take turns (as
   * nghttp2 serves HTTP/2 streams of equal weight). Sequential: it stays first, and the bodies
   * are offered in request order. Either way a response whose HEADERS its own stream window
   * cannot take goes to the back, so one small window cannot hold up the others.
   */
  private writeResponses(): void {
    // With no response under way, the first one starts whatever its stream's room: a stream
    // window smaller than HEADERS_WITH_BODY_BYTES must not keep the connection silent for ever.
    let underWay = false;
    for (const o of this.outgoing.values()) if (!o.headers) underWay = true;
    let refused = 0;
    for (const [streamId, out] of this.outgoing) {
      let blocked = false;
      try {
        if (out.headers && !this.startResponse(streamId, out, out.headers, !underWay)) {
          // Not enough room. Round-robin: to the back, so one stream's small window cannot hold
          // up the others. Sequential: it keeps its place (see below).
          if (this.scheduling === 'round-robin') {
            this.outgoing.delete(streamId);
            this.outgoing.set(streamId, out);
            break;
          }
          if (++refused === 2) break;
          continue;
        }
        underWay = true;
        while (!out.bodyless && out.offset < out.body.byteLength) {
          // quiche copies what it takes (as much as the window allows), a piece at most.
          const piece = out.body.pieceAt(out.offset);
          const n = this.h3.sendBody(streamId, piece, out.offset + piece.byteLength === out.body.byteLength);
          if (n <= 0) {
            blocked = true;
            break;
          }
          out.offset += n;
        }
      } catch {
        // STOP_SENDING or reset from the client (or a stream already gone): abandon this response only.
        this.outgoing.delete(streamId);
        continue;
      }
      if (out.bodyless || out.offset >= out.body.byteLength) this.outgoing.delete(streamId);
      if (blocked) {
        if (this.scheduling === 'round-robin') {
          this.outgoing.delete(streamId);
          this.outgoing.set(streamId, out);
          break;
        }
        // Sequential: it keeps its place. A second body refused in the same pass means the
        // connection has no room; one alone may be held by its own stream window only.
        if (++refused === 2) break;
      }
    }
    if (this.outgoing.size === 0 && this.timers.size === 0) this.notifyIdle();
  }

  goaway(): void {
    if (this.goingAway || this.conn.isClosed || this.h3.error) return;
    this.goingAway = true;
    try {
      // Requests received so far are answered; the client learns later ones were not processed.
      this.h3.sendGoaway();
    } catch {
      // Control stream already gone: the close below still ends the connection.
    }
    this.conn.scheduleFlush();
  }

  idle(): Promise<void> {
    if (this.outgoing.size === 0 && this.timers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.outgoing.size > 0 && !this.conn.isClosed) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

function toHandlerRequest(fields: HeaderList): HandlerRequest {
  const headers: Record<string, string> = {};
  let method = 'GET';
  let path = '/';
  for (const [name, value] of fields) {
    if (name === ':method') method = value;
    else if (name === ':path') path = value;
    else if (!name.startsWith(':')) headers[name] = headers[name] ? `${headers[name]}, ${value}` : value;
  }
  return { method, path, headers };
}
