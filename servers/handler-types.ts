/**
 * The protocol-independent request handler shared by the H1, H2 and H3 listeners.
 * Each listener turns its protocol's request into a HandlerRequest and writes the HandlerResponse.
 */
import type { SenderPacing } from '../netem/model.ts';
import type { QuicSenderStats } from '../src/quic/stats.ts';
export interface HandlerRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

export interface HandlerResponse {
  status: number;
  headers: Record<string, string>;
  body: ResponseBody;
  /** Wait this long before sending headers (the /delay route). */
  delayMs?: number;
}

/**
 * A response body handed out piece by piece (servers/body.ts), so that a large one is never whole
 * in memory. Pieces are views of preallocated bytes, shared by every response: listeners write
 * them without copying and never modify them.
 */
export interface ResponseBody {
  /** The exact length (the listeners' content-length). */
  readonly byteLength: number;
  /** The bytes from `offset` on, at most one piece of them: a view, at least one byte while offset < byteLength. */
  pieceAt(offset: number): Uint8Array;
}

/** What a listener knows about its siblings, for headers such as Alt-Svc. */
export interface HandlerContext {
  /** UDP port of the H3 listener, advertised with Alt-Svc by H1/H2 responses. */
  h3Port?: number;
}

/**
 * How a server shares one connection among the responses under way: `sequential` sends them one
 * after the other in request order (RFC 9218's default for a request without a Priority field:
 * urgency 3, not incremental); `round-robin` lets them take turns (HTTP/2: a DATA frame each, up to
 * 16 KB; HTTP/3: a packet each). The scheduler decides how many streams one loss holds up
 * (Marx et al. 2020), so bench's HTTP/2 and HTTP/3 servers are set alike.
 */
export type StreamScheduling = 'sequential' | 'round-robin';
export const STREAM_SCHEDULING: readonly StreamScheduling[] = ['sequential', 'round-robin'];
export const DEFAULT_STREAM_SCHEDULING: StreamScheduling = 'sequential';

/** The route table (servers/handler.ts). `req.path` is the request target with its query, as in :path. */
export type RequestHandler = (req: HandlerRequest, ctx?: HandlerContext) => HandlerResponse;

/** servers/h3.ts exports `startH3Listener(opts: H3ListenerOptions): Promise<H3Listener>`. */
export interface H3ListenerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** PEM certificate and PKCS#8 key (the run's certificate, shared with H1/H2). */
  cert: string;
  key: string;
  handler: RequestHandler;
  congestionControl?: 'cubic' | 'reno' | 'bbr';
  pacing?: SenderPacing;
  scheduling?: StreamScheduling;
}

export interface H3Listener {
  /** The UDP port actually bound. */
  port: number;
  /** Sender statistics of the QUIC connections not reported yet (see servers/h3.ts). */
  takeConnectionStats(): QuicSenderStats[];
  close(): Promise<void>;
}
