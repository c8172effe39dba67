/**
 * One HTTP/3 connection (RFC 9114) over a QUIC connection, in the style of quiche's
 * h3::Connection: no I/O and no timers of its own. The QUIC endpoint calls process() when
 * datagrams arrived (streams readable or writable), then drains poll() for events; the
 * application sends with sendRequest / sendResponse / sendBody / sendTrailers and reads bodies
 * with recvBody after a 'data' event.
 *
 * This class composes the parts and owns the error policy; the parts, split as quic-go's http3
 * package is:
 *   - ControlStream (control-stream.ts): both control streams, SETTINGS and GOAWAY;
 *   - QpackStreams (qpack-streams.ts): QPACK encoder and decoder with their streams;
 *   - PeerUniStreams (peer-uni-streams.ts): the peer's unidirectional streams, by type;
 *   - RequestStreams (request-streams.ts): the request streams tracked, one RequestStream each;
 *   - RequestReceiver / RequestSender (request-receive.ts, request-send.ts): their two directions.
 *
 * Errors: stream errors reset one request stream (RESET_STREAM + STOP_SENDING with the code);
 * connection errors close the QUIC connection with the H3/QPACK code (io.close) and surface as a
 * 'connection-error' event. Only H3Error and QpackError are protocol errors; anything else
 * thrown is a bug and propagates.
 */
import {
  connectionError,
  H3Error,
  H3_EXCESSIVE_LOAD,
  H3_NO_ERROR,
  H3_REQUEST_REJECTED,
  H3_STREAM_CREATION_ERROR,
  streamError,
} from './errors.ts';
import { ControlStream } from './control-stream.ts';
import { EventQueue, type H3Event, type H3PeerSettings } from './events.ts';
import { DEFAULT_FRAME_LIMITS, type FrameReaderLimits } from './frames.ts';
import { GreaseStream } from './grease.ts';
import { QpackError } from './qpack/index.ts';
import { QpackStreams } from './qpack-streams.ts';
import { PeerUniStreams } from './peer-uni-streams.ts';
import { RequestReceiver } from './request-receive.ts';
import { RequestSender } from './request-send.ts';
import { RequestStreams } from './request-streams.ts';
import { SendState, type RequestStream } from './stream-request.ts';
import { isBidi, isPeerInitiated, isStreamIOError, type QuicStreamIO } from './transport.ts';

export type { H3Event, H3PeerSettings } from './events.ts';

export interface H3ConnectionOptions {
  isServer: boolean;
  /** Our SETTINGS_QPACK_MAX_TABLE_CAPACITY and the encoder's own limit (default 4096, as HPACK's). */
  qpackMaxTableCapacity?: number;
  /** Our SETTINGS_QPACK_BLOCKED_STREAMS (default 100). */
  qpackBlockedStreams?: number;
  /** Our SETTINGS_MAX_FIELD_SECTION_SIZE; unset: not sent (no limit announced). */
  maxFieldSectionSize?: number;
  /** Send a GREASE setting, frame and stream (RFC 9114 section 7.2.8, 6.2.3); default true. */
  grease?: boolean;
  /** Frame size limits for received frames. */
  frameLimits?: Partial<FrameReaderLimits>;
}

/** sendRequest() cannot open a stream now: the peer's stream limit is reached. */
export class H3StreamBlockedError extends Error {
  constructor() {
    super('the peer allows no more request streams now; retry after process()');
    this.name = 'H3StreamBlockedError';
  }
}

const READ_CHUNK = 64 * 1024;

export class H3Connection {
  readonly isServer: boolean;
  private readonly events = new EventQueue();
  private readonly qpack: QpackStreams;
  private readonly control: ControlStream;
  private readonly greaseStream: GreaseStream | undefined;
  private readonly requests: RequestStreams;
  private readonly receiver: RequestReceiver;
  private readonly sender: RequestSender;
  private readonly peerUni: PeerUniStreams;
  private failure: H3Error | undefined;
  /** One read buffer for every stream: bytes read are consumed or copied before the next read. */
  private readonly scratch = new Uint8Array(READ_CHUNK);

  constructor(
    private readonly io: QuicStreamIO,
    opts: H3ConnectionOptions,
  ) {
    this.isServer = opts.isServer;
    const grease = opts.grease ?? true;
    const limits: FrameReaderLimits = { ...DEFAULT_FRAME_LIMITS, ...opts.frameLimits };
    if (opts.maxFieldSectionSize !== undefined) {
      // A sensible encoder never makes a section longer than its decoded size (which counts 32
      // bytes per field), so a larger HEADERS frame is refused unread (431 on a server).
      limits.maxFieldSectionFrame = Math.min(limits.maxFieldSectionFrame, opts.maxFieldSectionSize);
    }
    const ours = {
      maxTableCapacity: opts.qpackMaxTableCapacity ?? 4096,
      maxBlockedStreams: opts.qpackBlockedStreams ?? 100,
      maxFieldSectionSize: opts.maxFieldSectionSize,
    };
    // Our unidirectional streams, opened in this order: control, QPACK encoder, QPACK decoder, GREASE.
    const firstUni = this.isServer ? 3 : 2;
    this.control = new ControlStream(io, firstUni, { ...ours, isServer: this.isServer, grease, limits }, this.events, {
      onSettings: (peer) => this.qpack.applyPeerSettings(peer),
      onGoaway: (id) => {
        // Requests from id on were not processed (section 5.2): fail them so they can be retried.
        if (!this.isServer) this.rejectStreamsFrom(id, `not processed (GOAWAY ${id})`);
      },
    });
    this.qpack = new QpackStreams(io, ours, firstUni + 4, firstUni + 8);
    // A reserved stream type the peer must ignore (section 6.2.3), only if the peer allows a 4th stream.
    if (grease && io.peerStreamsLeftUni() > 3) this.greaseStream = new GreaseStream(io, firstUni + 12);
    this.requests = new RequestStreams(this.isServer, limits);
    this.sender = new RequestSender(io, this.requests, this.qpack, this.control, this.events);
    this.receiver = new RequestReceiver(io, this.isServer, this.scratch, this.requests, this.qpack, this.events, (s, error) =>
      this.abortStream(s, error),
    );
    this.peerUni = new PeerUniStreams(io, this.isServer, this.scratch, this.control, this.qpack, this.receiver);
  }

  // ------------------------------------------------------------------ public: state

  /** The peer's SETTINGS, once received. */
  get peerSettings(): H3PeerSettings | undefined {
    return this.control.peerSettings;
  }

  /** The error we closed the connection with, if any. */
  get error(): H3Error | undefined {
    return this.failure;
  }

  /** Client: the GOAWAY stream ID received; server: the push ID. */
  get goawayId(): number | undefined {
    return this.control.goawayReceived;
  }

  /** Request streams the connection still tracks (open in at least one direction). */
  get openStreams(): number {
    return this.requests.size;
  }

  /** QPACK state, for tests and connection statistics. */
  get qpackStats(): {
    encoderInsertCount: number;
    encoderKnownReceived: number;
    decoderInsertCount: number;
    decoderBlockedStreams: number;
  } {
    return this.qpack.stats;
  }

  /** Client: whether sendRequest() can open a stream now. */
  canSendRequest(): boolean {
    const goaway = this.control.goawayReceived;
    return (
      !this.isServer &&
      !this.failure &&
      (goaway === undefined || this.requests.nextRequestId < goaway) &&
      this.io.peerStreamsLeftBidi() > 0
    );
  }

  // ------------------------------------------------------------------ public: events

  /** Reads everything readable, flushes what flow control held back. Never throws protocol errors. */
  process(): void {
    if (this.failure) return;
    this.guard(() => {
      this.control.flush();
      this.qpack.flush();
      this.greaseStream?.flush();
      for (const id of Array.from(this.io.readableStreams())) {
        if (this.failure) return;
        this.onReadable(id);
      }
      this.sender.flushWaiting();
    });
  }

  /** The next event, or null. */
  poll(): H3Event | null {
    return this.events.next();
  }

  /**
   * Copies received body bytes into buf; returns how many (0: none now). May queue events
   * (trailers, 'finished') that poll() returns next.
   */
  recvBody(streamId: number, buf: Uint8Array): number {
    const s = this.requests.get(streamId);
    if (!s || this.failure || buf.length === 0) return 0;
    let n = 0;
    this.guard(() => {
      n = this.receiver.pump(s, buf);
    });
    if (n < buf.length) s.dataNotified = false;
    this.requests.forgetIfComplete(s);
    return n;
  }

  // ------------------------------------------------------------------ public: sending

  /** Client: opens a request stream with this header section; returns its stream ID. */
  sendRequest(headers: ReadonlyArray<readonly [string, string]>, fin: boolean): number {
    return this.api(() => this.sendRequestNow(headers, fin));
  }

  private sendRequestNow(headers: ReadonlyArray<readonly [string, string]>, fin: boolean): number {
    if (this.isServer) throw new Error('sendRequest() is for clients');
    const goaway = this.control.goawayReceived;
    if (goaway !== undefined && this.requests.nextRequestId >= goaway) {
      throw streamError(H3_REQUEST_REJECTED, `the server sent GOAWAY ${goaway}: no new requests`);
    }
    if (this.io.peerStreamsLeftBidi() <= 0) throw new H3StreamBlockedError();
    return this.sender.sendRequest(headers, fin);
  }

  /** Server: sends the response header section (1xx responses may come first: call again). */
  sendResponse(streamId: number, headers: ReadonlyArray<readonly [string, string]>, fin: boolean): void {
    return this.api(() => {
      if (!this.isServer) throw new Error('sendResponse() is for servers');
      this.sender.sendResponse(streamId, headers, fin);
    });
  }

  /**
   * Writes body bytes in one DATA frame, as many as flow control allows now; returns how many
   * were taken (0: none). The rest should be offered again after a 'writable' event. The fin is
   * sent only when all of data was taken. Throws H3Error (stream) if the peer stopped the stream.
   */
  sendBody(streamId: number, data: Uint8Array, fin: boolean): number {
    return this.api(() => this.sender.sendBody(streamId, data, fin));
  }

  /** Sends a trailer section and ends the stream. */
  sendTrailers(streamId: number, headers: ReadonlyArray<readonly [string, string]>): void {
    return this.api(() => this.sender.sendTrailers(streamId, headers));
  }

  /** Aborts a request stream in both directions with an application error code (e.g. H3_REQUEST_CANCELLED). */
  resetStream(streamId: number, code: number): void {
    const s = this.requests.get(streamId);
    if (!s) return;
    this.closeStream(s, code);
    this.qpack.flushDecoderStream();
  }

  /**
   * Starts a graceful shutdown (section 5.2). Server: requests on streams >= id (default: the
   * first not yet received) are rejected; client: id is a push ID (default 0). May be sent
   * again with a smaller id.
   */
  sendGoaway(id?: number): void {
    return this.api(() => {
      const goaway = id ?? (this.isServer ? this.requests.firstUnseenPeerId : 0);
      this.control.sendGoaway(goaway);
      if (this.isServer) this.rejectStreamsFrom(goaway, 'rejected by GOAWAY');
    });
  }

  // ------------------------------------------------------------------ errors

  /** Runs fn; protocol errors that escape it close the connection. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof H3Error) {
        const s = e.streamId !== undefined ? this.requests.get(e.streamId) : undefined;
        if (e.scope === 'stream' && s) this.abortStream(s, e);
        else this.fail(e.scope === 'connection' ? e : connectionError(e.code, e.message, e.streamId));
      } else if (e instanceof QpackError) {
        this.fail(connectionError(e.code, e.message));
      } else {
        throw e;
      }
    }
  }

  /**
   * Runs an application call: a connection error it runs into closes the connection (as in
   * process()) and is rethrown to the caller; stream errors are rethrown as they are.
   */
  private api<T>(fn: () => T): T {
    if (this.failure) throw this.failure;
    try {
      return fn();
    } catch (e) {
      if (e instanceof QpackError) {
        const error = connectionError(e.code, e.message);
        this.fail(error);
        throw error;
      }
      if (e instanceof H3Error && e.scope === 'connection') this.fail(e);
      throw e;
    }
  }

  private fail(error: H3Error): void {
    if (this.failure) return;
    this.failure = error;
    this.io.close({ app: true, code: error.code, reason: error.message.slice(0, 200) });
    this.events.push({ type: 'connection-error', code: error.code, reason: error.message, error });
  }

  /**
   * A stream error: the stream is closed in both directions with its code. A server that cannot
   * take a request's header section answers 431 instead (RFC 6585) and stops reading.
   */
  private abortStream(s: RequestStream, error: H3Error): void {
    if (this.isServer && error.code === H3_EXCESSIVE_LOAD && !s.appKnows && s.send === SendState.IDLE && !this.failure) {
      if (s.readOpen) this.qpack.cancelStream(s.id);
      s.recvClosed();
      this.io.streamShutdown(s.id, 'read', H3_NO_ERROR);
      this.sender.writeHeaders(s, [[':status', '431']], true);
      s.headersSent(true);
      this.qpack.flushDecoderStream();
      this.requests.forgetIfComplete(s);
      return;
    }
    this.closeStream(s, error.code);
    this.qpack.flushDecoderStream();
    this.events.resetIfKnown(s, error.code);
  }

  /** Both directions shut with code; the stream is forgotten. */
  private closeStream(s: RequestStream, code: number): void {
    if (s.readOpen) {
      this.qpack.cancelStream(s.id);
      this.io.streamShutdown(s.id, 'read', code);
    }
    if (s.writeOpen) this.io.streamShutdown(s.id, 'write', code);
    s.out.clear();
    s.recvClosed();
    s.sendClosed();
    this.requests.forget(s);
  }

  /** GOAWAY (section 5.2): request streams from id on are refused with H3_REQUEST_REJECTED. */
  private rejectStreamsFrom(id: number, reason: string): void {
    for (const s of Array.from(this.requests.values())) {
      if (s.id >= id) this.abortStream(s, streamError(H3_REQUEST_REJECTED, reason, s.id));
    }
  }

  // ------------------------------------------------------------------ reading: dispatch

  private onReadable(id: number): void {
    if (isBidi(id)) {
      if (isPeerInitiated(id, this.isServer)) {
        // Section 6.1: servers never open bidirectional streams.
        if (!this.isServer) throw connectionError(H3_STREAM_CREATION_ERROR, `server-initiated bidirectional stream ${id}`);
        const s = this.requests.get(id) ?? this.acceptRequestStream(id);
        if (s) this.receiver.pump(s);
        else this.discard(id);
      } else {
        const s = this.requests.get(id);
        if (s) this.receiver.pump(s);
        else this.discard(id);
      }
      return;
    }
    if (!isPeerInitiated(id, this.isServer) || this.peerUni.isIgnored(id)) {
      this.discard(id);
      return;
    }
    this.peerUni.onReadable(id);
  }

  /** Server: a new request stream from the client, unless GOAWAY already excluded it. */
  private acceptRequestStream(id: number): RequestStream | undefined {
    if (!this.requests.notePeerStream(id)) return undefined; // finished and forgotten
    const goaway = this.control.goawaySent;
    if (goaway !== undefined && id >= goaway) {
      this.io.streamShutdown(id, 'read', H3_REQUEST_REJECTED);
      this.io.streamShutdown(id, 'write', H3_REQUEST_REJECTED);
      return undefined;
    }
    return this.requests.accept(id);
  }

  /** Reads and drops what arrives on a stream we no longer track. */
  private discard(id: number): void {
    for (let i = 0; i < 64; i++) {
      try {
        const r = this.io.streamRecv(id, this.scratch);
        if (!r || r.fin || r.length === 0) return;
      } catch (e) {
        if (isStreamIOError(e)) return;
        throw e;
      }
    }
  }
}
