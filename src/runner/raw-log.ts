import { closeSync, openSync, writeSync } from 'node:fs';
import type { RawEvent } from '../results/events.ts';

/**
 * Appends events to raw.jsonl with a synchronous write per event, so that whatever happened before
 * a crash or a kill is on disk. Volumes are small (one line per request), well within what sync
 * appends sustain.
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
  /** Several events in one write (a batch from the client). */
  appendAll(events: RawEvent[]): void {
    if (this.fd === undefined || events.length === 0) return;
    writeSync(this.fd, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  }
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
