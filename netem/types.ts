import type { Backend, NetworkSpec, Phase } from './model.ts';

export type Side = 'client' | 'server';

/** Per path and direction counters, as the link saw them. */
export interface DirectionCounters {
  packetsIn: number;
  packetsOut: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  /**
   * IP bytes received and delivered (userspace link; absent where the backend does not count
   * bytes): what the endpoints put on the wire, headers of every layer included.
   */
  bytesIn?: number;
  bytesOut?: number;
  /** Queue (bottleneck) delay in ms: mean and max since the start. */
  queueDelayMeanMs?: number;
  queueDelayMaxMs?: number;
}

export interface LinkCounters {
  [path: string]: { up: DirectionCounters; down: DirectionCounters };
}

/** One packet the link dropped (userspace backend): the raw material of head-of-line analysis. */
export interface DropEvent {
  /** monoMs() when the packet was dropped. */
  t: number;
  path: string;
  dir: 'up' | 'down';
  proto: 'tcp' | 'udp' | 'other';
  srcPort?: number;
  dstPort?: number;
  /** IP packet length in bytes. */
  len: number;
  /** TCP sequence number, when TCP. */
  tcpSeq?: number;
  reason: 'loss' | 'queue' | 'blackhole';
}

/**
 * Whether the link logs the packets it drops and delivers (head-of-line analysis needs both), and
 * how, or why not. A link without the log reports its head-of-line figures as unavailable, never
 * as "no packet dropped".
 */
export interface DropLogStatus {
  kept: boolean;
  detail: string;
}

/** What to capture into (bench run --capture: one file per cell). */
export interface CaptureRequest {
  file: string;
  /** The section's comment: what this capture is of. */
  comment?: string;
  /** The section's shb_userappl, e.g. "bench 0.1.0". */
  application?: string;
}

/** A pcapng file the userspace link wrote for part of a run (bench run --capture). */
export interface CaptureSummary {
  file: string;
  /** monoMs() of the first and last moment recorded: drop events in between are the file's drops. */
  startedAt: number;
  stoppedAt: number;
  /** Packets the link read, wrote, and dropped (each drop marks a received packet). */
  received: number;
  delivered: number;
  dropped: number;
}

/** Measured fidelity of the emulator (bench doctor --measure), stored in every result.json. */
export interface FidelityReport {
  backend: Backend;
  measuredAt: string;
  target: { delayMs: number; jitterMs: number; loss: number; rateBps: number };
  oneWayDelayMeanMs: number;
  jitterStdMs: number;
  loss: number;
  lossInterval95: [number, number];
  rateBps: number;
  schedulerLatenessP99Ms: number;
  pass: Record<string, boolean>;
}

/** A live network between the client and server processes of one run. */
export interface Topology {
  readonly backend: Backend | 'none';
  /** Where the server listens and the client dials. */
  readonly serverAddress: string;
  /** The client's address on each path, by path name (first = default route). */
  readonly clientAddresses: Readonly<Record<string, string>>;
  /**
   * False when senders must not batch UDP datagrams with GSO on this link: the kernel link's qdiscs
   * see a GSO batch before it is segmented and shape it as one packet (netem would lose or delay up
   * to 64 datagrams at once). Absent = allowed.
   */
  readonly allowsUdpGso?: boolean;
  /** argv prefix that runs a command inside a side's namespace ([] when the network is not shaped). */
  commandPrefix(side: Side): string[];
  /** Apply a scenario phase now. */
  applyPhase(phase: Phase): Promise<void>;
  /**
   * Plays every rate trace from its first line again, from now, so each cell meets the same stretch
   * of it (absent where the link has no rate traces).
   */
  restartRateTraces?(): Promise<void>;
  /**
   * Makes `path` the client's default route: connections from no particular address leave by it
   * (a handover). Sockets bound to a path's address keep their path. Loopback has no paths: rejects.
   */
  routeVia(path: string): Promise<void>;
  counters(): Promise<LinkCounters>;
  /** CPU time (user + system, ms) the link process has used since it started; undefined where no process of ours carries the packets. */
  linkCpuMs(): Promise<number | undefined>;
  /** Drop events since the start ([] when the link keeps no drop log: see dropLog()). */
  drops(): Promise<DropEvent[]>;
  /** Whether drops() and deliveries() are a complete log (absent: no log, e.g. loopback). */
  dropLog?(): DropLogStatus;
  /**
   * Data packets the link delivered to the client since sinceMs (monoMs), by client port;
   * undefined when the backend keeps no such log.
   */
  deliveries(sinceMs: number): Promise<Record<number, number[]> | undefined>;
  /**
   * Starts writing what the link receives and delivers to a pcapng file (userspace backend only;
   * absent otherwise): resolves with the monoMs() from which packets are recorded.
   */
  startCapture?(capture: CaptureRequest): Promise<number>;
  /** Ends the capture started last; resolves once the file is complete. */
  stopCapture?(): Promise<CaptureSummary>;
  /**
   * The link process's own load (userspace backend only; undefined otherwise): CPU time since it
   * started and its scheduler's lateness p99 since the last reset (reset = start a new histogram).
   */
  linkProcess?(reset: boolean): Promise<LinkProcessLoad | undefined>;
  /** Removes every namespace, device, qdisc and process this topology made. Idempotent. */
  teardown(): Promise<void>;
}

/** What forwarding cost the userspace link process (its figures may limit what a cell measured). */
export interface LinkProcessLoad {
  cpuMs: number;
  /** How late packets left against their due time, p99, ms. */
  latenessP99Ms: number;
}

export type CreateTopology = (spec: NetworkSpec, opts: { runId: string }) => Promise<Topology>;
