/**
 * A workload is a function of (driver, scenario slice, recorder): it never knows which protocol it
 * drives, except where the protocol difference is the point. One file per workload, registered by
 * type name in ./registry.ts. Workloads run inside the client process (in the client namespace).
 */
import type { SenderPacing } from '../../netem/model.ts';
import type { Driver, Protocol, Target } from '../drivers/types.ts';
import type { Phase } from '../../netem/model.ts';
import type { DropEvent, LinkCounters } from '../../netem/types.ts';
import type { Cell } from '../results/model.ts';
import type { CellEventLog, WorkloadEvent } from '../results/events.ts';

/** Link operations a workload may ask the runner for (the link lives outside the client process). */
export interface LinkControl {
  /**
   * Apply a phase (e.g. remove loss for a reference measurement); `restore()` goes back to the
   * scenario's link. Resolves with the time (monoMs) by which the link had applied it.
   */
  applyPhase(phase: Omit<Phase, 'atMs'>): Promise<number>;
  /** Makes `path` the client's default route (a handover); restore() moves it back to the first path. */
  routeVia(path: string): Promise<void>;
  /** Back to the scenario's link: path models, default route, no rebinding (also done at every cell's end). */
  restore(): Promise<void>;
  drops(): Promise<DropEvent[]>;
  /** Data packets the link delivered to the client since sinceMs, by client port; undefined when the backend keeps no such log. */
  deliveries(sinceMs: number): Promise<Record<number, number[]> | undefined>;
  counters(): Promise<LinkCounters>;
  /**
   * What the server and link processes have spent so far, and the link's counters: sampled around
   * a stretch of a workload (a load step) to know that stretch's cost. The client's own CPU the
   * workload reads itself (process.cpuUsage).
   */
  usage(): Promise<ProcessUsage>;
}

/** Running totals since each process started; a figure is absent where it is not measured (an external server, no link process). */
export interface ProcessUsage {
  serverCpuMs?: number;
  linkCpuMs?: number;
  counters: LinkCounters;
}

/** A path's base one-way delays in ms (no jitter or queueing). */
export interface PathDelay {
  upMs: number;
  downMs: number;
}

export interface WorkloadContext<Spec = unknown> {
  protocol: Protocol;
  driver: Driver;
  /** Drivers for every protocol (for workloads that need a reference protocol). */
  target: Target;
  spec: Spec;
  repetition: number;
  /** Base RTT of the default path in ms (0 when the network is not shaped). */
  baseRttMs: number;
  /** The client's address per path, when the network is shaped (first = the default route). */
  clientAddresses: Readonly<Record<string, string>>;
  /** Base one-way delays per path, when the network is shaped. */
  pathDelays: Readonly<Record<string, PathDelay>>;
  requestTimeoutMs: number;
  congestionControl?: 'cubic' | 'reno' | 'bbr';
  pacing?: SenderPacing;
  emit(event: WorkloadEvent): void;
  /** Where emit() writes a measured cell's events: for the workload's own child processes, which append theirs there directly. */
  eventLog?: CellEventLog;
  link: LinkControl;
  signal: AbortSignal;
}

/** What a workload measured: the part of a result.json cell it fills in (the runner adds the rest). */
export type WorkloadResult = Pick<Cell, 'durationMs' | 'requests' | 'connections' | 'metrics' | 'transport' | 'details'> & {
  /** CPU of worker processes the workload ran (a load's client workers): the client process adds it to its own. */
  workersCpuMs?: number;
};

export interface Workload<Spec = unknown> {
  type: string;
  /** One sentence for the report: what this workload shows. */
  describe: string;
  run(ctx: WorkloadContext<Spec>): Promise<WorkloadResult>;
  /**
   * The paths it requests first (pages name the rest in their HTML and CSS): what a server other
   * than bench's own must answer, checked before a run and written as files for a static server.
   */
  paths(spec: Spec): string[];
}
