/**
 * Workload-specific figures in result.json (`cell.details.<workload type>`): one definition,
 * written by the workloads (src/workloads/) and read by the report's sections, compare and the
 * gate through the accessors below (which also accept results written before a field existed).
 */
import type { TransportStats } from '../drivers/types.ts';
import type { MoveOutcome } from '../drivers/types.ts';
import type { HandshakeMode, HandshakePhase } from './handshake-theory.ts';
import type { ExpectedInterruption, MigrationMode } from './migration-theory.ts';

/** Response bytes the client received per bin of `binMs`, from a start time: goodput over time. */
export interface GoodputSeries {
  binMs: number;
  bytes: number[];
}

/** One new connection of the handshake workload. */
export interface HandshakeConnectionSample {
  mode: HandshakeMode;
  /** Time from the connection's first packet to the end of each phase. */
  phasesMs: Partial<Record<HandshakePhase, number>>;
  resumed: boolean;
  earlyData: boolean | 'n/a';
  /** Packets on the link during this connection (sequential runs on a shaped link only). */
  link?: { packets: number };
  /** The transport's own counters for the whole connection (handshake + one small request), when it has them (QUIC). */
  transport?: TransportStats;
  error?: string;
}

/** One mode (cold, resumed, 0-RTT) of the handshake workload in one repetition. */
export interface HandshakeModeDetails {
  connections: number;
  failed: number;
  resumed: number;
  earlyDataAccepted: number;
  /** The textbook round trips to the first response byte (src/results/handshake-theory.ts). */
  expectedFirstByteRtt?: number;
  /** Medians over this repetition's successful connections, in ms and in base RTTs (shaped links). */
  phases: Partial<Record<HandshakePhase, { medianMs?: number; medianRtt?: number }>>;
  medianLinkPackets?: number;
  medianTransport?: { sentBytes?: number; recvBytes?: number; sentPackets?: number; recvPackets?: number };
}

/** A mode the protocol cannot do (0-RTT over TCP), with the reason instead of numbers. */
export interface HandshakeModeNotApplicable {
  notApplicable: string;
}

export interface HandshakeDetails {
  /** Base RTT of the default path (0 when the network is not shaped). */
  baseRttMs: number;
  modes: Partial<Record<HandshakeMode, HandshakeModeDetails | HandshakeModeNotApplicable>>;
  /** Every connection (results of older versions may lack it). */
  connections?: HandshakeConnectionSample[];
}

export interface MultiplexDetails {
  lossEvents: number;
  /** Per loss event: streams that were in flight and then stalled. */
  stalledPerLoss: number[];
  /**
   * The stalled split by the link's delivery log (absent when the backend keeps none): streams
   * that got nothing while the link delivered other data of their connection (head-of-line
   * blocked), and streams whose connection got nothing (congestion-stalled).
   */
  holBlockedPerLoss?: number[];
  congestionStalledPerLoss?: number[];
  /** Per loss event: the head-of-line blocked requests by the delivery log, by index in their round (the order they were sent). */
  holRequestsPerLoss?: number[][];
  inFlightPerLoss: number[];
  /**
   * Per loss event: the in-flight requests (index in their round) that got nothing for more than
   * half a base RTT in a silence ending after the loss and beginning within 2 RTT of it, stalled or
   * not (a stall also needs 3 times the request's usual gap, counted from the loss).
   */
  waitedRequestsPerLoss?: number[][];
  /** Per loss event: when the link dropped its first packet (monoMs) and which way (results of older versions lack it). */
  lossEventAt?: Array<{ t: number; dir: 'up' | 'down' }>;
  /**
   * Head-of-line blocking exactly, from the cell's capture (bench run --capture), per loss event
   * like the figures above; or why it is unavailable. Absent in results written before it existed.
   */
  exactHol?: ExactHol | { unavailable: string };
  transportPerConnection: Array<TransportStats & { localPort?: number }>;
  /** Per request index: median latency on the loss-free reference link. */
  referenceMedianMs?: number[];
  /**
   * Per round: data packets the link delivered to the client in each round trip from the first
   * (workloads/flights.ts); the first is the server's initial window when the link does not queue.
   * Absent without a delivery log.
   */
  packetsPerRoundTrip?: number[][];
}

/** One loss event as the capture explains it (src/capture/exact-hol.ts). */
export interface ExactHolLossEvent {
  /** HTTP/3: request streams whose bytes the event's lost packets carried. */
  hit?: number;
  /** Streams (HTTP/3) or connections (HTTP/2, whose bytes above a hole hold every stream) that then held bytes above the hole it made. */
  blocked: number;
  /** Per blocked stream or connection: how long it held bytes above the hole, ms. */
  blockedMs: number[];
  /** Per blocked stream or connection: the most bytes it held above the hole. */
  peakHeldBytes: number[];
  /** Per blocked stream or connection: when it began to hold bytes, ms after the event's first drop. */
  blockedFromMs: number[];
  /** HTTP/3: the blocked streams' request index in their round (client bidirectional stream id / 4). */
  requests?: number[];
}

/**
 * Head-of-line blocking, exactly: the receiver's reassembly rebuilt from the packets the link
 * delivered. HTTP/3: per request stream, from the STREAM frames of the capture decrypted with the
 * client's key log; HTTP/2: per TCP connection, from sequence numbers.
 */
export interface ExactHol {
  source: 'decrypted capture' | 'TCP sequence numbers in the capture';
  scope: 'stream' | 'connection';
  /** Aligned with the workload's loss events (lossEventAt). */
  perLoss: ExactHolLossEvent[];
  /**
   * Blocked intervals in the cell: all; those whose hole no dropped packet explains (reordering);
   * those traced to a drop outside the workload's loss events (it counts a round's drops from its
   * start to its last response: not those as its connection closes). Each of the rest is in
   * exactly one loss event's `blocked`.
   */
  blockedIntervals: number;
  unexplained: number;
  outsideLossEvents?: number;
  /** What supports the decryption (HTTP/3). */
  check?: {
    connections: number;
    packetsOpened: number;
    packetsNotOpened: number;
    cipherSuites: string[];
    /** Per connection in capture order, per request stream: body bytes of its HTTP/3 DATA frames (null: incomplete). */
    streamBodyBytes: Array<Array<number | null>>;
  };
}

export interface PageDetails {
  handshakesPerLoad: number[];
  resourcesPerPage: number;
}

/** One move of the migration workload (one repetition of one protocol). */
export interface MigrationDetails {
  mode: MigrationMode;
  /** When the client moved (handover), was rebound (rebind) or lost its path (outage): ms from the activity's start. */
  moveAtMs: number;
  /** How long the activity ran, ms (requests issued until then, then awaited). */
  durationMs: number;
  /** outage: how long the path was dark. */
  outageMs?: number;
  /** The path before the move and the one traffic continues on (the same but for a handover). */
  fromPath: string;
  toPath: string;
  /** Base RTT of `toPath`: the expected interruption is counted in it. */
  rttMs: number;
  /** handover: what the session's moveTo() did. */
  moveOutcome?: MoveOutcome;
  /**
   * From the move (when the link had made the change) to the first byte the server sent after it
   * reaching the client; absent when none did. `link`: timed by the link's delivery log (data
   * packets to the session's ports; over a new TCP connection from its first request on);
   * `client`: when the client read it (kernel backend: no such log), bytes read sooner than 3/4 of
   * a round trip after the move (or before an outage ended) taken as delivered before it.
   */
  interruptionMs?: number;
  interruptionSeenBy?: 'link' | 'client';
  /** Requests (small ones and downloads) that failed in the end, after any re-sending. */
  requestsFailed: number;
  /** Requests sent again on a new connection because theirs broke or was left (h1/h2). */
  requestsRetried: number;
  /** Body bytes received twice (a re-sent request answered in full rather than from its Range). */
  bytesRefetched: number;
  /** Every connection open at the move carried on to the end (no break, no replacement). */
  connectionSurvived: boolean;
  /** Connections opened after the move (TCP+TLS or QUIC handshakes). */
  handshakes: number;
  /** How the client learnt of a break: the error of its first re-sent request (absent when none was re-sent). */
  breakNoticedBy?: string;
  /** A request with no complete answer in this long fails (timeouts.request): an unnoticed break costs this much. */
  requestTimeoutMs: number;
  /** h1/h2: a connection with requests in flight that received nothing this long was given up (the workload's silenceTimeout). */
  silenceTimeoutMs: number;
  /** Small requests issued (at the workload's rate) and long downloads started. */
  requestsIssued: number;
  downloads: number;
  /**
   * How long the path's bottleneck queue held packets just before the move, from the small
   * requests' first bytes then (beyond the base round trip); a rebinding's first new packets wait
   * behind it. Absent when no request was answered in the second before the move.
   */
  queueAtMoveMs?: number;
  /** The textbook interruption for this protocol and mode (src/results/migration-theory.ts). */
  expected: ExpectedInterruption;
  /** Response bytes delivered per bin, from the activity's start: the goodput over time. */
  goodput: GoodputSeries;
}

/** One round of the throughput workload: `parallel` downloads at once, on new connections. */
export interface ThroughputRound {
  /** Response bytes received, all downloads together. */
  bytes: number;
  /** Downloads that failed (no goodput or time to complete for the round then). */
  failed: number;
  /** From the requests to the last byte of the round, ms. */
  completeMs?: number;
  /** bytes x 8 / completeMs: application bytes only (no headers, no retransmissions). */
  goodputBps?: number;
  /** From the requests on. */
  goodput: GoodputSeries;
}

/** The receive windows a throughput cell ran with. */
export interface ThroughputFlowControl {
  /** The HTTP/2 or QUIC receive windows the client advertised (absent for HTTP/1.1, which has none). */
  http?: { streamBytes: number; connectionBytes: number };
  /** TCP (h1, h2): the kernel autotunes its receive window up to this (net.ipv4.tcp_rmem's maximum in the client namespace). */
  tcpReceiveMaxBytes?: number;
}

export interface ThroughputDetails {
  sizeBytes: number;
  parallel: number;
  /** Connections per round: one for h2 and h3, `parallel` for h1. */
  connectionsPerRound: number;
  flowControl: ThroughputFlowControl;
  rounds: ThroughputRound[];
}

/** A process that may have limited a load step rather than the protocol. */
export type LoadProcess = 'client' | 'server' | 'link';

/** One step of the load workload's sweep (one offered rate or one concurrency). */
export interface LoadStepDetails {
  /** Requests per second offered (open loop) or requesters (closed loop). */
  level: number;
  /**
   * Prefix of the step's distributions in `cell.metrics`: `<prefix>.latency` (open loop: from each
   * request's intended send time, coordinated omission corrected), `<prefix>.service` (open loop:
   * from when it was actually sent), `<prefix>.ttfb`.
   */
  metricPrefix: string;
  /** From the step's start to its last answer (at least its duration): the window of its throughput and CPU shares. */
  windowMs: number;
  requests: number;
  ok: number;
  failed: number;
  /** Successful answers per second, from the step's first answer to its last (a backlog drained after the step's duration lowers it). */
  achievedPerSec: number;
  /**
   * Open loop: arrivals the schedule held, those sent later than `lateAfterMs` after their intended
   * time (the client was behind) and those not sent at all because `maxInFlight` were outstanding.
   */
  arrivals?: { scheduled: number; late: number; dropped: number; maxLatenessMs: number };
  /** The client's CPU over the step: the client process's and its worker processes'. */
  clientCpuMs: number;
  /** Absent where not measured (an external server; no link process of ours). */
  serverCpuMs?: number;
  linkCpuMs?: number;
  /** IP bytes the link received, both directions, during the step; absent where the link counts no bytes (network none, kernel link). */
  wireBytes?: number;
  /** Processes above CPU_BOUND_SHARE of a core (the client: of each worker's core) over the step's window: its figures may be the machine's, not the protocol's. */
  machineBound: LoadProcess[];
}

/**
 * Which HTTP client sent a load cell's requests: `lean`, bench's own written for load (h1:
 * src/drivers/h1-lean.ts with src/h1/; h2: src/drivers/h2-lean.ts with src/h2/); `library`, the
 * protocol's driver as every other workload uses it (h1: undici, h2: node:http2).
 */
export type LoadClient = 'lean' | 'library';
export const LOAD_CLIENTS: readonly LoadClient[] = ['lean', 'library'];

/** HTTP/2 flow control of a load cell (its first connection, at the end of the cell). */
export interface LoadFlowControl {
  /** What the client advertised: per stream (SETTINGS_INITIAL_WINDOW_SIZE) and for the connection (WINDOW_UPDATE). */
  receive: { streamBytes: number; connectionBytes: number };
  /** Lean client only: the server's initial stream window and the connection's send window at the end. */
  send?: { streamBytes: number; connectionBytes: number };
  /** Lean client only: WINDOW_UPDATE frames sent to keep the windows open. */
  windowUpdates?: { connection: number; stream: number };
}

export interface LoadDetails {
  loop: 'open' | 'closed';
  /** h1 and h2: the client that sent the requests (absent for h3, which has one client, and in results from before the choice). */
  client?: LoadClient;
  /** h2: the flow-control windows. */
  flowControl?: LoadFlowControl;
  /**
   * Worker processes of the client that sent the requests (the scenario's `clientWorkers`, `auto`
   * resolved); their histograms added and counters summed, CPU of all of them. Absent in results
   * from before client workers: one.
   */
  clientWorkers?: number;
  /** Open loop: an arrival sent more than this after its intended time counts as late. */
  lateAfterMs?: number;
  /** Open loop: outstanding requests above which an arrival is dropped. */
  maxInFlight?: number;
  steps: LoadStepDetails[];
}

/** `cell.details`: keyed by workload type. */
export interface WorkloadDetails {
  handshake?: HandshakeDetails;
  multiplex?: MultiplexDetails;
  page?: PageDetails;
  migration?: MigrationDetails;
  load?: LoadDetails;
  throughput?: ThroughputDetails;
}

/** The part of a cell the accessors need (keeps this module free of a cycle with model.ts). */
interface WithDetails {
  details?: WorkloadDetails;
}

export function handshakeDetails(cell: WithDetails): HandshakeDetails | undefined {
  const d = cell.details?.handshake;
  return d && typeof d === 'object' && typeof d.modes === 'object' && d.modes !== null ? d : undefined;
}

export function multiplexDetails(cell: WithDetails): MultiplexDetails | undefined {
  const d = cell.details?.multiplex;
  return d && Array.isArray(d.stalledPerLoss) ? d : undefined;
}

/** The exact head-of-line figures of a multiplex cell, or why there are none (results older than them: undefined). */
export function exactHol(details: MultiplexDetails): ExactHol | { unavailable: string } | { notRecorded: true } {
  return details.exactHol ?? { notRecorded: true };
}

export function pageDetails(cell: WithDetails): PageDetails | undefined {
  const d = cell.details?.page;
  return d && Array.isArray(d.handshakesPerLoad) ? d : undefined;
}

export function migrationDetails(cell: WithDetails): MigrationDetails | undefined {
  const d = cell.details?.migration;
  return d && typeof d.mode === 'string' && typeof d.goodput === 'object' && d.goodput !== null ? d : undefined;
}

export function loadDetails(cell: WithDetails): LoadDetails | undefined {
  const d = cell.details?.load;
  return d && Array.isArray(d.steps) && (d.loop === 'open' || d.loop === 'closed') ? d : undefined;
}

export function throughputDetails(cell: WithDetails): ThroughputDetails | undefined {
  const d = cell.details?.throughput;
  return d && Array.isArray(d.rounds) && typeof d.flowControl === 'object' && d.flowControl !== null ? d : undefined;
}

/** One mode's figures in one repetition, unless the protocol has no such mode. */
export function handshakeMode(cell: WithDetails, mode: HandshakeMode): HandshakeModeDetails | undefined {
  const m = handshakeDetails(cell)?.modes[mode];
  return m && !('notApplicable' in m) ? m : undefined;
}
