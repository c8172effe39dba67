/**
 * What H3Connection tells the application, and the queue that holds it until poll(). Events are
 * queued rather than called back so that the connection's state is consistent whenever the
 * application runs (it may call back into the connection from any event).
 */
import type { H3Error } from './errors.ts';
import type { HeaderList } from './headers.ts';
import type { RequestStream } from './stream-request.ts';

export interface H3PeerSettings {
  qpackMaxTableCapacity: number;
  qpackBlockedStreams: number;
  /** Undefined: the peer announced no limit. */
  maxFieldSectionSize: number | undefined;
  /** Every setting as received, GREASE included. */
  raw: ReadonlyMap<number, number>;
}

export type H3Event =
  /**
   * A header section. Server: the request; client: the response (informational: a 1xx
   * response, more follow). trailers: a trailer section. fin: nothing follows on the stream.
   */
  | { type: 'headers'; streamId: number; headers: HeaderList; fin: boolean; trailers?: boolean; informational?: boolean }
  /** Body bytes are readable with recvBody(); call it until it returns 0 to be told again. */
  | { type: 'data'; streamId: number }
  /** The peer's side of the stream ended cleanly (always after the last headers/data). */
  | { type: 'finished'; streamId: number }
  /** The stream was reset by the peer, or aborted by us for a stream error (code says why). */
  | { type: 'reset'; streamId: number; code: number }
  /** A stream sendBody() could not fully write to can take more. */
  | { type: 'writable'; streamId: number }
  /** The peer sent GOAWAY (client: requests from this stream ID on will not be processed). */
  | { type: 'goaway'; id: number }
  | { type: 'settings'; settings: H3PeerSettings }
  /** We closed the connection for a protocol error (io.close was called with `code`). */
  | { type: 'connection-error'; code: number; reason: string; error: H3Error };

/** Events in order; the array is dropped once drained, so a steady connection does not grow it. */
export class EventQueue {
  private events: H3Event[] = [];
  private head = 0;

  push(event: H3Event): void {
    this.events.push(event);
  }

  /** The next event, or null. */
  next(): H3Event | null {
    if (this.head < this.events.length) {
      const ev = this.events[this.head]!;
      this.events[this.head++] = undefined as unknown as H3Event;
      return ev;
    }
    if (this.events.length > 0) {
      this.events = [];
      this.head = 0;
    }
    return null;
  }

  /** The stream's one 'reset' event, if the application knows the stream. */
  resetIfKnown(s: RequestStream, code: number): void {
    if (!s.appKnows || s.resetEmitted) return;
    s.resetEmitted = true;
    this.push({ type: 'reset', streamId: s.id, code });
  }
}
