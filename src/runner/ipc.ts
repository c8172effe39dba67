/** Messages between the runner and the client process (node IPC channel, JSON-serialisable). */
import type { SenderPacing } from '../../netem/model.ts';
import type { Protocol, Target } from '../drivers/types.ts';
import type { PathDelay, WorkloadResult } from '../workloads/types.ts';
import type { CellEventLog } from '../results/events.ts';
import type { ServerCheckOutcome, ServerCheckRequest } from './server-check.ts';

export interface RunCellMessage {
  type: 'run-cell';
  cellId: number;
  protocol: Protocol;
  workloadType: string;
  spec: unknown;
  target: Target;
  repetition: number;
  baseRttMs: number;
  clientAddresses: Record<string, string>;
  pathDelays: Record<string, PathDelay>;
  requestTimeoutMs: number;
  congestionControl?: 'cubic' | 'reno' | 'bbr';
  pacing?: SenderPacing;
  /** A measured cell: where the client appends the cell's events itself (raw.jsonl), with this key. */
  rawLog?: CellEventLog;
}

export type LinkOp = 'applyPhase' | 'routeVia' | 'restore' | 'drops' | 'deliveries' | 'counters' | 'usage';

export type RunnerToClient =
  | RunCellMessage
  | { type: 'abort-cell'; cellId: number }
  /** Answered at once by a client whose event loop runs: how the runner tells a busy client from a stuck one. */
  | { type: 'ping'; id: number }
  | { type: 'check-server'; requestId: number; check: ServerCheckRequest }
  | { type: 'link-response'; requestId: number; value?: unknown; error?: string }
  | { type: 'stop' };

export type ClientToRunner =
  | { type: 'ready'; pid: number }
  | { type: 'cell-result'; cellId: number; result: WorkloadResult; cpuMs: number }
  | { type: 'cell-error'; cellId: number; error: string; cpuMs: number }
  | { type: 'link-request'; requestId: number; op: LinkOp; arg?: unknown }
  | { type: 'pong'; id: number }
  | { type: 'server-checked'; requestId: number; outcome: ServerCheckOutcome };
