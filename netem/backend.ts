/**
 * The seam between the topology (namespaces, addresses, routes, teardown) and a link backend
 * (the devices that carry packets between the namespaces, and the shaping on them).
 *
 * Order of a run:
 *   1. topology creates the client and server namespaces (loopback up, congestion control set);
 *   2. backend.up(ctx): for each path i, leaves a device named ctx.addressing[i].clientDevice in
 *      ctx.clientNs and one named ctx.addressing[i].serverDevice in ctx.serverNs, carrying IP packets
 *      between them (veth pair, or TUN devices plus a link process), shaped by ctx.paths[i];
 *   3. topology sets those devices' MTU, brings them up, assigns the addresses and adds the routes
 *      (configurePathAddresses in netem/namespaces.ts), the same way for every backend;
 *   4. applyPhase / counters / drops while the run goes on;
 *   5. backend.down() (idempotent, must not throw for things already gone), then the namespaces
 *      are deleted (which also removes any device left inside them).
 */
import type { PathModel, Phase } from './model.ts';
import type { CaptureRequest, CaptureSummary, DropEvent, DropLogStatus, LinkCounters } from './types.ts';
import type { CommandRunner } from './exec.ts';

/**
 * Addresses of one path. Addresses live only inside our namespaces, so every run can use the same
 * plan; they come from 198.18.0.0/15 (RFC 2544 benchmarking range) so they never look like a real network.
 *
 * - server: SERVER_ADDRESS on the server namespace's loopback (/32), reachable over every path;
 * - client path i: 198.18.0.(10+i)/32 on the client device of path i;
 * - rebind address of path i: 198.18.1.(10+i): the address a NAT-rebinding phase (userspace backend)
 *   rewrites the client's source to; the server routes it back over path i.
 * Routing: in the client namespace path 0 is the default route; packets whose source is path i's
 * address use routing table ROUTE_TABLE_BASE+i (ip rule from ... lookup ...), so a socket bound to
 * path i's address leaves through path i. In the server namespace each client (and rebind) address
 * has a /32 route through its path's device.
 */
export interface PathAddressing {
  /** PathModel.name */
  path: string;
  index: number;
  /** Interface name inside the client namespace. */
  clientDevice: string;
  /** Interface name inside the server namespace. */
  serverDevice: string;
  clientAddress: string;
  serverAddress: string;
  rebindAddress: string;
  /** Client-side routing table for traffic sourced from clientAddress. */
  routeTable: number;
}

export const SERVER_ADDRESS = '198.18.0.1';
export const ROUTE_TABLE_BASE = 100;
/** Paths are numbered into the last octet: keep well inside it. */
export const MAX_PATHS = 16;

export interface LinkUpContext {
  runId: string;
  clientNs: string;
  serverNs: string;
  paths: PathModel[];
  mtu: number;
  addressing: PathAddressing[];
  /** Use this to run ip/tc commands, so they are recorded and traced. */
  exec: CommandRunner;
}

export interface LinkBackend {
  /** 'veth' = plain veth pairs without any qdisc: the unshaped reference (tests, capacity benchmark). */
  readonly name: 'kernel' | 'userspace' | 'veth';
  up(ctx: LinkUpContext): Promise<void>;
  /** Apply a scenario phase now (phase.path absent = every path). */
  applyPhase(phase: Phase): Promise<void>;
  /** Plays every rate trace from its first line again, from now (absent: the backend has no traces). */
  restartRateTraces?(): Promise<void>;
  counters(): Promise<LinkCounters>;
  /** CPU time (ms) of the link process since it started (userspace backend). */
  cpuMs?(): Promise<number>;
  /** Drop events since up() ([] without a drop log). */
  drops(): Promise<DropEvent[]>;
  /** Whether drops() and deliveries() are a complete log, and how it is kept or why not. */
  dropLogStatus?(): DropLogStatus;
  /**
   * Data packets delivered to the client since sinceMs, by client port; absent, or undefined, when
   * the backend keeps no such log (then head-of-line blocking cannot be told from a sender's stall).
   */
  deliveries?(sinceMs: number): Promise<Record<number, number[]> | undefined>;
  /** pcapng of what the link receives and delivers (userspace backend; see Topology.startCapture). */
  startCapture?(capture: CaptureRequest): Promise<number>;
  stopCapture?(): Promise<CaptureSummary>;
  /** Stop link processes and remove what up() made outside the namespaces. Idempotent. */
  down(): Promise<void>;
}

/**
 * Any long-lived process a backend starts in the host namespace (the userspace link process) must
 * carry `${LINK_PROCESS_MARKER}${runId}` as one of its argv elements, so `bench doctor --cleanup`
 * can find it after the runner was killed.
 */
export const LINK_PROCESS_MARKER = '--bench-netem-run=';

/** Device names must fit IFNAMSIZ (15 chars) and only need to be unique inside one namespace. */
export function pathDeviceName(index: number, pathName: string): string {
  const safe = pathName.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 9);
  return `p${index}-${safe || 'path'}`.slice(0, 15);
}

export function planAddressing(paths: readonly PathModel[]): PathAddressing[] {
  if (paths.length > MAX_PATHS) throw new RangeError(`at most ${MAX_PATHS} paths, got ${paths.length}`);
  return paths.map((p, i) => ({
    path: p.name,
    index: i,
    clientDevice: pathDeviceName(i, p.name),
    serverDevice: pathDeviceName(i, p.name),
    clientAddress: `198.18.0.${10 + i}`,
    serverAddress: SERVER_ADDRESS,
    rebindAddress: `198.18.1.${10 + i}`,
    routeTable: ROUTE_TABLE_BASE + i,
  }));
}
