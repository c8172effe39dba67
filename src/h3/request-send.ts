/**
 * The send side of request streams: HEADERS and DATA frames onto the transport, and the bytes
 * flow control held back. sendBody() sizes each DATA frame to what the stream can take now, so
 * body bytes are seldom queued; what the transport refuses (mostly header sections) is queued and
 * flushed in order. A stream whose sender wanted more room gets a 'writable' event once its queue
 * is empty and it has room.
 */
import { H3_EXCESSIVE_LOAD, H3_REQUEST_CANCELLED, H3Error, streamError } from './errors.ts';
import type { ControlStream } from './control-stream.ts';
import type { EventQueue } from './events.ts';
import { encodeFrameHeader, FRAME_DATA, FRAME_HEADERS } from './frames.ts';
import { fieldSectionSize, lowercaseNames, type HeaderList } from './headers.ts';
import type { QpackStreams } from './qpack-streams.ts';
import type { RequestStreams } from './request-streams.ts';
import { SendState, type RequestStream } from './stream-request.ts';
import { isStreamIOError, type QuicStreamIO } from './transport.ts';
import { varintSize } from './varint.ts';

type Fields = ReadonlyArray<readonly [string, string]>;

export class RequestSender {
  constructor(
    private readonly io: QuicStreamIO,
    private readonly streams: RequestStreams,
    private readonly qpack: QpackStreams,
    private readonly control: ControlStream,
    private readonly events: EventQueue,
  ) {}

  /** Client: opens the next request stream with this header section; returns its ID. */
  sendRequest(headers: Fields, fin: boolean): number {
    const list = lowercaseNames(headers);
    this.checkPeerFieldSectionLimit(list, this.streams.nextRequestId);
    const s = this.streams.open();
    s.method = list.find(([n]) => n === ':method')?.[1];
    this.writeHeaders(s, list, fin);
    s.headersSent(fin);
    return s.id;
  }

  /** Server: a response header section (1xx ones first, then the final one). */
  sendResponse(streamId: number, headers: Fields, fin: boolean): void {
    const s = this.streams.get(streamId);
    if (!s || !s.appKnows) throw this.streams.missing(streamId);
    if (s.send !== SendState.IDLE) throw new Error(`stream ${streamId}: response already started`);
    this.writeHeaders(s, headers, fin);
    const status = headers.find(([n]) => n === ':status')?.[1];
    const informational = status !== undefined && status.length === 3 && status[0] === '1';
    s.headersSent(fin, informational);
    this.streams.forgetIfComplete(s);
  }

  /** One DATA frame of as many bytes as the stream takes now (see H3Connection.sendBody). */
  sendBody(streamId: number, data: Uint8Array, fin: boolean): number {
    const s = this.sendableStream(streamId);
    if (!this.flushStream(s) || s.out.pending > 0) {
      s.wantsWritable = true;
      return 0;
    }
    if (data.length === 0) {
      if (fin) {
        s.finishSending();
        this.writeStream(s, new Uint8Array(0), true, false);
        this.streams.forgetIfComplete(s);
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
      this.streams.forgetIfComplete(s);
    }
    return n;
  }

  /** A trailer section, which ends the stream. */
  sendTrailers(streamId: number, headers: Fields): void {
    const s = this.sendableStream(streamId);
    if (headers.some(([n]) => n.startsWith(':'))) throw new Error('trailers cannot carry pseudo-fields');
    this.writeHeaders(s, headers, true);
    s.finishSending();
    this.streams.forgetIfComplete(s);
  }

  /** Encodes a header section (QPACK instructions go out first) and writes its HEADERS frame. */
  writeHeaders(s: RequestStream, headers: Fields, fin: boolean): void {
    const list = lowercaseNames(headers);
    this.checkPeerFieldSectionLimit(list, s.id);
    const section = this.qpack.encode(s.id, list);
    this.writeStream(s, encodeFrameHeader(FRAME_HEADERS, section.length), false, false);
    this.writeStream(s, section, fin, false);
  }

  /**
   * Flushes request streams that got room; tells the app about those it was waiting on. Only the
   * streams that wait are asked for their room: one capacity call each, where listing the
   * transport's writable streams costs a native iterator per turn whether anything waits or not.
   */
  flushWaiting(): void {
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
        this.events.push({ type: 'writable', streamId: id });
      }
      this.streams.forgetIfComplete(s);
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

  /** Section 4.2.2: a header section larger than the peer's SETTINGS_MAX_FIELD_SECTION_SIZE would be refused. */
  private checkPeerFieldSectionLimit(list: HeaderList, streamId: number): void {
    const limit = this.control.peerSettings?.maxFieldSectionSize;
    if (limit !== undefined && fieldSectionSize(list) > limit) {
      throw streamError(H3_EXCESSIVE_LOAD, `header section exceeds the peer's limit of ${limit} bytes`, streamId);
    }
  }

  private sendableStream(streamId: number): RequestStream {
    const s = this.streams.get(streamId);
    if (!s) throw this.streams.missing(streamId);
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
    this.events.resetIfKnown(s, code);
    this.streams.forgetIfComplete(s);
    return streamError(code, `stream ${s.id} stopped by the peer`, s.id);
  }
}
