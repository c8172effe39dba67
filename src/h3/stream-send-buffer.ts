/**
 * Bytes accepted by the HTTP/3 layer that the transport has not taken yet (flow control): kept in
 * order per stream and written by flush() when the stream is writable again.
 */
import { isStreamIOError, type QuicStreamIO } from './transport.ts';

export class StreamSendBuffer {
  private chunks: Uint8Array[] = [];
  private offset = 0;
  private pendingBytes = 0;
  /** A fin was queued after the chunks. */
  private finQueued = false;
  /** The fin has been handed to the transport. */
  finSent = false;

  constructor(readonly streamId: number) {}

  get pending(): number {
    return this.pendingBytes;
  }

  /** Nothing is waiting (bytes or fin). */
  get isEmpty(): boolean {
    return this.pendingBytes === 0 && (!this.finQueued || this.finSent);
  }

  get finished(): boolean {
    return this.finQueued;
  }

  /**
   * Writes data (and the fin) now if nothing is queued, and queues what the transport did not
   * take. `borrowed`: the caller may reuse data after the call, so the queued rest is copied.
   */
  write(io: QuicStreamIO, data: Uint8Array, fin: boolean, borrowed: boolean): void {
    if (this.finQueued) throw new Error(`stream ${this.streamId}: data after fin`);
    if (this.chunks.length > 0 || data.length === 0) {
      this.enqueue(data, fin, borrowed);
      this.flush(io);
      return;
    }
    let n = 0;
    try {
      n = io.streamSend(this.streamId, data, fin);
    } catch (e) {
      if (!(isStreamIOError(e) && e.kind === 'other')) throw e;
    }
    if (n === data.length) {
      if (fin) this.finQueued = this.finSent = true;
      return;
    }
    this.enqueue(data.subarray(n), fin, borrowed);
  }

  /** Queues bytes (copied when the caller may reuse them) and optionally the fin. */
  enqueue(data: Uint8Array, fin: boolean, copy: boolean): void {
    if (this.finQueued) throw new Error(`stream ${this.streamId}: data after fin`);
    if (data.length > 0) {
      this.chunks.push(copy ? data.slice() : data);
      this.pendingBytes += data.length;
    }
    if (fin) this.finQueued = true;
  }

  /**
   * Writes as much as the transport takes. Returns true when everything (and the fin) went out.
   * A 'stopped' stream error propagates to the caller; other stream errors (e.g. a stream the
   * transport cannot open yet) leave the bytes queued for the next flush.
   */
  flush(io: QuicStreamIO): boolean {
    while (this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const rest = this.offset === 0 ? chunk : chunk.subarray(this.offset);
      const last = this.chunks.length === 1;
      let n: number;
      try {
        n = io.streamSend(this.streamId, rest, last && this.finQueued);
      } catch (e) {
        if (isStreamIOError(e) && e.kind === 'other') return false;
        throw e;
      }
      this.pendingBytes -= n;
      if (n < rest.length) {
        this.offset += n;
        return false;
      }
      this.chunks.shift();
      this.offset = 0;
      if (last && this.finQueued) this.finSent = true;
    }
    if (this.finQueued && !this.finSent) {
      try {
        io.streamSend(this.streamId, new Uint8Array(0), true);
      } catch (e) {
        if (isStreamIOError(e) && e.kind === 'other') return false;
        throw e;
      }
      this.finSent = true;
    }
    return true;
  }

  /** Drops everything queued (the stream was reset). */
  clear(): void {
    this.chunks = [];
    this.offset = 0;
    this.pendingBytes = 0;
  }
}
