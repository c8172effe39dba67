/** Messages between a userspace link backend (in the runner) and its link process, over Node IPC. */
import type { PathModel, Phase } from '../model.ts';
import type { CaptureRequest, CaptureSummary, DropEvent, LinkCounters } from '../types.ts';
import type { JitterOrder } from './model/direction.ts';

export interface LinkPathDevices {
  clientNs: string;
  clientDevice: string;
  serverNs: string;
  serverDevice: string;
  clientAddress: string;
  rebindAddress: string;
}

export interface LinkProcessConfig {
  seed: string | number;
  jitterOrder: JitterOrder;
  paths: PathModel[];
  /** Same order as paths. */
  devices: LinkPathDevices[];
  /** Start spinning (instead of sleeping in ppoll) this long before the next departure. */
  spinMarginMs: number;
  maxDropEvents: number;
  /** Batching window (us): wake at most once per window while packets keep coming; 0 = per packet. */
  batchUs: number;
  /** Run synthetic packets through the hot path before forwarding (model/warm-up.ts). */
  warmUp: boolean;
  scheduling: LinkScheduling;
}

/**
 * How the link's thread is scheduled: 'realtime' = SCHED_FIFO priority 10 (falls back to 'nice' when
 * not permitted), 'nice' = nice -10, 'normal' = as started.
 */
export type LinkScheduling = 'realtime' | 'nice' | 'normal';

/** What the link process got (reported in stats). */
export type AppliedScheduling = LinkScheduling;

/** Scheduler lateness (write time - due time), in ms. */
export interface LatenessStats {
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export interface LinkStats {
  lateness: LatenessStats;
  /** Writes the kernel refused (TUN device down or its queue full). */
  writeErrors: number;
  /** Drop events not kept because the log was full. */
  dropEventsOmitted: number;
  /** CPU time of the link process since it started (user + system), ms. */
  cpuMs: number;
  /** Wall time since the link started forwarding, ms. */
  uptimeMs: number;
  /** How late the link's thread woke from a timed sleep (p99): the machine's share of lateness. */
  wakeLateP99Ms: number;
  /** Longest time Node's own loop (IPC) held the link between slices. */
  yieldMaxMs: number;
  /** How long the warm-up took before the link started forwarding (0: none ran). */
  warmUpMs: number;
  /** The scheduling the link thread actually runs with. */
  scheduling: AppliedScheduling;
}

export type LinkRequest =
  | { id: number; op: 'init'; config: LinkProcessConfig }
  | { id: number; op: 'applyPhase'; phase: Phase }
  | { id: number; op: 'restartTraces' }
  | { id: number; op: 'counters' }
  | { id: number; op: 'drops' }
  | { id: number; op: 'deliveries'; sinceMs: number }
  | { id: number; op: 'stats'; reset?: boolean }
  | { id: number; op: 'captureStart'; capture: CaptureRequest }
  | { id: number; op: 'captureStop' }
  | { id: number; op: 'stop' };

export type LinkResponse =
  | { id: number; ok: true; result?: LinkCounters | DropEvent[] | LinkStats | Record<number, number[]> | number | CaptureSummary }
  | { id: number; ok: false; error: string };
