/**
 * Workload-specific figures in result.json (`cell.details.<workload type>`): one definition,
 * written by the workloads (src/workloads/) and read by the report's sections, compare and the
 * gate through the accessors below (which also accept results written before a field existed).
 */
import type { TransportStats } from '../drivers/types.ts';
import type { HandshakeMode, HandshakePhase } from './handshake-theory.ts';

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
  inFlightPerLoss: number[];
  transportPerConnection: Array<TransportStats & { localPort?: number }>;
  /** Per request index: median latency on the loss-free reference link. */
  referenceMedianMs?: number[];
}

export interface PageDetails {
  handshakesPerLoad: number[];
  resourcesPerPage: number;
}

/** `cell.details`: keyed by workload type. */
export interface WorkloadDetails {
  handshake?: HandshakeDetails;
  multiplex?: MultiplexDetails;
  page?: PageDetails;
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

export function pageDetails(cell: WithDetails): PageDetails | undefined {
  const d = cell.details?.page;
  return d && Array.isArray(d.handshakesPerLoad) ? d : undefined;
}

/** One mode's figures in one repetition, unless the protocol has no such mode. */
export function handshakeMode(cell: WithDetails, mode: HandshakeMode): HandshakeModeDetails | undefined {
  const m = handshakeDetails(cell)?.modes[mode];
  return m && !('notApplicable' in m) ? m : undefined;
}
