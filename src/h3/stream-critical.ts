/**
 * One of our critical unidirectional streams: the control stream and the QPACK encoder and
 * decoder streams. They live as long as the connection; if the peer stops one, the connection
 * cannot go on (RFC 9114 section 6.2.1, RFC 9204 section 4.2), hence H3_CLOSED_CRITICAL_STREAM.
 */
import { connectionError, H3_CLOSED_CRITICAL_STREAM } from './errors.ts';
import { StreamSendBuffer } from './stream-send-buffer.ts';
import { isStreamIOError, type QuicStreamIO } from './transport.ts';

/** The most urgent (RFC 9218 section 4.1). */
const CRITICAL_STREAM_URGENCY = 0;

export class CriticalStream {
  private readonly out: StreamSendBuffer;

  /** Opens the stream with its first bytes (the stream type, for the control stream SETTINGS too). */
  constructor(
    private readonly io: QuicStreamIO,
    readonly streamId: number,
    opening: Uint8Array,
  ) {
    this.out = new StreamSendBuffer(streamId);
    this.out.write(io, opening, false, false);
    this.prioritise();
  }

  /**
   * Before any response: a request stream's fields may wait for this stream's QPACK
   * instructions, and the transport would otherwise send it after the responses. The transport
   * knows the stream only once it has taken bytes of it (a server's streams opened before the
   * handshake completes wait in our buffer), so this is asked again until it takes.
   */
  private prioritised = false;
  private prioritise(): void {
    if (!this.prioritised) this.prioritised = this.io.streamPriority(this.streamId, CRITICAL_STREAM_URGENCY, false);
  }

  /** Writes now what flow control allows and queues the rest (data is not reused by callers). */
  write(data: Uint8Array): void {
    try {
      this.out.write(this.io, data, false, false);
      this.prioritise();
    } catch (e) {
      throw this.stopped(e);
    }
  }

  /** Writes what flow control held back. */
  flush(): void {
    if (this.out.isEmpty) return;
    try {
      this.out.flush(this.io);
      this.prioritise();
    } catch (e) {
      throw this.stopped(e);
    }
  }

  private stopped(e: unknown): unknown {
    return isStreamIOError(e) ? connectionError(H3_CLOSED_CRITICAL_STREAM, `peer stopped our critical stream ${this.streamId}`) : e;
  }
}
