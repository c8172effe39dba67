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
 */
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
  recv = RecvState.HEADERS_EXPECTED;
  send = SendState.IDLE;
  readonly reader: FrameReader;
  readonly out: StreamSendBuffer;
  /** The transport reported the stream's fin as read. */
  finRead = false;
  /** A 'data' event was emitted and the body has not been drained since. */
  dataNotified = false;
  /** The HEADERS frame waiting for QPACK is the trailer section. */
  blockedTrailers = false;
  /** The app has heard of this stream (client: its own request; server: after the request headers). */
  appKnows: boolean;
  /** content-length of the message being received, checked against the DATA received (section 4.1.2). */
  contentLength: number | undefined;
  bodyReceived = 0;
  /** Client: the request method (a HEAD response has content-length but no body). */
  method: string | undefined;
  /** No body is allowed on the message being received (HEAD response, 204, 304). */
  noBody = false;
  /** The transport reported a reset; handled at the next step of the receive state machine. */
  peerResetCode: number | undefined;
  /** A header section decoded after it was blocked, to be delivered by the receive loop. */
  unblockedHeaders: HeaderList | undefined;
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

  /** Both directions are done: the connection can forget the stream. */
  get isComplete(): boolean {
    const readDone = this.recv === RecvState.FINISHED || this.recv === RecvState.CLOSED;
    const writeDone = this.send === SendState.CLOSED || (this.send === SendState.DONE && this.out.isEmpty);
    return readDone && writeDone;
  }
}
