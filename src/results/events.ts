/**
 * raw.jsonl: one JSON object per line, appended as things happen so a killed run keeps its data.
 * Readers (report, analyses) must tolerate a truncated last line.
 */
import type { ConnectionRecord, Protocol, RequestRecord } from '../drivers/types.ts';
import type { DropEvent } from '../../netem/types.ts';

/** Where an event belongs: one (network, protocol, workload, repetition) cell. */
export interface CellKey {
  network: string;
  protocol: Protocol;
  workload: string;
  repetition: number;
}

export type RawEvent =
  | ({ type: 'run-start'; t: number; runId: string; scenario: string })
  | ({ type: 'cell-start'; t: number } & CellKey)
  | ({ type: 'cell-end'; t: number; error?: string } & CellKey)
  | ({ type: 'request'; phase?: string } & CellKey & RequestRecord)
  | ({ type: 'connection'; phase?: string } & CellKey & ConnectionRecord)
  | ({ type: 'drop' } & CellKey & DropEvent)
  | ({ type: 'phase'; t: number; at: number; description: string } & Partial<CellKey>)
  | ({ type: 'sample'; t: number; name: string; value: Record<string, unknown> } & CellKey)
  | ({ type: 'run-end'; t: number; status: string });

/** What a workload emits from inside the client process; the runner stamps the cell key on it. */
export type WorkloadEvent =
  | ({ type: 'request'; phase?: string } & RequestRecord)
  | ({ type: 'connection'; phase?: string } & ConnectionRecord)
  | { type: 'sample'; t: number; name: string; value: Record<string, unknown> };
