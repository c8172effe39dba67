/**
 * The request streams a connection tracks, by ID, and the IDs it has used or seen: a client
 * numbers its own requests, a server remembers which client streams it has already accepted so a
 * late packet cannot open a finished one again and so GOAWAY can name the first one it never saw.
 * A stream is forgotten as soon as both directions are done.
 */
import { H3_REQUEST_CANCELLED, streamError, type H3Error } from './errors.ts';
import type { FrameReaderLimits } from './frames.ts';
import { RequestStream } from './stream-request.ts';
import { isBidi, isPeerInitiated } from './transport.ts';

/** Client-initiated bidirectional stream IDs seen so far: a watermark plus the IDs seen above it. */
class SeenStreams {
  private below = 0;
  private readonly above = new Set<number>();
  /** Highest ID seen plus 4 (0 when none): the first stream not processed, for GOAWAY. */
  next = 0;
  has(id: number): boolean {
    return id < this.below || this.above.has(id);
  }
  add(id: number): void {
    this.above.add(id);
    while (this.above.delete(this.below)) this.below += 4;
    if (id + 4 > this.next) this.next = id + 4;
  }
}

export class RequestStreams {
  private readonly byId = new Map<number, RequestStream>();
  private readonly seenPeer = new SeenStreams();
  private nextLocalId = 0;

  constructor(
    private readonly isServer: boolean,
    private readonly limits: FrameReaderLimits,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  /** Client: the ID the next request will get. */
  get nextRequestId(): number {
    return this.nextLocalId;
  }

  /** Server: the first client stream not seen yet (the default GOAWAY ID). */
  get firstUnseenPeerId(): number {
    return this.seenPeer.next;
  }

  get(id: number): RequestStream | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<RequestStream> {
    return this.byId.values();
  }

  /** Client: a new request stream with the next ID. */
  open(): RequestStream {
    const s = new RequestStream(this.nextLocalId, false, this.limits);
    this.nextLocalId += 4;
    this.byId.set(s.id, s);
    return s;
  }

  /** Server: records a client stream; false when it was seen before (finished and forgotten). */
  notePeerStream(id: number): boolean {
    if (this.seenPeer.has(id)) return false;
    this.seenPeer.add(id);
    return true;
  }

  /** Server: tracks a client stream accepted as a request. */
  accept(id: number): RequestStream {
    const s = new RequestStream(id, true, this.limits);
    this.byId.set(id, s);
    return s;
  }

  forgetIfComplete(s: RequestStream): void {
    if (s.isComplete) this.byId.delete(s.id);
  }

  forget(s: RequestStream): void {
    this.byId.delete(s.id);
  }

  /**
   * A call for a stream we do not track: one that existed and was reset or finished (a race the
   * application must expect) is a stream H3Error; a stream that never existed is a usage error.
   */
  missing(streamId: number): H3Error | Error {
    const existed = this.isServer
      ? isBidi(streamId) && !isPeerInitiated(streamId, false) && this.seenPeer.has(streamId)
      : isBidi(streamId) && streamId % 4 === 0 && streamId < this.nextLocalId;
    if (existed) return streamError(H3_REQUEST_CANCELLED, `stream ${streamId} is closed`, streamId);
    return new Error(`stream ${streamId} is not an open request stream`);
  }
}
