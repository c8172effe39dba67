/**
 * One HTTP/3 connection (RFC 9114) over a QUIC connection, in the style of quiche's
 * h3::Connection: no I/O and no timers of its own. The QUIC endpoint calls process() when
 * datagrams arrived (streams readable or writable), then drains poll() for events; the
 * application sends with sendRequest / sendResponse / sendBody / sendTrailers and reads bodies
 * with recvBody after a 'data' event.
 *
 * Streams:
 *   - our control stream (SETTINGS first), QPACK encoder and decoder streams, and (with grease)
 *     one reserved-type stream, opened in the constructor;
 *   - the peer's unidirectional streams, identified by their type prefix (section 6.2);
 *   - request streams (client-initiated bidirectional), one RequestStream each.
 *
 * Errors: stream errors reset one request stream (RESET_STREAM + STOP_SENDING with the code);
 * connection errors close the QUIC connection with the H3/QPACK code (io.close) and surface as a
 * 'connection-error' event. Only H3Error and QpackError are protocol errors; anything else
 * thrown is a bug and propagates.
 */
import {
  connectionError,
  H3Error,
  H3_CLOSED_CRITICAL_STREAM,
  H3_EXCESSIVE_LOAD,
  H3_FRAME_UNEXPECTED,
  H3_ID_ERROR,
  H3_INTERNAL_ERROR,
  H3_MISSING_SETTINGS,
  H3_NO_ERROR,
  H3_REQUEST_CANCELLED,
  H3_REQUEST_REJECTED,
  H3_STREAM_CREATION_ERROR,
  streamError,
} from './errors.ts';
import {
  DEFAULT_FRAME_LIMITS,
  encodeFrame,
  encodeFrameHeader,
  encodeGoawayFrame,
  encodeSettingsFrame,
  FRAME_DATA,
  FRAME_HEADERS,
  FrameReader,
  reservedCode,
  SETTINGS_MAX_FIELD_SECTION_SIZE,
  SETTINGS_QPACK_BLOCKED_STREAMS,
  SETTINGS_QPACK_MAX_TABLE_CAPACITY,
  type Frame,
  type FrameEvent,
  type FrameReaderLimits,
  type SettingsMap,
} from './frames.ts';
import {
  checkRequestHeaders,
  checkResponseHeaders,
  checkTrailers,
  fieldSectionSize,
  lowercaseNames,
  type HeaderList,
} from './headers.ts';
import { FieldSectionTooLargeError, QpackDecoder, QpackEncoder, QpackError } from './qpack/index.ts';
import { RecvState, RequestStream, SendState } from './stream-request.ts';
import { StreamSendBuffer } from './stream-send-buffer.ts';
import {
  STREAM_TYPE_CONTROL,
  STREAM_TYPE_PUSH,
  STREAM_TYPE_QPACK_DECODER,
  STREAM_TYPE_QPACK_ENCODER,
  VarintCollector,
} from './stream-types.ts';
import { isBidi, isPeerInitiated, isStreamIOError, type QuicStreamIO } from './transport.ts';
import { encodeVarint, varintSize } from './varint.ts';

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

/** sendRequest() cannot open a stream now: the peer's stream limit is reached. */
export class H3StreamBlockedError extends Error {
  constructor() {
    super('the peer allows no more request streams now; retry after process()');
    this.name = 'H3StreamBlockedError';
  }
}

/** A unidirectional stream the peer opened. */
interface PeerUniStream {
  id: number;
  type: VarintCollector;
  role?: 'control' | 'encoder' | 'decoder';
  /** Control stream only. */
  reader?: FrameReader;
  settingsSeen: boolean;
}

const READ_CHUNK = 64 * 1024;
const GREASE_MAX_N = 1 << 16;

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

export class H3Connection {
  readonly isServer: boolean;
  private readonly encoder: QpackEncoder;
  private readonly decoder: QpackDecoder;
  private readonly limits: FrameReaderLimits;
  private readonly streams = new Map<number, RequestStream>();
  private readonly peerUni = new Map<number, PeerUniStream>();
  /** Peer unidirectional streams we stopped reading (unknown types). */
  private readonly ignoredUni = new Set<number>();
  private readonly seenPeerBidi = new SeenStreams();
  private readonly control: StreamSendBuffer;
  private readonly encoderStream: StreamSendBuffer;
  private readonly decoderStream: StreamSendBuffer;
  private readonly greaseStream: StreamSendBuffer | undefined;
  private nextUniId: number;
  private nextRequestId = 0;
  private peerControl: PeerUniStream | undefined;
  private peerEncoder: PeerUniStream | undefined;
  private peerDecoder: PeerUniStream | undefined;
  private peerSettingsValue: H3PeerSettings | undefined;
  private goawaySent: number | undefined;
  private goawayReceived: number | undefined;
  private maxPushIdReceived: number | undefined;
  private events: H3Event[] = [];
  private eventHead = 0;
  private failure: H3Error | undefined;
  private readonly scratch = new Uint8Array(READ_CHUNK);

  constructor(
    private readonly io: QuicStreamIO,
    opts: H3ConnectionOptions,
  ) {
    this.isServer = opts.isServer;
    const capacity = opts.qpackMaxTableCapacity ?? 4096;
    const blocked = opts.qpackBlockedStreams ?? 100;
    this.encoder = new QpackEncoder({ maxTableCapacity: capacity });
    this.decoder = new QpackDecoder({
      maxTableCapacity: capacity,
      maxBlockedStreams: blocked,
      maxFieldSectionSize: opts.maxFieldSectionSize,
    });
    this.limits = { ...DEFAULT_FRAME_LIMITS, ...opts.frameLimits };
    if (opts.maxFieldSectionSize !== undefined) {
      // A sensible encoder never makes a section longer than its decoded size (which counts 32
      // bytes per field), so a larger HEADERS frame is refused unread (431 on a server).
      this.limits.maxFieldSectionFrame = Math.min(this.limits.maxFieldSectionFrame, opts.maxFieldSectionSize);
    }
    this.nextUniId = this.isServer ? 3 : 2;
    const grease = opts.grease ?? true;

    // Control stream: type, SETTINGS (must be first, section 6.2.1), then a GREASE frame.
    this.control = new StreamSendBuffer(this.takeUniId());
    const settings: Array<[number, number]> = [
      [SETTINGS_QPACK_MAX_TABLE_CAPACITY, capacity],
      [SETTINGS_QPACK_BLOCKED_STREAMS, blocked],
    ];
    if (opts.maxFieldSectionSize !== undefined) settings.push([SETTINGS_MAX_FIELD_SECTION_SIZE, opts.maxFieldSectionSize]);
    if (grease) settings.push([reservedCode(randomInt(GREASE_MAX_N)), randomInt(1 << 30)]);
    const controlParts = [Uint8Array.of(STREAM_TYPE_CONTROL), encodeSettingsFrame(settings)];
    if (grease) controlParts.push(encodeFrame(reservedCode(randomInt(GREASE_MAX_N)), randomBytes(randomInt(9))));
    this.control.write(this.io, concat(controlParts), false, false);

    this.encoderStream = new StreamSendBuffer(this.takeUniId());
    this.encoderStream.write(this.io, Uint8Array.of(STREAM_TYPE_QPACK_ENCODER), false, false);
    this.decoderStream = new StreamSendBuffer(this.takeUniId());
    this.decoderStream.write(this.io, Uint8Array.of(STREAM_TYPE_QPACK_DECODER), false, false);

    // A reserved stream type the peer must ignore (section 6.2.3), only if the peer allows a 4th stream.
    if (grease && this.io.peerStreamsLeftUni() > 3) {
      this.greaseStream = new StreamSendBuffer(this.takeUniId());
      const type = encodeVarint(reservedCode(randomInt(GREASE_MAX_N)));
      this.greaseStream.write(this.io, concat([type, randomBytes(8)]), true, false);
    }
  }

  // ------------------------------------------------------------------ public: state

  /** The peer's SETTINGS, once received. */
  get peerSettings(): H3PeerSettings | undefined {
    return this.peerSettingsValue;
  }

  /** The error we closed the connection with, if any. */
  get error(): H3Error | undefined {
    return this.failure;
  }

  /** Client: the GOAWAY stream ID received; server: the push ID. */
  get goawayId(): number | undefined {
    return this.goawayReceived;
  }

  /** Request streams the connection still tracks (open in at least one direction). */
  get openStreams(): number {
    return this.streams.size;
  }

  /** QPACK state, for tests and connection statistics. */
  get qpackStats(): {
    encoderInsertCount: number;
    encoderKnownReceived: number;
    decoderInsertCount: number;
    decoderBlockedStreams: number;
  } {
    return {
      encoderInsertCount: this.encoder.insertCount,
      encoderKnownReceived: this.encoder.knownReceived,
      decoderInsertCount: this.decoder.insertCount,
      decoderBlockedStreams: this.decoder.blockedStreamCount,
    };
  }

  /** Client: whether sendRequest() can open a stream now. */
  canSendRequest(): boolean {
    return (
      !this.isServer &&
      !this.failure &&
      (this.goawayReceived === undefined || this.nextRequestId < this.goawayReceived) &&
      this.io.peerStreamsLeftBidi() > 0
    );
  }

  // ------------------------------------------------------------------ public: events

  /** Reads everything readable, flushes what flow control held back. Never throws protocol errors. */
  process(): void {
    if (this.failure) return;
    this.guard(() => {
      this.flushCritical();
      for (const id of Array.from(this.io.readableStreams())) {
        if (this.failure) return;
        this.onReadable(id);
      }
      this.flushRequests();
    });
  }

  /** The next event, or null. */
  poll(): H3Event | null {
    if (this.eventHead < this.events.length) {
      const ev = this.events[this.eventHead]!;
      this.events[this.eventHead++] = undefined as unknown as H3Event;
      return ev;
    }
    if (this.events.length > 0) {
      this.events = [];
      this.eventHead = 0;
    }
    return null;
  }

  /**
   * Copies received body bytes into buf; returns how many (0: none now). May queue events
   * (trailers, 'finished') that poll() returns next.
   */
  recvBody(streamId: number, buf: Uint8Array): number {
    const s = this.streams.get(streamId);
    if (!s || this.failure || buf.length === 0) return 0;
    let n = 0;
    this.guard(() => {
      n = this.pump(s, buf);
    });
    if (n < buf.length) s.dataNotified = false;
    this.forgetIfComplete(s);
    return n;
  }

  // ------------------------------------------------------------------ public: sending

  /** Client: opens a request stream with this header section; returns its stream ID. */
  sendRequest(headers: ReadonlyArray<readonly [string, string]>, fin: boolean): number {
    return this.api(() => this.sendRequestNow(headers, fin));
  }

  private sendRequestNow(headers: ReadonlyArray<readonly [string, string]>, fin: boolean): number {
    if (this.isServer) throw new Error('sendRequest() is for clients');
    if (this.goawayReceived !== undefined && this.nextRequestId >= this.goawayReceived) {
      throw streamError(H3_REQUEST_REJECTED, `the server sent GOAWAY ${this.goawayReceived}: no new requests`);
    }
    if (this.io.peerStreamsLeftBidi() <= 0) throw new H3StreamBlockedError();
    const list = lowercaseNames(headers);
    this.checkPeerFieldSectionLimit(list, this.nextRequestId);
    const id = this.nextRequestId;
    this.nextRequestId += 4;
    const s = new RequestStream(id, false, this.limits);
    s.method = list.find(([n]) => n === ':method')?.[1];
    this.streams.set(id, s);
    this.writeHeaders(s, list, fin);
    s.headersSent(fin);
    return id;
  }

  /** Server: sends the response header section (1xx responses may come first: call again). */
  sendResponse(streamId: number, headers: ReadonlyArray<readonly [string, string]>, fin: boolean): void {
    return this.api(() => this.sendResponseNow(streamId, headers, fin));
  }

  private sendResponseNow(streamId: number, headers: ReadonlyArray<readonly [string, string]>, fin: boolean): void {
    if (!this.isServer) throw new Error('sendResponse() is for servers');
    const s = this.streams.get(streamId);
    if (!s || !s.appKnows) throw this.missingStream(streamId);
    if (s.send !== SendState.IDLE) throw new Error(`stream ${streamId}: response already started`);
    this.writeHeaders(s, headers, fin);
    const status = headers.find(([n]) => n === ':status')?.[1];
    const informational = status !== undefined && status.length === 3 && status[0] === '1';
    s.headersSent(fin, informational);
    this.forgetIfComplete(s);
  }

  /**
   * Writes body bytes in one DATA frame, as many as flow control allows now; returns how many
   * were taken (0: none). The rest should be offered again after a 'writable' event. The fin is
   * sent only when all of data was taken. Throws H3Error (stream) if the peer stopped the stream.
   */
  sendBody(streamId: number, data: Uint8Array, fin: boolean): number {
    return this.api(() => this.sendBodyNow(streamId, data, fin));
  }

  private sendBodyNow(streamId: number, data: Uint8Array, fin: boolean): number {
    const s = this.sendableStream(streamId);
    if (!this.flushStream(s) || s.out.pending > 0) {
      s.wantsWritable = true;
      return 0;
    }
    if (data.length === 0) {
      if (fin) {
        s.finishSending();
        this.writeStream(s, new Uint8Array(0), true, false);
        this.forgetIfComplete(s);
      }
      return 0;
    }
    let capacity: number;
    try {
      capacity = this.io.streamCapacity(streamId);
    } catch (e) {
      throw this.sendFailed(s, e);
    }
    const header = 1 + varintSize(Math.min(data.length, Math.max(capacity, 0)));
    const n = Math.min(data.length, capacity - header);
    if (n <= 0) {
      s.wantsWritable = true;
      return 0;
    }
    const finNow = fin && n === data.length;
    this.writeStream(s, encodeFrameHeader(FRAME_DATA, n), false, false);
    this.writeStream(s, n === data.length ? data : data.subarray(0, n), finNow, true);
    if (n < data.length) s.wantsWritable = true;
    if (finNow) {
      s.finishSending();
      this.forgetIfComplete(s);
    }
    return n;
  }

  /** Sends a trailer section and ends the stream. */
  sendTrailers(streamId: number, headers: ReadonlyArray<readonly [string, string]>): void {
    return this.api(() => this.sendTrailersNow(streamId, headers));
  }

  private sendTrailersNow(streamId: number, headers: ReadonlyArray<readonly [string, string]>): void {
    const s = this.sendableStream(streamId);
    if (headers.some(([n]) => n.startsWith(':'))) throw new Error('trailers cannot carry pseudo-fields');
    this.writeHeaders(s, headers, true);
    s.finishSending();
    this.forgetIfComplete(s);
  }

  /** Aborts a request stream in both directions with an application error code (e.g. H3_REQUEST_CANCELLED). */
  resetStream(streamId: number, code: number): void {
    const s = this.streams.get(streamId);
    if (!s) return;
    this.closeStream(s, code);
    this.flushDecoderStream();
  }

  /**
   * Starts a graceful shutdown (section 5.2). Server: requests on streams >= id (default: the
   * first not yet received) are rejected; client: id is a push ID (default 0). May be sent
   * again with a smaller id.
   */
  sendGoaway(id?: number): void {
    return this.api(() => this.sendGoawayNow(id));
  }

  private sendGoawayNow(id?: number): void {
    const goaway = id ?? (this.isServer ? this.seenPeerBidi.next : 0);
    if (this.isServer && goaway % 4 !== 0) throw new RangeError(`GOAWAY ${goaway} is not a client bidirectional stream ID`);
    if (this.goawaySent !== undefined && goaway > this.goawaySent) {
      throw new RangeError(`GOAWAY ${goaway} is larger than the GOAWAY ${this.goawaySent} already sent`);
    }
    this.goawaySent = goaway;
    this.writeCritical(this.control, encodeGoawayFrame(goaway));
    if (this.isServer) {
      for (const s of Array.from(this.streams.values())) {
        if (s.id >= goaway) this.abortStream(s, streamError(H3_REQUEST_REJECTED, 'rejected by GOAWAY', s.id));
      }
    }
  }

  // ------------------------------------------------------------------ errors

  /** Runs fn; protocol errors that escape it close the connection. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof H3Error) {
        const s = e.streamId !== undefined ? this.streams.get(e.streamId) : undefined;
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
    this.assertUsable();
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
    this.emit({ type: 'connection-error', code: error.code, reason: error.message, error });
  }

  private assertUsable(): void {
    if (this.failure) throw this.failure;
  }

  private emit(event: H3Event): void {
    this.events.push(event);
  }

  // ------------------------------------------------------------------ reading: dispatch

  private onReadable(id: number): void {
    if (isBidi(id)) {
      if (isPeerInitiated(id, this.isServer)) {
        // Section 6.1: servers never open bidirectional streams.
        if (!this.isServer) throw connectionError(H3_STREAM_CREATION_ERROR, `server-initiated bidirectional stream ${id}`);
        const s = this.streams.get(id) ?? this.acceptRequestStream(id);
        if (s) this.pump(s);
        else this.discard(id);
      } else {
        const s = this.streams.get(id);
        if (s) this.pump(s);
        else this.discard(id);
      }
      return;
    }
    if (!isPeerInitiated(id, this.isServer) || this.ignoredUni.has(id)) {
      this.discard(id);
      return;
    }
    this.pumpUni(id);
  }

  /** Server: a new request stream from the client, unless GOAWAY already excluded it. */
  private acceptRequestStream(id: number): RequestStream | undefined {
    if (this.seenPeerBidi.has(id)) return undefined; // finished and forgotten
    this.seenPeerBidi.add(id);
    if (this.goawaySent !== undefined && id >= this.goawaySent) {
      this.io.streamShutdown(id, 'read', H3_REQUEST_REJECTED);
      this.io.streamShutdown(id, 'write', H3_REQUEST_REJECTED);
      return undefined;
    }
    const s = new RequestStream(id, true, this.limits);
    this.streams.set(id, s);
    return s;
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

  // ------------------------------------------------------------------ reading: request streams

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

  /**
   * Advances a request stream's receive state machine. Without body: stops at DATA payload and
   * emits 'data'. With body: copies DATA payload into it until full; returns the bytes copied.
   * Stream errors abort only this stream; connection errors propagate.
   */
  private pump(s: RequestStream, body?: Uint8Array): number {
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
          this.onRequestEvent(s, ev);
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

  private notifyData(s: RequestStream): void {
    if (s.dataNotified) return;
    s.dataNotified = true;
    this.emit({ type: 'data', streamId: s.id });
  }

  private onRequestEvent(s: RequestStream, ev: FrameEvent): void {
    switch (ev.kind) {
      case 'data-start':
        s.dataFrameStarted(ev.length);
        return;
      case 'unknown':
        return;
      case 'frame':
        this.onRequestFrame(s, ev.frame);
        return;
      case 'data':
        return;
    }
  }

  private onRequestFrame(s: RequestStream, frame: Frame): void {
    if (frame.type === 'push_promise') {
      // We never send MAX_PUSH_ID, so every push ID exceeds the limit (section 7.2.5).
      throw connectionError(H3_ID_ERROR, `PUSH_PROMISE ${frame.pushId} without MAX_PUSH_ID`, s.id);
    }
    if (frame.type !== 'headers') throw connectionError(H3_FRAME_UNEXPECTED, `${frame.type} on request stream ${s.id}`, s.id);
    const trailers = s.headersFrameReceived();
    const result = this.decoder.decodeFieldSection(s.id, frame.fieldSection);
    this.flushDecoderStream();
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
    this.emit(event);
  }

  private endOfStream(s: RequestStream): void {
    s.recvFinished(this.isServer);
    this.emit({ type: 'finished', streamId: s.id });
    this.forgetIfComplete(s);
  }

  private onPeerReset(s: RequestStream, code: number): void {
    s.peerResetCode = undefined;
    if (!s.readOpen) return;
    this.decoder.cancelStream(s.id);
    this.flushDecoderStream();
    s.recvClosed();
    // The exchange is over: stop sending our side too (section 4.1.1).
    if (s.writeOpen) {
      this.io.streamShutdown(s.id, 'write', H3_REQUEST_CANCELLED);
      s.out.clear();
      s.sendClosed();
    }
    if (s.appKnows) this.emitReset(s, code);
    this.forgetIfComplete(s);
  }

  private emitReset(s: RequestStream, code: number): void {
    if (s.resetEmitted) return;
    s.resetEmitted = true;
    this.emit({ type: 'reset', streamId: s.id, code });
  }

  /**
   * A stream error: the stream is closed in both directions with its code. A server that cannot
   * take a request's header section answers 431 instead (RFC 6585) and stops reading.
   */
  private abortStream(s: RequestStream, error: H3Error): void {
    if (
      this.isServer &&
      error.code === H3_EXCESSIVE_LOAD &&
      !s.appKnows &&
      s.send === SendState.IDLE &&
      !this.failure
    ) {
      if (s.readOpen) this.decoder.cancelStream(s.id);
      s.recvClosed();
      this.io.streamShutdown(s.id, 'read', H3_NO_ERROR);
      this.writeHeaders(s, [[':status', '431']], true);
      s.headersSent(true);
      this.flushDecoderStream();
      this.forgetIfComplete(s);
      return;
    }
    this.closeStream(s, error.code);
    this.flushDecoderStream();
    if (s.appKnows) this.emitReset(s, error.code);
  }

  /** Both directions shut with code; the stream is forgotten. */
  private closeStream(s: RequestStream, code: number): void {
    if (s.readOpen) {
      this.decoder.cancelStream(s.id);
      this.io.streamShutdown(s.id, 'read', code);
    }
    if (s.writeOpen) this.io.streamShutdown(s.id, 'write', code);
    s.out.clear();
    s.recvClosed();
    s.sendClosed();
    this.streams.delete(s.id);
  }

  private forgetIfComplete(s: RequestStream): void {
    if (s.isComplete) this.streams.delete(s.id);
  }

  // ------------------------------------------------------------------ reading: unidirectional streams

  private pumpUni(id: number): void {
    let u = this.peerUni.get(id);
    if (!u) {
      u = { id, type: new VarintCollector(), settingsSeen: false };
      this.peerUni.set(id, u);
    }
    for (;;) {
      let r: { length: number; fin: boolean } | undefined;
      try {
        r = this.io.streamRecv(id, this.scratch);
      } catch (e) {
        if (!isStreamIOError(e)) throw e;
        if (u.role) throw connectionError(H3_CLOSED_CRITICAL_STREAM, `peer reset its ${u.role} stream`);
        this.peerUni.delete(id);
        return;
      }
      if (!r) return;
      let data = this.scratch.subarray(0, r.length);
      if (!u.role) {
        data = data.subarray(u.type.feed(data));
        if (u.type.value !== undefined && !this.assignRole(u)) return;
      }
      if (data.length > 0 && u.role) this.onUniData(u, data);
      if (r.fin) {
        if (u.role) throw connectionError(H3_CLOSED_CRITICAL_STREAM, `peer closed its ${u.role} stream`);
        this.peerUni.delete(id);
        return;
      }
      if (r.length === 0 || this.failure) return;
    }
  }

  /** Sets a peer uni stream's role from its type; false when the stream is to be ignored. */
  private assignRole(u: PeerUniStream): boolean {
    const type = u.type.value!;
    const dup = (what: string) => connectionError(H3_STREAM_CREATION_ERROR, `second ${what} stream from the peer`);
    switch (type) {
      case STREAM_TYPE_CONTROL:
        if (this.peerControl) throw dup('control');
        u.role = 'control';
        u.reader = new FrameReader('control', this.limits);
        this.peerControl = u;
        return true;
      case STREAM_TYPE_QPACK_ENCODER:
        if (this.peerEncoder) throw dup('QPACK encoder');
        u.role = 'encoder';
        this.peerEncoder = u;
        return true;
      case STREAM_TYPE_QPACK_DECODER:
        if (this.peerDecoder) throw dup('QPACK decoder');
        u.role = 'decoder';
        this.peerDecoder = u;
        return true;
      case STREAM_TYPE_PUSH:
        if (this.isServer) throw connectionError(H3_STREAM_CREATION_ERROR, 'a client opened a push stream');
        // We never send MAX_PUSH_ID: any push ID exceeds it (section 4.6).
        throw connectionError(H3_ID_ERROR, 'push stream without MAX_PUSH_ID');
      default:
        // Reserved (GREASE) or unknown type: stop reading it (section 6.2).
        this.peerUni.delete(u.id);
        this.ignoredUni.add(u.id);
        this.io.streamShutdown(u.id, 'read', H3_STREAM_CREATION_ERROR);
        return false;
    }
  }

  private onUniData(u: PeerUniStream, data: Uint8Array): void {
    switch (u.role) {
      case 'control': {
        const reader = u.reader!;
        reader.push(data.slice());
        for (let ev = reader.next(); ev; ev = reader.next()) this.onControlEvent(u, ev);
        return;
      }
      case 'encoder': {
        const unblocked = this.decoder.onEncoderStreamData(data);
        this.flushDecoderStream();
        for (const streamId of unblocked) this.resumeBlocked(streamId);
        return;
      }
      case 'decoder':
        this.encoder.onDecoderStreamData(data);
        return;
    }
  }

  /** A header section that waited for QPACK encoder-stream data can be decoded now. */
  private resumeBlocked(streamId: number): void {
    const s = this.streams.get(streamId);
    if (!s || s.recv !== RecvState.BLOCKED) return;
    const result = this.decoder.retryBlocked(streamId);
    this.flushDecoderStream();
    if (result.status === 'blocked') return;
    s.headersUnblocked(result.headers);
    this.pump(s);
  }

  private onControlEvent(u: PeerUniStream, ev: FrameEvent): void {
    if (!u.settingsSeen && !(ev.kind === 'frame' && ev.frame.type === 'settings')) {
      throw connectionError(H3_MISSING_SETTINGS, 'the control stream does not start with SETTINGS');
    }
    if (ev.kind !== 'frame') return; // reserved and unknown frames are ignored
    const frame = ev.frame;
    switch (frame.type) {
      case 'settings':
        if (u.settingsSeen) throw connectionError(H3_FRAME_UNEXPECTED, 'second SETTINGS frame');
        u.settingsSeen = true;
        this.applyPeerSettings(frame.settings);
        return;
      case 'goaway':
        this.onGoaway(frame.id);
        return;
      case 'max_push_id':
        if (!this.isServer) throw connectionError(H3_FRAME_UNEXPECTED, 'MAX_PUSH_ID sent by a server');
        if (this.maxPushIdReceived !== undefined && frame.pushId < this.maxPushIdReceived) {
          throw connectionError(H3_ID_ERROR, `MAX_PUSH_ID went down from ${this.maxPushIdReceived} to ${frame.pushId}`);
        }
        this.maxPushIdReceived = frame.pushId;
        return;
      case 'cancel_push':
        // We never promise pushes (server) nor allow them (client): no push ID is valid (section 7.2.3).
        throw connectionError(H3_ID_ERROR, `CANCEL_PUSH for push ${frame.pushId}, which was never promised`);
      default:
        throw connectionError(H3_FRAME_UNEXPECTED, `${frame.type} on the control stream`);
    }
  }

  private applyPeerSettings(map: SettingsMap): void {
    const safe = (v: number | undefined) => (v === undefined ? undefined : Math.min(v, Number.MAX_SAFE_INTEGER));
    const settings: H3PeerSettings = {
      qpackMaxTableCapacity: safe(map.get(SETTINGS_QPACK_MAX_TABLE_CAPACITY)) ?? 0,
      qpackBlockedStreams: safe(map.get(SETTINGS_QPACK_BLOCKED_STREAMS)) ?? 0,
      maxFieldSectionSize: safe(map.get(SETTINGS_MAX_FIELD_SECTION_SIZE)),
      raw: map,
    };
    this.peerSettingsValue = settings;
    this.encoder.applyPeerSettings({
      maxTableCapacity: settings.qpackMaxTableCapacity,
      maxBlockedStreams: settings.qpackBlockedStreams,
    });
    this.flushEncoderStream();
    this.emit({ type: 'settings', settings });
  }

  private onGoaway(id: number): void {
    if (!this.isServer && id % 4 !== 0) throw connectionError(H3_ID_ERROR, `GOAWAY ${id} is not a client bidirectional stream ID`);
    if (this.goawayReceived !== undefined && id > this.goawayReceived) {
      throw connectionError(H3_ID_ERROR, `GOAWAY went up from ${this.goawayReceived} to ${id}`);
    }
    this.goawayReceived = id;
    this.emit({ type: 'goaway', id });
    if (!this.isServer) {
      // Requests from id on were not processed (section 5.2): fail them so they can be retried.
      for (const s of Array.from(this.streams.values())) {
        if (s.id >= id) this.abortStream(s, streamError(H3_REQUEST_REJECTED, `not processed (GOAWAY ${id})`, s.id));
      }
    }
  }

  // ------------------------------------------------------------------ writing

  private takeUniId(): number {
    const id = this.nextUniId;
    this.nextUniId += 4;
    return id;
  }

  private writeHeaders(s: RequestStream, headers: ReadonlyArray<readonly [string, string]>, fin: boolean): void {
    const list = lowercaseNames(headers);
    this.checkPeerFieldSectionLimit(list, s.id);
    const section = this.encoder.encodeFieldSection(s.id, list);
    this.flushEncoderStream();
    this.writeStream(s, encodeFrameHeader(FRAME_HEADERS, section.length), false, false);
    this.writeStream(s, section, fin, false);
  }

  /**
   * A call for a stream we do not track: one that existed and was reset or finished (a race the
   * application must expect) is a stream H3Error; a stream that never existed is a usage error.
   */
  private missingStream(streamId: number): Error {
    const existed = this.isServer
      ? isBidi(streamId) && !isPeerInitiated(streamId, false) && this.seenPeerBidi.has(streamId)
      : isBidi(streamId) && streamId % 4 === 0 && streamId < this.nextRequestId;
    if (existed) return streamError(H3_REQUEST_CANCELLED, `stream ${streamId} is closed`, streamId);
    return new Error(`stream ${streamId} is not an open request stream`);
  }

  /** Section 4.2.2: a header section larger than the peer's SETTINGS_MAX_FIELD_SECTION_SIZE would be refused. */
  private checkPeerFieldSectionLimit(list: HeaderList, streamId: number): void {
    const limit = this.peerSettingsValue?.maxFieldSectionSize;
    if (limit !== undefined && fieldSectionSize(list) > limit) {
      throw streamError(H3_EXCESSIVE_LOAD, `header section exceeds the peer's limit of ${limit} bytes`, streamId);
    }
  }

  private sendableStream(streamId: number): RequestStream {
    const s = this.streams.get(streamId);
    if (!s) throw this.missingStream(streamId);
    s.assertSendingBody();
    return s;
  }

  /** Writes on a request stream; a STOP_SENDING from the peer becomes a stream H3Error. */
  private writeStream(s: RequestStream, data: Uint8Array, fin: boolean, borrowed: boolean): void {
    try {
      s.out.write(this.io, data, fin, borrowed);
    } catch (e) {
      throw this.sendFailed(s, e);
    }
  }

  /** Flushes a request stream's queue; false when bytes remain. */
  private flushStream(s: RequestStream): boolean {
    try {
      return s.out.flush(this.io);
    } catch (e) {
      throw this.sendFailed(s, e);
    }
  }

  /** The peer stopped the stream (or it is gone): close our side and describe it as an H3Error. */
  private sendFailed(s: RequestStream, e: unknown): H3Error {
    if (!isStreamIOError(e)) throw e;
    const code = e.code ?? H3_REQUEST_CANCELLED;
    s.out.clear();
    if (s.send !== SendState.CLOSED) {
      this.io.streamShutdown(s.id, 'write', code);
      s.sendClosed();
    }
    if (s.appKnows) this.emitReset(s, code);
    this.forgetIfComplete(s);
    return streamError(code, `stream ${s.id} stopped by the peer`, s.id);
  }

  private writeCritical(stream: StreamSendBuffer, data: Uint8Array): void {
    try {
      stream.write(this.io, data, false, false);
    } catch (e) {
      if (isStreamIOError(e)) throw connectionError(H3_CLOSED_CRITICAL_STREAM, `peer stopped our critical stream ${stream.streamId}`);
      throw e;
    }
  }

  private flushEncoderStream(): void {
    const bytes = this.encoder.takeEncoderStreamData();
    if (bytes.length > 0) this.writeCritical(this.encoderStream, bytes);
  }

  private flushDecoderStream(): void {
    const bytes = this.decoder.takeDecoderStreamData();
    if (bytes.length > 0) this.writeCritical(this.decoderStream, bytes);
  }

  private flushCritical(): void {
    for (const stream of [this.control, this.encoderStream, this.decoderStream, this.greaseStream]) {
      if (!stream || stream.isEmpty) continue;
      try {
        stream.flush(this.io);
      } catch (e) {
        if (!isStreamIOError(e)) throw e;
        if (stream === this.greaseStream) stream.clear();
        else throw connectionError(H3_CLOSED_CRITICAL_STREAM, `peer stopped our critical stream ${stream.streamId}`);
      }
    }
  }

  /**
   * Flushes request streams that got room; tells the app about those it was waiting on. Only the
   * streams that wait are asked for their room: one capacity call each, where listing the
   * transport's writable streams costs a native iterator per turn whether anything waits or not.
   */
  private flushRequests(): void {
    for (const s of this.streams.values()) {
      if (!s.wantsWritable && s.out.isEmpty) continue;
      if (!this.hasRoom(s)) continue;
      const id = s.id;
      let flushed: boolean;
      try {
        flushed = this.flushStream(s);
      } catch (e) {
        if (e instanceof H3Error && e.scope === 'stream') continue;
        throw e;
      }
      if (flushed && s.wantsWritable && s.send === SendState.BODY) {
        s.wantsWritable = false;
        this.emit({ type: 'writable', streamId: id });
      }
      this.forgetIfComplete(s);
    }
  }

  /** Whether the stream can take bytes now; a stopped or vanished stream counts, so the flush reports it. */
  private hasRoom(s: RequestStream): boolean {
    try {
      return this.io.streamCapacity(s.id) > 0;
    } catch {
      return true;
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function randomInt(below: number): number {
  return Math.floor(Math.random() * below);
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = randomInt(256);
  return out;
}
