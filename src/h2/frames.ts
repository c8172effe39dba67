/**
 * HTTP/2 framing (RFC 9113 Sections 4 and 6): constants, frame writers and a reader that cuts a
 * byte stream into frames. Pure wire code: no sockets, no timers.
 */

export const FRAME_HEADER_LENGTH = 9;

/** The client connection preface (Section 3.4), sent before the client's SETTINGS. */
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FRAME_DATA = 0x0;
export const FRAME_HEADERS = 0x1;
export const FRAME_PRIORITY = 0x2;
export const FRAME_RST_STREAM = 0x3;
export const FRAME_SETTINGS = 0x4;
export const FRAME_PUSH_PROMISE = 0x5;
export const FRAME_PING = 0x6;
export const FRAME_GOAWAY = 0x7;
export const FRAME_WINDOW_UPDATE = 0x8;
export const FRAME_CONTINUATION = 0x9;

export const FLAG_END_STREAM = 0x1;
export const FLAG_ACK = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;

export const SETTINGS_HEADER_TABLE_SIZE = 0x1;
export const SETTINGS_ENABLE_PUSH = 0x2;
export const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
export const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
export const SETTINGS_MAX_FRAME_SIZE = 0x5;
export const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;

/** Error codes (Section 7). */
export const H2_NO_ERROR = 0x0;
export const H2_PROTOCOL_ERROR = 0x1;
export const H2_INTERNAL_ERROR = 0x2;
export const H2_FLOW_CONTROL_ERROR = 0x3;
export const H2_STREAM_CLOSED = 0x5;
export const H2_FRAME_SIZE_ERROR = 0x6;
export const H2_REFUSED_STREAM = 0x7;
export const H2_CANCEL = 0x8;
export const H2_COMPRESSION_ERROR = 0x9;
export const H2_ENHANCE_YOUR_CALM = 0xb;

const ERROR_NAMES = [
  'NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR',
  'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED',
];

/** "PROTOCOL_ERROR (0x1)"; unknown codes by number (Section 7: treat as INTERNAL_ERROR, name kept). */
export function errorCodeName(code: number): string {
  return `${ERROR_NAMES[code] ?? 'unknown error code'} (0x${code.toString(16)})`;
}

/** The smallest and largest SETTINGS_MAX_FRAME_SIZE (Section 6.5.2); the first is every peer's initial value. */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const MAX_MAX_FRAME_SIZE = 2 ** 24 - 1;
/** Flow-control windows cannot exceed this (Section 6.9.1). */
export const MAX_WINDOW = 2 ** 31 - 1;
/** Every window starts here (Section 6.9.2). */
export const DEFAULT_WINDOW = 65_535;

/** A connection error (Section 5.4.1): the connection ends with GOAWAY carrying `code`. */
export class H2ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(`HTTP/2 connection error ${errorCodeName(code)}: ${message}`);
    this.name = 'H2ConnectionError';
  }
}

/** Writes a frame header at `at`: 24-bit length, type, flags, 31-bit stream id. */
export function writeFrameHeader(out: Uint8Array, at: number, length: number, type: number, flags: number, streamId: number): void {
  out[at] = (length >>> 16) & 0xff;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out[at + 5] = (streamId >>> 24) & 0x7f;
  out[at + 6] = (streamId >>> 16) & 0xff;
  out[at + 7] = (streamId >>> 8) & 0xff;
  out[at + 8] = streamId & 0xff;
}

/** One frame with `payload`. */
export function encodeFrame(type: number, flags: number, streamId: number, payload: Uint8Array = EMPTY): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + payload.length);
  writeFrameHeader(out, 0, payload.length, type, flags, streamId);
  out.set(payload, FRAME_HEADER_LENGTH);
  return out;
}
const EMPTY = new Uint8Array(0);

export function settingsFrame(settings: ReadonlyArray<readonly [id: number, value: number]>): Buffer {
  const payload = Buffer.alloc(6 * settings.length);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i);
    payload.writeUInt32BE(value, 6 * i + 2);
  });
  return encodeFrame(FRAME_SETTINGS, 0, 0, payload);
}

export const SETTINGS_ACK_FRAME: Buffer = encodeFrame(FRAME_SETTINGS, FLAG_ACK, 0);

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + 4);
  writeFrameHeader(out, 0, 4, FRAME_WINDOW_UPDATE, 0, streamId);
  out.writeUInt32BE(increment & 0x7fffffff, FRAME_HEADER_LENGTH);
  return out;
}

export function rstStreamFrame(streamId: number, code: number): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + 4);
  writeFrameHeader(out, 0, 4, FRAME_RST_STREAM, 0, streamId);
  out.writeUInt32BE(code, FRAME_HEADER_LENGTH);
  return out;
}

export function goawayFrame(lastStreamId: number, code: number, debug = ''): Buffer {
  const text = Buffer.from(debug, 'utf8');
  const payload = Buffer.allocUnsafe(8 + text.length);
  payload.writeUInt32BE(lastStreamId & 0x7fffffff, 0);
  payload.writeUInt32BE(code, 4);
  text.copy(payload, 8);
  return encodeFrame(FRAME_GOAWAY, 0, 0, payload);
}

export function pingFrame(opaque: Uint8Array, ack: boolean): Buffer {
  return encodeFrame(FRAME_PING, ack ? FLAG_ACK : 0, 0, opaque);
}

/**
 * A header block on a new stream: one HEADERS frame, or HEADERS and CONTINUATION frames when the
 * block is larger than the peer's SETTINGS_MAX_FRAME_SIZE (Section 6.10).
 */
export function headersFrames(streamId: number, block: Uint8Array, endStream: boolean, maxFrameSize = DEFAULT_MAX_FRAME_SIZE): Buffer {
  const frames = Math.max(1, Math.ceil(block.length / maxFrameSize));
  const out = Buffer.allocUnsafe(frames * FRAME_HEADER_LENGTH + block.length);
  let at = 0;
  for (let i = 0; i < frames; i++) {
    const part = block.subarray(i * maxFrameSize, Math.min(block.length, (i + 1) * maxFrameSize));
    const flags = (i === 0 && endStream ? FLAG_END_STREAM : 0) | (i === frames - 1 ? FLAG_END_HEADERS : 0);
    writeFrameHeader(out, at, part.length, i === 0 ? FRAME_HEADERS : FRAME_CONTINUATION, flags, streamId);
    out.set(part, at + FRAME_HEADER_LENGTH);
    at += FRAME_HEADER_LENGTH + part.length;
  }
  return out;
}

/** Receives each complete frame; the payload is `bytes[start..end)`, valid only during the call. */
export interface FrameHandler {
  frame(type: number, flags: number, streamId: number, bytes: Buffer, start: number, end: number): void;
}

/**
 * Cuts a byte stream into frames: every complete frame of a chunk goes to the handler in one call
 * of push(), a frame cut by the end of a chunk waits for the next. A frame longer than
 * `maxFrameSize` (our SETTINGS_MAX_FRAME_SIZE) is a FRAME_SIZE_ERROR (Section 4.2).
 */
export class FrameReader {
  private rest: Buffer | undefined;

  constructor(
    private readonly handler: FrameHandler,
    readonly maxFrameSize = DEFAULT_MAX_FRAME_SIZE,
  ) {}

  push(chunk: Buffer): void {
    let bytes = chunk;
    if (this.rest) {
      bytes = Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    const end = bytes.length;
    let pos = 0;
    while (end - pos >= FRAME_HEADER_LENGTH) {
      const length = (bytes[pos]! << 16) | (bytes[pos + 1]! << 8) | bytes[pos + 2]!;
      if (length > this.maxFrameSize) throw new H2ConnectionError(H2_FRAME_SIZE_ERROR, `a frame of ${length} bytes, above our SETTINGS_MAX_FRAME_SIZE ${this.maxFrameSize}`);
      const payloadStart = pos + FRAME_HEADER_LENGTH;
      if (end - payloadStart < length) break;
      // The reserved bit is ignored on receipt (Section 4.1).
      const streamId = ((bytes[pos + 5]! & 0x7f) * 2 ** 24) + ((bytes[pos + 6]! << 16) | (bytes[pos + 7]! << 8) | bytes[pos + 8]!);
      this.handler.frame(bytes[pos + 3]!, bytes[pos + 4]!, streamId, bytes, payloadStart, payloadStart + length);
      pos = payloadStart + length;
    }
    if (pos < end) this.rest = bytes.subarray(pos);
  }

  /** Bytes of a frame not yet complete. */
  get pending(): number {
    return this.rest?.length ?? 0;
  }
}

/** Where the content of a DATA or HEADERS payload lies once padding (and priority) are removed. */
export interface PayloadBounds {
  start: number;
  end: number;
}

/**
 * Removes the padding of a PADDED frame (DATA, HEADERS: Section 6.1, 6.2) and, for HEADERS with the
 * PRIORITY flag, the 5 bytes of priority. Padding as long as the payload is a PROTOCOL_ERROR.
 */
export function unpad(flags: number, bytes: Uint8Array, bounds: PayloadBounds, priority: boolean): void {
  let { start, end } = bounds;
  if (flags & FLAG_PADDED) {
    if (end - start < 1) throw new H2ConnectionError(H2_FRAME_SIZE_ERROR, 'a padded frame without its Pad Length');
    const padLength = bytes[start]!;
    start++;
    if (padLength > end - start) throw new H2ConnectionError(H2_PROTOCOL_ERROR, `padding of ${padLength} bytes in a payload of ${end - start}`);
    end -= padLength;
  }
  if (priority && flags & FLAG_PRIORITY) {
    if (end - start < 5) throw new H2ConnectionError(H2_FRAME_SIZE_ERROR, 'HEADERS with PRIORITY shorter than 5 bytes');
    start += 5;
  }
  bounds.start = start;
  bounds.end = end;
}

/** A 32-bit big-endian value at `at`. */
export function readUint32(bytes: Uint8Array, at: number): number {
  return bytes[at]! * 2 ** 24 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
}
