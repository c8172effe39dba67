/**
 * The one interface every protocol driver implements (h1, h2, h3). Workloads talk only to this.
 * All timestamps are monoMs() values (src/util/clock.ts): one monotonic clock across processes.
 */
import type { SendDating } from '../quic/stats.ts';
import type { SenderPacing } from '../../netem/model.ts';
export type Protocol = 'h1' | 'h2' | 'h3';
export const PROTOCOLS: readonly Protocol[] = ['h1', 'h2', 'h3'];

export interface Target {
  /** Address to connect to (IP literal or host name). */
  host: string;
  port: number;
  /** TLS server name (SNI) and :authority; defaults to host. */
  servername?: string;
  /** PEM CA/certificate to trust; when absent and insecure is false, system CAs are used. */
  ca?: string;
  /** Skip certificate verification (external targets with self-signed certificates). */
  insecure?: boolean;
}

export interface ConnectOptions {
  /** Resumption state from a previous connection's session() (TLS ticket or QUIC session). */
  session?: Uint8Array;
  /** h3: send the first request as 0-RTT early data when a session is given. */
  earlyData?: boolean;
  /** h1: how many parallel TCP connections the pool may open (browsers: 6). h2/h3 ignore it. */
  maxConnections?: number;
  /** Local address to bind (selects the network path). */
  localAddress?: string;
  /** Congestion control for QUIC (TCP's is set per namespace). */
  congestionControl?: 'cubic' | 'reno' | 'bbr';
  /** QUIC: which pacer runs (network.pacing; src/quic/config.ts quicPacingFor). TCP clients send only requests and ACKs here. */
  pacing?: SenderPacing;
  /** Called for every connection opened by this client (h1 pools open several). */
  onConnection?: (record: ConnectionRecord) => void;
  /**
   * Every request fails with a RequestTimeoutError this long after it was handed to the driver
   * unless complete; its stream is reset (h2, h3) or the request aborted (h1). No timeout when absent.
   */
  requestTimeoutMs?: number;
  /**
   * h1, h2: when a connection breaks (reset, closed under its requests) with GET or HEAD requests in
   * flight, open a new one (resumed with the session ticket) and send them again, a partly received
   * body resumed with a Range request, as a mobile client does. Off (default): they fail. h3 has
   * nothing to do here: its connection survives an address change (a closed QUIC connection stays closed).
   */
  reconnect?: boolean;
  /**
   * h1, h2 with reconnect: a connection with requests in flight that receives nothing for this long
   * counts as broken too. A client that only receives (a download) behind a NAT that forgot it hears
   * no reset, since it sends nothing to meet one; without this it waits for the request timeout.
   */
  silenceTimeoutMs?: number;
  /** h2, h3: the receive windows this client advertises (default DEFAULT_RECEIVE_WINDOWS); h1 leaves TCP's to the kernel. */
  receiveWindows?: ReceiveWindows;
}

/** Flow-control receive windows, in bytes: per stream, and for the whole connection. */
export interface ReceiveWindows {
  streamBytes: number;
  connectionBytes: number;
}

/**
 * Receive windows as Chromium sets them for HTTP/2 and QUIC (6 MiB per stream, 15 MiB per
 * connection): the h2 and h3 clients advertise the same, so flow control does not tilt a comparison.
 */
export const DEFAULT_RECEIVE_WINDOWS: ReceiveWindows = { streamBytes: 6 * 1024 * 1024, connectionBytes: 15 * 1024 * 1024 };

/**
 * What both stacks can advertise: HTTP/2 caps a window at 2^31-1 (RFC 9113 section 6.9.1; QUIC
 * allows 2^62), and a connection window below HTTP/2's initial 65,535 bytes cannot be advertised.
 */
export const RECEIVE_WINDOW_LIMITS = { min: 65_535, max: 2 ** 31 - 1 } as const;

/** What a move did: the connection moved with the client (QUIC) or a new one replaced it (TCP). */
export type MoveOutcome = 'migrated' | 'reconnected';

export interface MoveOptions {
  /**
   * h3: validate the new path (PATH_CHALLENGE, 1 RTT) before moving, as a client does while the old
   * network still works. Default false: move at once, as when the old network is gone; the server
   * validates the new address while data already flows. h1/h2 connect anew either way.
   */
  probe?: boolean;
}

/** One transport connection (one TCP+TLS connection or one QUIC connection). */
export interface ConnectionRecord {
  id: string;
  protocol: Protocol;
  /** When the driver started to connect. */
  start: number;
  /** TCP connected / QUIC handshake complete. */
  transportReady?: number;
  /** TLS handshake done (for QUIC: equal to transportReady). */
  tlsReady?: number;
  /** Session resumed from a ticket. */
  resumed: boolean;
  /** Early data: true accepted, false rejected or not attempted, 'n/a' when the stack cannot send it. */
  earlyData: boolean | 'n/a';
  alpn?: string;
  localAddress?: string;
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
  closed?: number;
  error?: string;
}

export interface RequestSpec {
  method?: 'GET' | 'POST' | 'HEAD';
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Keep the body bytes in the record (for `bench get` and checksum tests); default false. */
  keepBody?: boolean;
  /** Record when each body chunk arrived (RequestRecord.progress): head-of-line analysis needs it. */
  recordProgress?: boolean;
}

export interface RequestRecord {
  id: string;
  connectionId?: string;
  path: string;
  /** Handed to the driver. */
  queued: number;
  /** Request headers written to the connection. */
  sent?: number;
  /** Response headers received. */
  headers?: number;
  /** First response body byte. */
  firstByte?: number;
  /** Response complete (or failed). */
  done: number;
  /** Response body bytes received. */
  bytes: number;
  status?: number;
  responseHeaders?: Record<string, string>;
  body?: Uint8Array;
  /** Sent as 0-RTT early data (h3). */
  earlyData?: boolean;
  /** Local address of the connection that carried it (the last one, when it was sent again). */
  localAddress?: string;
  /** Times it was sent again on a new connection because its own was lost or left (ConnectOptions.reconnect, moveTo). */
  retries?: number;
  /** Why it was first sent again: the error its connection failed with (how the client noticed a break). */
  retriedBecause?: string;
  /** When its last attempt was written, when it was sent again (`sent` stays the first time). */
  resent?: number;
  /** Body offset the last attempt asked for with a Range request and got (206): the bytes before came on an earlier connection. */
  resumedFrom?: number;
  /** Body bytes received a second time (a re-sent request answered in full rather than from its Range). */
  refetchedBytes?: number;
  /** With RequestSpec.recordProgress: [monoMs, body bytes received so far] per chunk delivered. */
  progress?: Array<[number, number]>;
  error?: string;
  /** The request failed because ConnectOptions.requestTimeoutMs passed (error says so too). */
  timedOut?: boolean;
}

export interface TransportStats {
  rttMs?: number;
  cwndBytes?: number;
  sentPackets?: number;
  recvPackets?: number;
  lostPackets?: number;
  retransmittedPackets?: number;
  sentBytes?: number;
  recvBytes?: number;
  /**
   * QUIC: how the stack dated this endpoint's packets, which its RTT samples start from
   * (src/quic/stats.ts: quiche backdates a client's small packets, inflating its RTT).
   */
  sendDating?: SendDating;
}

/** A client to one origin over one protocol: one connection (h2, h3) or a pool (h1). */
export interface ClientSession {
  protocol: Protocol;
  /** Every transport connection this client opened so far. */
  readonly connections: readonly ConnectionRecord[];
  request(req: RequestSpec): Promise<RequestRecord>;
  /** Resumption state to pass as ConnectOptions.session to a later connect(). */
  session(): Uint8Array | undefined;
  /** Transport statistics of the (first) connection, when the stack exposes them. */
  stats?(): Promise<TransportStats | undefined>;
  /**
   * Move to another local address (another network path), as when a phone's OS reports a network
   * change: h3 migrates its connection (RFC 9000 section 9); h1 and h2 connect anew from there
   * (resumed with their ticket) and send the requests in flight again, resuming partial bodies with
   * Range. Requests made meanwhile wait for the new connection.
   */
  moveTo(localAddress: string, opts?: MoveOptions): Promise<MoveOutcome>;
  close(): Promise<void>;
}

export interface Driver {
  protocol: Protocol;
  /** Resolves once the first connection is ready (h1: one pool connection). */
  connect(target: Target, opts?: ConnectOptions): Promise<ClientSession>;
}
