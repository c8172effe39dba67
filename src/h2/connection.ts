/**
 * The client side of one HTTP/2 connection (RFC 9113), I/O-free: bytes from the socket go in
 * (receive), bytes for the socket come out (takeOutput), and what happens to each stream goes to the
 * events. It opens streams with header blocks encoded once (HPACK without the dynamic table, so the
 * same bytes serve every request), counts response bodies without keeping them unless asked, checks
 * them against content-length, keeps both receive windows open with WINDOW_UPDATE, answers
 * SETTINGS and PING, respects the server's MAX_CONCURRENT_STREAMS, and ends streams on RST_STREAM
 * and GOAWAY. A protocol error of the connection sends GOAWAY and ends every stream with it.
 */
import {
  CLIENT_PREFACE, DEFAULT_MAX_FRAME_SIZE, DEFAULT_WINDOW, errorCodeName, FLAG_ACK, FLAG_END_HEADERS, FLAG_END_STREAM,
  FRAME_CONTINUATION, FRAME_DATA, FRAME_GOAWAY, FRAME_HEADERS, FRAME_PING, FRAME_PRIORITY, FRAME_PUSH_PROMISE, FRAME_RST_STREAM,
  FRAME_SETTINGS, FRAME_WINDOW_UPDATE, FrameReader, goawayFrame, H2_CANCEL, H2_COMPRESSION_ERROR, H2_ENHANCE_YOUR_CALM,
  H2_FLOW_CONTROL_ERROR, H2_FRAME_SIZE_ERROR, H2_NO_ERROR, H2_PROTOCOL_ERROR, H2_REFUSED_STREAM, H2ConnectionError, headersFrames,
  MAX_MAX_FRAME_SIZE, MAX_WINDOW, pingFrame, readUint32, rstStreamFrame, SETTINGS_ACK_FRAME, SETTINGS_ENABLE_PUSH,
  SETTINGS_INITIAL_WINDOW_SIZE, SETTINGS_MAX_CONCURRENT_STREAMS, SETTINGS_MAX_FRAME_SIZE, settingsFrame, unpad, windowUpdateFrame,
  type FrameHandler, type PayloadBounds,
} from './frames.ts';
import { HPACK_DEFAULT_TABLE_SIZE, HpackDecoder, HpackError, type HeaderSink } from './hpack.ts';

/** What happens to the streams of a connection, and to the connection. `T` is what the caller hung on a stream. */
export interface H2ClientEvents<T> {
  /** There are bytes to write (takeOutput): called once until they are taken. */
  output(): void;
  /** Response headers: a final status (>= 200) or an informational one. `fields` only with keepHeaders. */
  headers(user: T, status: number, fields: Record<string, string> | undefined): void;
  /** Body bytes `bytes[start..end)`, valid only during the call. */
  data(user: T, bytes: Buffer, start: number, end: number): void;
  /**
   * The stream is over: complete (no error) or failed. `unprocessed`: the server did not act on it
   * (REFUSED_STREAM, or above a GOAWAY's last stream id), so it may be sent again (Section 8.7).
   */
  ended(user: T, error: Error | undefined, unprocessed: boolean): void;
  /** The server's SETTINGS arrived (a stream limit may have changed) or a stream slot came free. */
  ready(): void;
  /** The connection failed (after every stream got ended()), or the server sent GOAWAY (graceful: streams at or below its last id go on). */
  closing(error: Error | undefined): void;
}

export interface H2ClientOptions {
  /** Receive windows to advertise: SETTINGS_INITIAL_WINDOW_SIZE per stream, WINDOW_UPDATE for the connection. */
  streamWindow: number;
  connectionWindow: number;
  /** Hand every response header to headers() (else only the status). */
  keepHeaders?: boolean;
  /** Largest header block (HEADERS plus CONTINUATION) accepted; default 256 KiB. */
  maxHeaderBlock?: number;
}

/** The flow-control state of a connection, for the record. */
export interface H2Windows {
  /** What we advertise: per stream (SETTINGS_INITIAL_WINDOW_SIZE) and for the connection. */
  receive: { streamBytes: number; connectionBytes: number };
  /** What the server advertised to us (its initial stream window, our connection send window now). */
  send: { streamBytes: number; connectionBytes: number };
  /** WINDOW_UPDATE frames we sent: for the connection, for streams. */
  windowUpdates: { connection: number; stream: number };
}

class H2Stream<T> {
  /** 0 until a final status. */
  status = 0;
  /** -1: no content-length. */
  contentLength = -1;
  received = 0;
  /** Bytes the server may still send us on this stream, and what we consumed since our last WINDOW_UPDATE. */
  receiveWindow: number;
  unacknowledged = 0;
  sendWindow: number;

  constructor(
    readonly id: number,
    readonly user: T,
    receiveWindow: number,
    sendWindow: number,
  ) {
    this.receiveWindow = receiveWindow;
    this.sendWindow = sendWindow;
  }
}

/** A stream error (Section 5.4.2): the stream is reset with `code`, the connection goes on. */
class StreamError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_STREAM_ID = 2 ** 31 - 1;

/** Collects what the client needs of a header block; one per connection, reset per block. */
class ResponseHeaders implements HeaderSink {
  status = '';
  contentLength = '';
  fields: Record<string, string> | undefined;
  pseudoAfterRegular = false;
  regularSeen = false;

  constructor(private readonly keep: boolean) {}

  reset(): void {
    this.status = '';
    this.contentLength = '';
    this.pseudoAfterRegular = false;
    this.regularSeen = false;
    this.fields = this.keep ? {} : undefined;
  }

  field(name: string, value: string): void {
    if (name.charCodeAt(0) === 58 /* : */) {
      if (this.regularSeen) this.pseudoAfterRegular = true;
      if (name === ':status') this.status = value;
      return;
    }
    this.regularSeen = true;
    if (name === 'content-length') this.contentLength = value;
    if (this.fields) this.fields[name] = this.fields[name] === undefined ? value : `${this.fields[name]}, ${value}`;
  }
}

export class H2ClientConnection<T> implements FrameHandler {
  private readonly reader: FrameReader;
  private readonly decoder = new HpackDecoder(HPACK_DEFAULT_TABLE_SIZE);
  private readonly streams = new Map<number, H2Stream<T>>();
  private readonly response: ResponseHeaders;
  private readonly bounds: PayloadBounds = { start: 0, end: 0 };
  private output: Buffer[] = [];
  private nextStreamId = 1;
  /** The server's settings (Section 6.5.2 initial values until its SETTINGS arrive). */
  private peerMaxConcurrent = Infinity;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private connectionSendWindow = DEFAULT_WINDOW;
  /** What the server may still send on the connection, and what we consumed since our last WINDOW_UPDATE. */
  private connectionReceiveWindow = DEFAULT_WINDOW;
  private connectionUnacknowledged = 0;
  private windowUpdates = { connection: 0, stream: 0 };
  /** A header block cut into HEADERS + CONTINUATION frames, being gathered. */
  private continuing: { streamId: number; endStream: boolean; parts: Buffer[]; length: number } | undefined;
  private settingsSeen = false;
  /** GOAWAY received: its last stream id; no new streams. */
  private goawayLastStreamId: number | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly opts: H2ClientOptions,
    private readonly events: H2ClientEvents<T>,
  ) {
    this.reader = new FrameReader(this, DEFAULT_MAX_FRAME_SIZE);
    this.response = new ResponseHeaders(opts.keepHeaders ?? false);
  }

  /** The preface, our SETTINGS (no push, our stream window) and the connection window's update. */
  start(): void {
    this.queue(CLIENT_PREFACE);
    this.queue(settingsFrame([[SETTINGS_ENABLE_PUSH, 0], [SETTINGS_INITIAL_WINDOW_SIZE, this.opts.streamWindow]]));
    const raise = this.opts.connectionWindow - DEFAULT_WINDOW;
    if (raise > 0) {
      this.queue(windowUpdateFrame(0, raise));
      this.connectionReceiveWindow += raise;
      this.windowUpdates.connection++;
    }
  }

  /** Whether the server's first SETTINGS frame has arrived (its stream limit is known). */
  get settingsReceived(): boolean {
    return this.settingsSeen;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  /** Whether the server sent GOAWAY. */
  get goingAway(): boolean {
    return this.goawayLastStreamId !== undefined;
  }

  /** A new stream may open now: no GOAWAY or failure, stream ids left, below the server's limit. */
  canOpenStream(): boolean {
    return this.failure === undefined && this.goawayLastStreamId === undefined && this.nextStreamId <= MAX_STREAM_ID && this.streams.size < this.peerMaxConcurrent;
  }

  get windows(): H2Windows {
    return {
      receive: { streamBytes: this.opts.streamWindow, connectionBytes: this.opts.connectionWindow },
      send: { streamBytes: this.peerInitialWindow, connectionBytes: this.connectionSendWindow },
      windowUpdates: { ...this.windowUpdates },
    };
  }

  /** Opens a stream with a request header block (END_STREAM: no body); returns its id. */
  openStream(block: Uint8Array, user: T): number {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    this.streams.set(id, new H2Stream(id, user, this.opts.streamWindow, this.peerInitialWindow));
    this.queue(headersFrames(id, block, true, this.peerMaxFrameSize));
    return id;
  }

  /** Withdraws a stream: RST_STREAM (CANCEL by default); nothing more is reported for it. */
  cancelStream(id: number, code = H2_CANCEL): void {
    if (!this.streams.delete(id) || this.failure) return;
    this.queue(rstStreamFrame(id, code));
  }

  /** Graceful close: GOAWAY NO_ERROR (we accept no streams from the server, so its last stream id is 0). */
  close(): void {
    if (this.failure) return;
    this.queue(goawayFrame(0, H2_NO_ERROR));
  }

  /** The transport ended (closed, reset): every stream still open fails with `error`. */
  transportClosed(error: Error): void {
    if (this.failure) return;
    this.fail(error);
  }

  takeOutput(): Buffer | undefined {
    const out = this.output;
    if (out.length === 0) return undefined;
    this.output = [];
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  /** Bytes from the server: every complete frame is handled; a connection error ends the connection. */
  receive(chunk: Buffer): void {
    if (this.failure) return;
    try {
      this.reader.push(chunk);
    } catch (error) {
      if (!(error instanceof H2ConnectionError)) throw error;
      this.queue(goawayFrame(0, error.code, error.message.slice(0, 200)));
      this.fail(error);
    }
  }

  private queue(bytes: Buffer): void {
    this.output.push(bytes);
    if (this.output.length === 1) this.events.output();
  }

  private fail(error: Error): void {
    this.failure = error;
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const s of streams) this.events.ended(s.user, error, false);
    this.events.closing(error);
  }

  frame(type: number, flags: number, streamId: number, bytes: Buffer, start: number, end: number): void {
    if (this.failure) return;
    if (this.continuing && type !== FRAME_CONTINUATION) {
      throw new H2ConnectionError(H2_PROTOCOL_ERROR, `a frame of type ${type} inside a header block (CONTINUATION expected)`);
    }
    if (!this.settingsSeen && type !== FRAME_SETTINGS) {
      throw new H2ConnectionError(H2_PROTOCOL_ERROR, 'the server preface must begin with SETTINGS');
    }
    switch (type) {
      case FRAME_DATA:
        return this.onData(flags, streamId, bytes, start, end);
      case FRAME_HEADERS:
        return this.onHeaders(flags, streamId, bytes, start, end);
      case FRAME_CONTINUATION:
        return this.onContinuation(flags, streamId, bytes, start, end);
      case FRAME_SETTINGS:
        return this.onSettings(flags, streamId, bytes, start, end);
      case FRAME_PING:
        if (streamId !== 0) throw new H2ConnectionError(H2_PROTOCOL_ERROR, 'PING on a stream');
        if (end - start !== 8) throw new H2ConnectionError(H2_FRAME_SIZE_ERROR, `PING of ${end - start} bytes`);
        if (!(flags & FLAG_ACK)) this.queue(pingFrame(bytes.subarray(start, end), true));
        return;
      case FRAME_WINDOW_UPDATE:
        return this.onWindowUpdate(streamId, bytes, start, end);
      case FRAME_RST_STREAM:
        return this.onRstStream(streamId, bytes, start, end);
      case FRAME_GOAWAY:
        return this.onGoaway(streamId, bytes, start, end);
      case FRAME_PRIORITY:
        if (streamId === 0) throw new H2ConnectionError(H2_PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (end - start !== 5) this.streamError(streamId, new StreamError(H2_FRAME_SIZE_ERROR, `PRIORITY of ${end - start} bytes`));
        return;
      case FRAME_PUSH_PROMISE:
        throw new H2ConnectionError(H2_PROTOCOL_ERROR, 'PUSH_PROMISE although we sent SETTINGS_ENABLE_PUSH 0');
      default:
        // Unknown frame types are ignored (Section 4.1).
        return;
    }
  }

  /** A frame on a stream id we never opened (even: the server's; odd and new: idle) is a PROTOCOL_ERROR. */
  private checkStreamId(streamId: number, what: string): void {
    if (streamId === 0) throw new H2ConnectionError(H2_PROTOCOL_ERROR, `${what} on stream 0`);
    if (streamId % 2 === 0 || streamId >= this.nextStreamId) throw new H2ConnectionError(H2_PROTOCOL_ERROR, `${what} on stream ${streamId}, which we did not open`);
  }

  private onData(flags: number, streamId: number, bytes: Buffer, start: number, end: number): void {
    this.checkStreamId(streamId, 'DATA');
    const flowed = end - start;
    // The whole payload, padding included, counts against both windows (Section 6.9.1).
    this.connectionReceiveWindow -= flowed;
    if (this.connectionReceiveWindow < 0) throw new H2ConnectionError(H2_FLOW_CONTROL_ERROR, `the server sent ${-this.connectionReceiveWindow} bytes beyond the connection window`);
    this.connectionUnacknowledged += flowed;
    if (this.connectionUnacknowledged >= this.opts.connectionWindow / 2) {
      this.queue(windowUpdateFrame(0, this.connectionUnacknowledged));
      this.connectionReceiveWindow += this.connectionUnacknowledged;
      this.connectionUnacknowledged = 0;
      this.windowUpdates.connection++;
    }
    const stream = this.streams.get(streamId);
    // A stream we reset, or one that ended: its DATA counted for the connection and is dropped.
    if (!stream) return;
    const bounds = this.bounds;
    bounds.start = start;
    bounds.end = end;
    unpad(flags, bytes, bounds, false);
    try {
      if (stream.status === 0) throw new StreamError(H2_PROTOCOL_ERROR, 'DATA before the response headers');
      stream.receiveWindow -= flowed;
      if (stream.receiveWindow < 0) throw new StreamError(H2_FLOW_CONTROL_ERROR, `the server sent ${-stream.receiveWindow} bytes beyond the stream window`);
      const length = bounds.end - bounds.start;
      stream.received += length;
      if (stream.contentLength >= 0 && stream.received > stream.contentLength) {
        throw new StreamError(H2_PROTOCOL_ERROR, `a body longer than its content-length ${stream.contentLength}`);
      }
      if (length > 0) this.events.data(stream.user, bytes, bounds.start, bounds.end);
      if (flags & FLAG_END_STREAM) {
        this.endStream(stream);
        return;
      }
      stream.unacknowledged += flowed;
      if (stream.unacknowledged >= this.opts.streamWindow / 2) {
        this.queue(windowUpdateFrame(streamId, stream.unacknowledged));
        stream.receiveWindow += stream.unacknowledged;
        stream.unacknowledged = 0;
        this.windowUpdates.stream++;
      }
    } catch (error) {
      if (!(error instanceof StreamError)) throw error;
      this.streamError(streamId, error);
    }
  }

  private onHeaders(flags: number, streamId: number, bytes: Buffer, start: number, end: number): void {
    this.checkStreamId(streamId, 'HEADERS');
    const bounds = this.bounds;
    bounds.start = start;
    bounds.end = end;
    unpad(flags, bytes, bounds, true);
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    if (flags & FLAG_END_HEADERS) {
      this.headerBlock(streamId, endStream, bytes, bounds.start, bounds.end);
      return;
    }
    const first = Buffer.from(bytes.subarray(bounds.start, bounds.end));
    this.continuing = { streamId, endStream, parts: [first], length: first.length };
  }

  private onContinuation(flags: number, streamId: number, bytes: Buffer, start: number, end: number): void {
    const c = this.continuing;
    if (!c || c.streamId !== streamId) throw new H2ConnectionError(H2_PROTOCOL_ERROR, `CONTINUATION on stream ${streamId} without a header block in progress there`);
    c.parts.push(Buffer.from(bytes.subarray(start, end)));
    c.length += end - start;
    if (c.length > (this.opts.maxHeaderBlock ?? 256 * 1024)) throw new H2ConnectionError(H2_ENHANCE_YOUR_CALM, `a header block of more than ${c.length} bytes`);
    if (!(flags & FLAG_END_HEADERS)) return;
    this.continuing = undefined;
    const block = Buffer.concat(c.parts);
    this.headerBlock(streamId, c.endStream, block, 0, block.length);
  }

  /** A complete header block: decoded whatever becomes of it (the HPACK table is the connection's). */
  private headerBlock(streamId: number, endStream: boolean, bytes: Buffer, start: number, end: number): void {
    const response = this.response;
    response.reset();
    try {
      this.decoder.decode(bytes, response, start, end);
    } catch (error) {
      if (error instanceof HpackError) throw new H2ConnectionError(H2_COMPRESSION_ERROR, error.message);
      throw error;
    }
    const stream = this.streams.get(streamId);
    if (!stream) return;
    try {
      if (response.pseudoAfterRegular) throw new StreamError(H2_PROTOCOL_ERROR, 'a pseudo-header after a regular header (malformed response)');
      if (stream.status !== 0) {
        // Trailers: they must end the stream (Section 8.1).
        if (!endStream) throw new StreamError(H2_PROTOCOL_ERROR, 'a second header block that does not end the stream');
        if (response.status !== '') throw new StreamError(H2_PROTOCOL_ERROR, 'a :status in trailers');
        this.endStream(stream);
        return;
      }
      const status = parseStatus(response.status);
      if (status < 0) throw new StreamError(H2_PROTOCOL_ERROR, response.status === '' ? 'a response without :status' : `an invalid :status "${response.status}"`);
      if (status < 200) {
        if (endStream) throw new StreamError(H2_PROTOCOL_ERROR, `an informational ${status} response ending the stream`);
        this.events.headers(stream.user, status, response.fields);
        return;
      }
      if (response.contentLength !== '') {
        const length = parseContentLength(response.contentLength);
        if (length < 0) throw new StreamError(H2_PROTOCOL_ERROR, `an invalid content-length "${response.contentLength}"`);
        stream.contentLength = length;
      }
      stream.status = status;
      this.events.headers(stream.user, status, response.fields);
      if (endStream) this.endStream(stream);
    } catch (error) {
      if (!(error instanceof StreamError)) throw error;
      this.streamError(streamId, error);
    }
  }

  /** END_STREAM from the server: complete, unless the body and content-length disagree (Section 8.1.1). */
  private endStream(stream: H2Stream<T>): void {
    // A HEAD response or a 204/304 carries content-length without a body; we send GET only.
    if (stream.contentLength >= 0 && stream.received !== stream.contentLength && stream.status !== 204 && stream.status !== 304) {
      throw new StreamError(H2_PROTOCOL_ERROR, `a body of ${stream.received} bytes where content-length said ${stream.contentLength}`);
    }
    this.streams.delete(stream.id);
    this.events.ended(stream.user, undefined, false);
    this.events.ready();
  }

  /** Resets the stream (we saw it malformed) and fails it with what was wrong. */
  private streamError(streamId: number, error: StreamError): void {
    const stream = this.streams.get(streamId);
    this.queue(rstStreamFrame(streamId, error.code));
    if (!stream) return;
    this.streams.delete(streamId);
    this.events.ended(stream.user, new Error(`HTTP/2 stream error ${errorCodeName(error.code)}: ${error.message}`), false);
    this.events.ready();
  }

  private onSettings(flags: number, streamId: number, bytes: Buffer, start: number, end: number): void {
    if (streamId !== 0) throw new H2ConnectionError(H2_PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & FLAG_ACK) {
      if (end !== start) throw new H2ConnectionError(H2_FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      if (!this.settingsSeen) throw new H2ConnectionError(H2_PROTOCOL_ERROR, 'the server preface must begin with SETTINGS (not an ACK)');
      return;
    }
    if ((end - start) % 6 !== 0) throw new H2ConnectionError(H2_FRAME_SIZE_ERROR, `SETTINGS of ${end - start} bytes (not a multiple of 6)`);
    for (let at = start; at < end; at += 6) {
      const id = (bytes[at]! << 8) | bytes[at + 1]!;
      const value = readUint32(bytes, at + 2);
      switch (id) {
        case SETTINGS_ENABLE_PUSH:
          if (value > 1) throw new H2ConnectionError(H2_PROTOCOL_ERROR, `SETTINGS_ENABLE_PUSH ${value}`);
          break;
        case SETTINGS_MAX_CONCURRENT_STREAMS:
          this.peerMaxConcurrent = value;
          break;
        case SETTINGS_INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) throw new H2ConnectionError(H2_FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE ${value}`);
          // Every open stream's send window moves by the difference (Section 6.9.2).
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const s of this.streams.values()) {
            s.sendWindow += delta;
            if (s.sendWindow > MAX_WINDOW) throw new H2ConnectionError(H2_FLOW_CONTROL_ERROR, `a stream send window above 2^31-1`);
          }
          break;
        }
        case SETTINGS_MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE) throw new H2ConnectionError(H2_PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value}`);
          this.peerMaxFrameSize = value;
          break;
        default:
          // HEADER_TABLE_SIZE concerns an encoder with a dynamic table (ours has none); unknown ids are ignored.
          break;
      }
    }
    this.settingsSeen = true;
    this.queue(SETTINGS_ACK_FRAME);
    this.events.ready();
  }

  private onWindowUpdate(streamId: number, bytes: Buffer, start: number, end: number): void {
    if (end - start !== 4) throw new H2ConnectionError(H2_FRAME_SIZE_ERROR, `WINDOW_UPDATE of ${end - start} bytes`);
    const increment = readUint32(bytes, start) % 2 ** 31;
    if (streamId === 0) {
      if (increment === 0) throw new H2ConnectionError(H2_PROTOCOL_ERROR, 'a WINDOW_UPDATE of 0 for the connection');
      this.connectionSendWindow += increment;
      if (this.connectionSendWindow > MAX_WINDOW) throw new H2ConnectionError(H2_FLOW_CONTROL_ERROR, 'the connection send window above 2^31-1');
      return;
    }
    if (streamId % 2 === 0 || streamId >= this.nextStreamId) throw new H2ConnectionError(H2_PROTOCOL_ERROR, `WINDOW_UPDATE on stream ${streamId}, which we did not open`);
    const stream = this.streams.get(streamId);
    if (!stream) return;
    if (increment === 0) return this.streamError(streamId, new StreamError(H2_PROTOCOL_ERROR, 'a WINDOW_UPDATE of 0'));
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) this.streamError(streamId, new StreamError(H2_FLOW_CONTROL_ERROR, 'a stream send window above 2^31-1'));
  }

  private onRstStream(streamId: number, bytes: Buffer, start: number, end: number): void {
    this.checkStreamId(streamId, 'RST_STREAM');
    if (end - start !== 4) throw new H2ConnectionError(H2_FRAME_SIZE_ERROR, `RST_STREAM of ${end - start} bytes`);
    const stream = this.streams.get(streamId);
    if (!stream) return;
    const code = readUint32(bytes, start);
    this.streams.delete(streamId);
    this.events.ended(stream.user, new Error(`stream reset by the server (HTTP/2 error code ${errorCodeName(code)})`), code === H2_REFUSED_STREAM);
    this.events.ready();
  }

  private onGoaway(streamId: number, bytes: Buffer, start: number, end: number): void {
    if (streamId !== 0) throw new H2ConnectionError(H2_PROTOCOL_ERROR, 'GOAWAY on a stream');
    if (end - start < 8) throw new H2ConnectionError(H2_FRAME_SIZE_ERROR, `GOAWAY of ${end - start} bytes`);
    const last = readUint32(bytes, start) % 2 ** 31;
    const code = readUint32(bytes, start + 4);
    const debug = bytes.subarray(start + 8, end).toString('utf8');
    this.goawayLastStreamId = Math.min(last, this.goawayLastStreamId ?? last);
    const error = new Error(`the server sent GOAWAY ${errorCodeName(code)}${debug ? ` "${debug}"` : ''} (last stream ${last})`);
    // Streams above its last stream id were not processed (Section 6.8): they may go again elsewhere.
    for (const s of [...this.streams.values()]) {
      if (s.id <= this.goawayLastStreamId) continue;
      this.streams.delete(s.id);
      this.events.ended(s.user, error, true);
    }
    this.events.closing(code === H2_NO_ERROR ? undefined : error);
  }
}

/** A three-digit :status, or -1. */
function parseStatus(text: string): number {
  if (text.length !== 3) return -1;
  const n = Number(text);
  return Number.isInteger(n) && n >= 100 ? n : -1;
}

/** A content-length of digits only, or -1. */
function parseContentLength(text: string): number {
  if (!/^\d{1,15}$/.test(text)) return -1;
  return Number(text);
}
