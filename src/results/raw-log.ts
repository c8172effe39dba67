import { closeSync, openSync, writeSync } from 'node:fs';
import type { CellKey, RawEvent, WorkloadEvent } from './events.ts';

/**
 * Appends events to raw.jsonl with a synchronous write per event (or per batch), so that whatever
 * happened before a crash or a kill is on disk. The runner and the client process both append to
 * the same file (O_APPEND: each write lands whole at the end): the client writes its cells' events
 * itself, because relaying one event per request through the runner cost the runner a quarter of a
 * core under a load of 30,000 requests/s, taken from the server it measured.
 */
export class RawLog {
  private fd: number | undefined;
  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
  }
  append(event: RawEvent): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, JSON.stringify(event) + '\n');
  }
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
  /** One write for a batch of a cell's events, each line the event's fields then the cell's key. */
  appendCellEvents(events: WorkloadEvent[], key: CellKeyJson): void {
    if (this.fd === undefined || events.length === 0) return;
    let text = '';
    // `{...event, ...key}` without building the merged object: the event's JSON less its closing
    // brace, then the key's fields (an event always has a `type`, so the object is never empty).
    // Connection records carry their own `protocol`: those (a few per cell) are merged as objects.
    for (const event of events) {
      text += 'protocol' in event ? JSON.stringify({ ...event, ...key.key }) + '\n' : JSON.stringify(event).slice(0, -1) + key.tail + '\n';
    }
    writeSync(this.fd, text);
  }
}

/** A cell key as the JSON text appended to each of its events. */
export interface CellKeyJson {
  key: CellKey;
  /** `,"network":...,"repetition":N}` */
  tail: string;
}

export function cellKeyJson(key: CellKey): CellKeyJson {
  const { network, protocol, workload, repetition } = key;
  return { key: { network, protocol, workload, repetition }, tail: ',' + JSON.stringify({ network, protocol, workload, repetition }).slice(1) };
}
