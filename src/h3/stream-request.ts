/**
 * Per-stream state of one request/response exchange (RFC 9114 section 4.1). The receive side is
 * a state machine over the frames FrameReader yields:
 *
 *   HEADERS_EXPECTED --HEADERS (final)--> BODY --HEADERS (trailers)--> TRAILERS_RECEIVED
 *        |  ^   (client: 1xx HEADERS stay)   |  DATA*                          | unknown frames only
 *        |  +----------- BLOCKED ------------+  (a HEADERS frame waiting for QPACK encoder-stream data)
 *        +---------- end of stream -------------------------------------------> FINISHED
 *   any --stream error / peer reset--> CLOSED
 *
 * DATA before the first HEADERS, or DATA/HEADERS after the trailers, is H3_FRAME_UNEXPECTED
 * (a connection error, section 4.1). The send side only tracks order: headers, body, trailers, fin.
 *
 * The states change only through the methods below, named after what happened on the stream.
 * Those driven by the peer's frames throw the H3Error the RFC asks for; the others throw a plain
 * Error, because only a bug in this layer calls them out of order.
 */
import {
  connectionError,
  H3_FRAME_ERROR,
  H3_FRAME_UNEXPECTED,
  H3_MESSAGE_ERROR,
  H3_REQUEST_CANCELLED,
  H3_REQUEST_INCOMPLETE,
  streamError,
} from './errors.ts';
import { FrameReader, type FrameReaderLimits } from './frames.ts';
import type { HeaderList } from './headers.ts';
import { StreamSendBuffer } from './stream-send-buffer.ts';

export const enum RecvState {
  HEADERS_EXPECTED,
  BODY,
  TRAILERS_RECEIVED,
  BLOCKED,
  FINISHED,
  CLOSED,
}

export const enum SendState {
  /** Nothing sent yet (server: response not started). */
  IDLE,
  /** Initial headers sent; body and trailers may follow. */
  BODY,
  /** Trailers or fin sent: nothing more may be written. */
  DONE,
  /** Reset by us or stopped by the peer. */
  CLOSED,
}

export class RequestStream {
  private recvState = RecvState.HEADERS_EXPECTED;
  private sendState = SendState.IDLE;
  readonly reader: FrameReader;
  readonly out: StreamSendBuffer;
  /** The transport reported the stream's fin as read. */
  finRead = false;
  /** A 'data' event was emitted and the body has not been drained since. */
  dataNotified = false;
  /** The HEADERS frame waiting for QPACK is the trailer section. */
  private blockedTrailers = false;
  /** The app has heard of this stream (client: its own request; server: after the request headers). */
  appKnows: boolean;
  /** content-length of the message being received, checked against the DATA received (section 4.1.2). */
  private contentLength: number | undefined;
  private bodyReceived = 0;
  /** Client: the request method (a HEAD response has content-length but no body). */
  method: string | undefined;
  /** No body is allowed on the message being received (HEAD response, 204, 304). */
  private noBody = false;
  /** The transport reported a reset; handled at the next step of the receive state machine. */
  peerResetCode: number | undefined;
  /** A header section decoded after it was blocked, to be delivered by the receive loop. */
  private unblockedHeaders: HeaderList | undefined;
  /** A 'reset' event went out for this stream (at most one). */
  resetEmitted = false;
  /** sendBody() took fewer bytes than offered: emit 'writable' when the transport has room. */
  wantsWritable = false;

  constructor(
    readonly id: number,
    isServer: boolean,
    limits: FrameReaderLimits,
  ) {
    this.reader = new FrameReader(isServer ? 'request' : 'response', limits);
    this.out = new StreamSendBuffer(id);
    this.appKnows = !isServer;
  }

  get recv(): RecvState {
    return this.recvState;
  }

  get send(): SendState {
    return this.sendState;
  }

  /** The peer's side is still being read (not finished, not closed). */
  get readOpen(): boolean {
    return this.recvState !== RecvState.FINISHED && this.recvState !== RecvState.CLOSED;
  }

  /** Frames can be read now: the stream is open and not waiting for QPACK. */
  get readsFrames(): boolean {
    const r = this.recvState;
    return r === RecvState.HEADERS_EXPECTED || r === RecvState.BODY || r === RecvState.TRAILERS_RECEIVED;
  }

  /** Our side may still write or has bytes queued (neither closed nor done and flushed). */
  get writeOpen(): boolean {
    return this.sendState !== SendState.CLOSED && !(this.sendState === SendState.DONE && this.out.isEmpty);
  }

  /** Both directions are done: the connection can forget the stream. */
  get isComplete(): boolean {
    return !this.readOpen && (this.sendState === SendState.CLOSED || (this.sendState === SendState.DONE && this.out.isEmpty));
  }

  // ------------------------------------------------------------------ receive transitions

  /** A DATA frame of `length` bytes begins: only between the header section and the trailers. */
  dataFrameStarted(length: number): void {
    if (this.recvState === RecvState.HEADERS_EXPECTED) {
      throw connectionError(H3_FRAME_UNEXPECTED, `DATA before HEADERS on stream ${this.id}`, this.id);
    }
    if (this.recvState === RecvState.TRAILERS_RECEIVED) {
      throw connectionError(H3_FRAME_UNEXPECTED, `DATA after trailers on stream ${this.id}`, this.id);
    }
    this.bodyReceived += length;
    if (this.noBody && length > 0) throw streamError(H3_MESSAGE_ERROR, 'body on a response that cannot have one', this.id);
    if (this.contentLength !== undefined && !this.noBody && this.bodyReceived > this.contentLength) {
      throw streamError(H3_MESSAGE_ERROR, `body exceeds content-length ${this.contentLength}`, this.id);
    }
  }

  /** A HEADERS frame arrived; returns whether it carries the trailers. None may follow the trailers. */
  headersFrameReceived(): boolean {
    if (this.recvState === RecvState.TRAILERS_RECEIVED) {
      throw connectionError(H3_FRAME_UNEXPECTED, `HEADERS after trailers on stream ${this.id}`, this.id);
    }
    return this.recvState === RecvState.BODY;
  }

  /** The HEADERS frame needs QPACK inserts not received yet. */
  headersBlocked(trailers: boolean): void {
    if (this.recvState !== RecvState.HEADERS_EXPECTED && this.recvState !== RecvState.BODY) throw this.illegal('blocked headers');
    this.blockedTrailers = trailers;
    this.recvState = RecvState.BLOCKED;
  }

  /** The blocked header section could be decoded: the receive loop delivers it next. */
  headersUnblocked(headers: HeaderList): void {
    if (this.recvState !== RecvState.BLOCKED) throw this.illegal('unblocked headers');
    this.unblockedHeaders = headers;
  }

  /** The decoded section waiting for delivery, if any; the stream is back where it blocked. */
  takeUnblockedHeaders(): HeaderList | undefined {
    const headers = this.unblockedHeaders;
    if (headers === undefined) return undefined;
    this.unblockedHeaders = undefined;
    if (this.recvState === RecvState.BLOCKED) this.recvState = this.blockedTrailers ? RecvState.BODY : RecvState.HEADERS_EXPECTED;
    return headers;
  }

  /** The request, or a final response, was received: the body may follow. */
  headersReceived(contentLength: number | undefined, noBody: boolean): void {
    if (this.recvState !== RecvState.HEADERS_EXPECTED) throw this.illegal('headers');
    this.contentLength = contentLength;
    this.noBody = noBody;
    this.recvState = RecvState.BODY;
  }

  trailersReceived(): void {
    if (this.recvState !== RecvState.BODY) throw this.illegal('trailers');
    this.recvState = RecvState.TRAILERS_RECEIVED;
  }

  /**
   * The peer's fin was read with every frame before it. A message without a header section, cut
   * inside a frame, or with a body other than its content-length is malformed (section 4.1.2).
   */
  recvFinished(isServer: boolean): void {
    if (!this.readsFrames) throw this.illegal('end of stream');
    if (!this.reader.atFrameBoundary) throw connectionError(H3_FRAME_ERROR, `stream ${this.id} ended inside a frame`, this.id);
    if (this.recvState === RecvState.HEADERS_EXPECTED) {
      throw streamError(isServer ? H3_REQUEST_INCOMPLETE : H3_MESSAGE_ERROR, `stream ${this.id} ended without a header section`, this.id);
    }
    if (!this.noBody && this.contentLength !== undefined && this.bodyReceived !== this.contentLength) {
      throw streamError(H3_MESSAGE_ERROR, `body of ${this.bodyReceived} bytes, content-length ${this.contentLength}`, this.id);
    }
    this.recvState = RecvState.FINISHED;
  }

  /** Reading stops for good (peer reset, stream error, or the request was refused); nothing more is delivered. */
  recvClosed(): void {
    this.recvState = RecvState.CLOSED;
    this.unblockedHeaders = undefined;
  }

  // ------------------------------------------------------------------ send transitions

  /**
   * A header section went out. An informational (1xx) response leaves the stream as it was, as
   * the final response still has to come, unless it ended the stream.
   */
  headersSent(fin: boolean, informational = false): void {
    if (this.sendState !== SendState.IDLE) throw this.illegal('sent headers');
    if (!informational || fin) this.sendState = fin ? SendState.DONE : SendState.BODY;
  }

  /** Throws unless body and trailers may be written now. */
  assertSendingBody(): void {
    if (this.sendState === SendState.CLOSED) throw streamError(H3_REQUEST_CANCELLED, `stream ${this.id} was reset`, this.id);
    if (this.sendState !== SendState.BODY) {
      throw new Error(`stream ${this.id}: ${this.sendState === SendState.IDLE ? 'headers must come first' : 'already finished'}`);
    }
  }

  /** The fin was written (after the body, or with the trailers). */
  finishSending(): void {
    if (this.sendState !== SendState.BODY) throw this.illegal('fin');
    this.sendState = SendState.DONE;
  }

  /** Writing stops for good (we reset the stream or the peer stopped it). */
  sendClosed(): void {
    this.sendState = SendState.CLOSED;
  }

  private illegal(what: string): Error {
    return new Error(`stream ${this.id}: ${what} in receive state ${this.recvState}, send state ${this.sendState}`);
  }
}
