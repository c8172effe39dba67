/**
 * The receive side of request streams: transport bytes through each stream's FrameReader, header
 * sections through QPACK and the message rules (headers.ts), body bytes to the application.
 * Body bytes stay in the transport until the application asks for them (recvBody), at most one
 * read per stream ahead, so QUIC flow control follows the application. Frame order is enforced
 * by RequestStream's transitions; a stream error aborts only its stream (through the connection).
 */
import {
  connectionError,
  H3Error,
  H3_EXCESSIVE_LOAD,
  H3_FRAME_UNEXPECTED,
  H3_ID_ERROR,
  H3_INTERNAL_ERROR,
  H3_NO_ERROR,
  H3_REQUEST_CANCELLED,
  streamError,
} from './errors.ts';
import type { EventQueue, H3Event } from './events.ts';
import type { Frame, FrameEvent } from './frames.ts';
import { checkRequestHeaders, checkResponseHeaders, checkTrailers, type HeaderList } from './headers.ts';
import { FieldSectionTooLargeError } from './qpack/index.ts';
import type { QpackStreams } from './qpack-streams.ts';
import type { RequestStreams } from './request-streams.ts';
import { RecvState, type RequestStream } from './stream-request.ts';
import { isStreamIOError, type QuicStreamIO } from './transport.ts';

export class RequestReceiver {
  /**
   * `scratch` is the connection's read buffer (shared, never held across calls); `abortStream`
   * closes a stream for a stream error, as the connection's error policy says.
   */
  constructor(
    private readonly io: QuicStreamIO,
    private readonly isServer: boolean,
    private readonly scratch: Uint8Array,
    private readonly streams: RequestStreams,
    private readonly qpack: QpackStreams,
    private readonly events: EventQueue,
    private readonly abortStream: (s: RequestStream, error: H3Error) => void,
  ) {}

  /**
   * Advances a request stream's receive state machine. Without body: stops at DATA payload and
   * emits 'data'. With body: copies DATA payload into it until full; returns the bytes copied.
   * Stream errors abort only this stream; connection errors propagate.
   */
  pump(s: RequestStream, body?: Uint8Array): number {
    let copied = 0;
    try {
      for (;;) {
        if (s.peerResetCode !== undefined) {
          this.onPeerReset(s, s.peerResetCode);
          return copied;
        }
        const unblocked = s.takeUnblockedHeaders();
        if (unblocked) {
          this.deliverHeaders(s, unblocked);
          continue;
        }
        if (!s.readsFrames) return copied;
        const room = body ? body.length - copied : 0;
        if (room === 0 && s.reader.inDataPayload && s.reader.buffered > 0) {
          if (!body) this.notifyData(s);
          return copied;
        }
        const ev = s.reader.next(room);
        if (ev === null) {
          if (s.finRead) {
            this.endOfStream(s);
            return copied;
          }
          if (!this.readTransport(s) && s.peerResetCode === undefined) return copied;
          continue;
        }
        if (ev.kind === 'data') {
          body!.set(ev.bytes, copied);
          copied += ev.bytes.length;
        } else {
          this.onFrameEvent(s, ev);
        }
      }
    } catch (e) {
      if (e instanceof H3Error && e.scope === 'stream') {
        this.abortStream(s, e);
        return copied;
      }
      if (e instanceof FieldSectionTooLargeError) {
        this.abortStream(s, streamError(H3_EXCESSIVE_LOAD, e.message, s.id));
        return copied;
      }
      throw e;
    }
  }

  /** A header section that waited for QPACK encoder-stream data can be decoded now. */
  resumeBlocked(streamId: number): void {
    const s = this.streams.get(streamId);
    if (!s || s.recv !== RecvState.BLOCKED) return;
    const result = this.qpack.retryBlocked(streamId);
    if (result.status === 'blocked') return;
    s.headersUnblocked(result.headers);
    this.pump(s);
  }

  /** Reads from the transport into the stream's frame reader; false when nothing came. */
  private readTransport(s: RequestStream): boolean {
    let r: { length: number; fin: boolean } | undefined;
    try {
      r = this.io.streamRecv(s.id, this.scratch);
    } catch (e) {
      if (!isStreamIOError(e)) throw e;
      s.peerResetCode = e.kind === 'reset' ? (e.code ?? H3_NO_ERROR) : H3_INTERNAL_ERROR;
      return false;
    }
    if (!r) return false;
    if (r.length > 0) s.reader.push(this.scratch.slice(0, r.length));
    if (r.fin) s.finRead = true;
    return r.length > 0 || r.fin;
  }

  private notifyData(s: RequestStream): void {
    if (s.dataNotified) return;
    s.dataNotified = true;
    this.events.push({ type: 'data', streamId: s.id });
  }

  private onFrameEvent(s: RequestStream, ev: FrameEvent): void {
    switch (ev.kind) {
      case 'data-start':
        s.dataFrameStarted(ev.length);
        return;
      case 'unknown':
        return;
      case 'frame':
        this.onFrame(s, ev.frame);
        return;
      case 'data':
        return;
    }
  }

  private onFrame(s: RequestStream, frame: Frame): void {
    if (frame.type === 'push_promise') {
      // We never send MAX_PUSH_ID, so every push ID exceeds the limit (section 7.2.5).
      throw connectionError(H3_ID_ERROR, `PUSH_PROMISE ${frame.pushId} without MAX_PUSH_ID`, s.id);
    }
    if (frame.type !== 'headers') throw connectionError(H3_FRAME_UNEXPECTED, `${frame.type} on request stream ${s.id}`, s.id);
    const trailers = s.headersFrameReceived();
    const result = this.qpack.decode(s.id, frame.fieldSection);
    if (result.status === 'blocked') {
      s.headersBlocked(trailers);
      return;
    }
    this.deliverHeaders(s, result.headers);
  }

  /** A decoded header section: validates it for its place in the message and emits it. */
  private deliverHeaders(s: RequestStream, headers: HeaderList): void {
    const trailers = s.recv === RecvState.BODY;
    let informational = false;
    if (trailers) {
      checkTrailers(headers);
      s.trailersReceived();
    } else if (this.isServer) {
      const info = checkRequestHeaders(headers);
      s.method = info.method;
      s.headersReceived(info.contentLength, false);
    } else {
      const info = checkResponseHeaders(headers);
      if (info.status < 200) {
        informational = true;
      } else {
        s.headersReceived(info.contentLength, s.method === 'HEAD' || info.status === 204 || info.status === 304);
      }
    }
    // Whether the stream ends right here: look at what has arrived.
    if (s.reader.buffered === 0 && !s.finRead) this.readTransport(s);
    const fin = s.finRead && s.reader.buffered === 0;
    s.appKnows = true;
    const event: H3Event = { type: 'headers', streamId: s.id, headers, fin: fin && !informational };
    if (trailers) event.trailers = true;
    if (informational) event.informational = true;
    this.events.push(event);
  }

  private endOfStream(s: RequestStream): void {
    s.recvFinished(this.isServer);
    this.events.push({ type: 'finished', streamId: s.id });
    this.streams.forgetIfComplete(s);
  }

  private onPeerReset(s: RequestStream, code: number): void {
    s.peerResetCode = undefined;
    if (!s.readOpen) return;
    this.qpack.cancelStream(s.id);
    this.qpack.flushDecoderStream();
    s.recvClosed();
    // The exchange is over: stop sending our side too (section 4.1.1).
    if (s.writeOpen) {
      this.io.streamShutdown(s.id, 'write', H3_REQUEST_CANCELLED);
      s.out.clear();
      s.sendClosed();
    }
    this.events.resetIfKnown(s, code);
    this.streams.forgetIfComplete(s);
  }
}
