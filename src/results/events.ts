/**
 * raw.jsonl: one JSON object per line, appended as things happen so a killed run keeps its data.
 * Readers (report, analyses) must tolerate a truncated last line.
 */
import type { ConnectionRecord, MoveOutcome, Protocol, RequestRecord } from '../drivers/types.ts';
import type { DropEvent } from '../../netem/types.ts';
import type { MigrationMode } from './migration-theory.ts';

/** Where an event belongs: one (network, protocol, workload, repetition) cell. */
export interface CellKey {
  network: string;
  protocol: Protocol;
  workload: string;
  repetition: number;
}

/** Where a measured cell's events go: raw.jsonl, each event with its cell's key (raw-log.ts). */
export interface CellEventLog {
  path: string;
  key: CellKey;
}

/** The client moved to another address (a handover it was told of, or a NAT rebinding it was not). */
export interface PathChange {
  /** monoMs() of the move. */
  t: number;
  mode: Exclude<MigrationMode, 'outage'>;
  fromPath: string;
  toPath: string;
  /** The client's address before and after as it sees it (a rebinding changes only what the server sees). */
  fromAddress?: string;
  toAddress?: string;
  /** Whether the client was told (moveTo) or found out itself. */
  told: boolean;
  /** handover: what moveTo() did; rebind: whether the connection carried on (`migrated`) or was replaced. */
  outcome: MoveOutcome;
}

export type RawEvent =
  | ({ type: 'run-start'; t: number; runId: string; scenario: string })
  | ({ type: 'cell-start'; t: number } & CellKey)
  | ({ type: 'cell-end'; t: number; error?: string } & CellKey)
  /** `dueAt`: an open loop's intended send time (monoMs), from which its latency counts. */
  | ({ type: 'request'; phase?: string; dueAt?: number } & CellKey & RequestRecord)
  | ({ type: 'connection'; phase?: string } & CellKey & ConnectionRecord)
  | ({ type: 'drop' } & CellKey & DropEvent)
  | ({ type: 'phase'; t: number; at: number; description: string } & Partial<CellKey>)
  | ({ type: 'path-change' } & CellKey & PathChange)
  | ({ type: 'sample'; t: number; name: string; value: Record<string, unknown> } & CellKey)
  | ({ type: 'run-end'; t: number; status: string });

/** What a workload emits from inside the client process; the runner stamps the cell key on it. */
export type WorkloadEvent =
  | ({ type: 'request'; phase?: string; dueAt?: number } & RequestRecord)
  | ({ type: 'connection'; phase?: string } & ConnectionRecord)
  | ({ type: 'path-change' } & PathChange)
  | { type: 'sample'; t: number; name: string; value: Record<string, unknown> };
