/**
 * HTTP/3 frames (RFC 9114 section 7): constants, serializers, payload parsers, and FrameReader,
 * the incremental parser that turns a stream's bytes (split anywhere) into frame events.
 *
 * Every frame is
 *   Type (varint) | Length (varint) | Payload (Length bytes)
 */
import { connectionError, H3Error, H3_EXCESSIVE_LOAD, H3_FRAME_ERROR, H3_FRAME_UNEXPECTED, H3_SETTINGS_ERROR, streamError } from './errors.ts';
import { readVarintAt, readVarintBigAt, varintSize, varintSizeFromFirstByte, writeVarint } from './varint.ts';

// RFC 9114 section 11.2.1
export const FRAME_DATA = 0x00;
export const FRAME_HEADERS = 0x01;
export const FRAME_CANCEL_PUSH = 0x03;
export const FRAME_SETTINGS = 0x04;
export const FRAME_PUSH_PROMISE = 0x05;
export const FRAME_GOAWAY = 0x07;
export const FRAME_MAX_PUSH_ID = 0x0d;
/** HTTP/2 frame types with no HTTP/3 meaning (PRIORITY, PING, WINDOW_UPDATE, CONTINUATION): section 7.2.8. */
export const HTTP2_ONLY_FRAME_TYPES: ReadonlySet<number> = new Set([0x02, 0x06, 0x08, 0x09]);

// RFC 9114 section 7.2.4.1 and 11.2.2; RFC 9204 section 5
export const SETTINGS_QPACK_MAX_TABLE_CAPACITY = 0x01;
export const SETTINGS_MAX_FIELD_SECTION_SIZE = 0x06;
export const SETTINGS_QPACK_BLOCKED_STREAMS = 0x07;
/** RFC 9220 (extended CONNECT). */
export const SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x08;
/** RFC 9297 (HTTP datagrams). */
export const SETTINGS_H3_DATAGRAM = 0x33;
/** Identifiers of HTTP/2 settings that HTTP/3 reserves; receiving one is H3_SETTINGS_ERROR. */
export const HTTP2_ONLY_SETTINGS: ReadonlySet<number> = new Set([0x00, 0x02, 0x03, 0x04, 0x05]);

/** The N-th reserved code (0x1f * N + 0x21) for frame types, setting IDs, stream types, error codes (GREASE). */
export function reservedCode(n: number): number {
  return 0x1f * n + 0x21;
}
/** Whether a code has the reserved form 0x1f * N + 0x21 (to be ignored when received). */
export function isReservedCode(code: number | bigint): boolean {
  if (typeof code === 'bigint') return code >= 0x21n && (code - 0x21n) % 0x1fn === 0n;
  return code >= 0x21 && Number.isSafeInteger(code) && (code - 0x21) % 0x1f === 0;
}

/** The peer's settings by identifier. Identifiers above 2^53 (only GREASE) are rounded. */
export type SettingsMap = Map<number, number>;

export type Frame =
  | { type: 'headers'; fieldSection: Uint8Array }
  | { type: 'settings'; settings: SettingsMap }
  | { type: 'goaway'; id: number }
  | { type: 'max_push_id'; pushId: number }
  | { type: 'cancel_push'; pushId: number }
  | { type: 'push_promise'; pushId: number; fieldSection: Uint8Array };

// ------------------------------------------------------------------ serializers

/** Type and Length of a frame. */
export function encodeFrameHeader(type: number | bigint, length: number): Uint8Array {
  const out = new Uint8Array(varintSize(type) + varintSize(length));
  writeVarint(out, writeVarint(out, 0, type), length);
  return out;
}

/** A whole frame: header and payload in one array. */
export function encodeFrame(type: number | bigint, payload: Uint8Array): Uint8Array {
  const typeSize = varintSize(type);
  const out = new Uint8Array(typeSize + varintSize(payload.length) + payload.length);
  const at = writeVarint(out, writeVarint(out, 0, type), payload.length);
  out.set(payload, at);
  return out;
}

export const encodeDataFrame = (body: Uint8Array): Uint8Array => encodeFrame(FRAME_DATA, body);
export const encodeHeadersFrame = (fieldSection: Uint8Array): Uint8Array => encodeFrame(FRAME_HEADERS, fieldSection);

function varintPayload(value: number): Uint8Array {
  const out = new Uint8Array(varintSize(value));
  writeVarint(out, 0, value);
  return out;
}
export const encodeGoawayFrame = (id: number): Uint8Array => encodeFrame(FRAME_GOAWAY, varintPayload(id));
export const encodeMaxPushIdFrame = (pushId: number): Uint8Array => encodeFrame(FRAME_MAX_PUSH_ID, varintPayload(pushId));
export const encodeCancelPushFrame = (pushId: number): Uint8Array => encodeFrame(FRAME_CANCEL_PUSH, varintPayload(pushId));

export function encodePushPromiseFrame(pushId: number, fieldSection: Uint8Array): Uint8Array {
  const payload = new Uint8Array(varintSize(pushId) + fieldSection.length);
  payload.set(fieldSection, writeVarint(payload, 0, pushId));
  return encodeFrame(FRAME_PUSH_PROMISE, payload);
}

/** SETTINGS frame from (identifier, value) pairs, in the given order. */
export function encodeSettingsFrame(settings: Iterable<readonly [number | bigint, number | bigint]>): Uint8Array {
  const pairs = [...settings];
  let size = 0;
  for (const [id, value] of pairs) size += varintSize(id) + varintSize(value);
  const payload = new Uint8Array(size);
  let at = 0;
  for (const [id, value] of pairs) at = writeVarint(payload, writeVarint(payload, at, id), value);
  return encodeFrame(FRAME_SETTINGS, payload);
}

// ------------------------------------------------------------------ payload parsers

/** Parses a SETTINGS payload (section 7.2.4). Throws H3Error (connection scope). */
export function parseSettingsPayload(payload: Uint8Array): SettingsMap {
  const settings: SettingsMap = new Map();
  // Exact identifiers for the duplicate check: GREASE identifiers may exceed 2^53.
  const seen = new Set<number | bigint>();
  let at = 0;
  while (at < payload.length) {
    const idSize = varintSizeFromFirstByte(payload[at]!);
    if (at + idSize >= payload.length) throw connectionError(H3_FRAME_ERROR, 'SETTINGS payload ends inside a setting');
    const valueSize = varintSizeFromFirstByte(payload[at + idSize]!);
    if (at + idSize + valueSize > payload.length) throw connectionError(H3_FRAME_ERROR, 'SETTINGS payload ends inside a setting');
    const id = readVarintAt(payload, at);
    const exactId = Number.isSafeInteger(id) ? id : readVarintBigAt(payload, at);
    const value = readVarintAt(payload, at + idSize);
    at += idSize + valueSize;
    if (seen.has(exactId)) throw connectionError(H3_SETTINGS_ERROR, `duplicate setting 0x${exactId.toString(16)}`);
    seen.add(exactId);
    if (HTTP2_ONLY_SETTINGS.has(id)) throw connectionError(H3_SETTINGS_ERROR, `HTTP/2 setting 0x${id.toString(16)} in HTTP/3 SETTINGS`);
    if ((id === SETTINGS_ENABLE_CONNECT_PROTOCOL || id === SETTINGS_H3_DATAGRAM) && value > 1) {
      throw connectionError(H3_SETTINGS_ERROR, `setting 0x${id.toString(16)} must be 0 or 1, got ${value}`);
    }
    settings.set(id, value);
  }
  return settings;
}

/** A payload that must be exactly one varint (GOAWAY, MAX_PUSH_ID, CANCEL_PUSH). */
function parseSingleVarint(payload: Uint8Array, frameName: string): number {
  if (payload.length === 0 || varintSizeFromFirstByte(payload[0]!) !== payload.length) {
    throw connectionError(H3_FRAME_ERROR, `${frameName} payload must be exactly one varint (${payload.length} bytes)`);
  }
  return readVarintAt(payload, 0);
}

function parsePushPromisePayload(payload: Uint8Array): Frame {
  if (payload.length === 0 || varintSizeFromFirstByte(payload[0]!) > payload.length) {
    throw connectionError(H3_FRAME_ERROR, 'PUSH_PROMISE payload ends inside the push ID');
  }
  const size = varintSizeFromFirstByte(payload[0]!);
  return { type: 'push_promise', pushId: readVarintAt(payload, 0), fieldSection: payload.subarray(size) };
}

/** Parses the payload of a buffered (non-DATA) frame type FrameReader knows. */
export function parseFramePayload(frameType: number, payload: Uint8Array): Frame {
  switch (frameType) {
    case FRAME_HEADERS:
      return { type: 'headers', fieldSection: payload };
    case FRAME_SETTINGS:
      return { type: 'settings', settings: parseSettingsPayload(payload) };
    case FRAME_GOAWAY:
      return { type: 'goaway', id: parseSingleVarint(payload, 'GOAWAY') };
    case FRAME_MAX_PUSH_ID:
      return { type: 'max_push_id', pushId: parseSingleVarint(payload, 'MAX_PUSH_ID') };
    case FRAME_CANCEL_PUSH:
      return { type: 'cancel_push', pushId: parseSingleVarint(payload, 'CANCEL_PUSH') };
    case FRAME_PUSH_PROMISE:
      return parsePushPromisePayload(payload);
    default:
      throw new RangeError(`frame type 0x${frameType.toString(16)} has no buffered payload`);
  }
}

// ------------------------------------------------------------------ incremental reader

/** Which stream a FrameReader reads: decides which frame types are allowed (section 7.2). */
export type FrameStreamKind =
  /** A control stream (section 6.2.1): SETTINGS, GOAWAY, MAX_PUSH_ID, CANCEL_PUSH. */
  | 'control'
  /** A request stream read by the server: DATA, HEADERS. */
  | 'request'
  /** A request stream read by the client, or a push stream: DATA, HEADERS, PUSH_PROMISE. */
  | 'response';

export interface FrameReaderLimits {
  /** Largest HEADERS / PUSH_PROMISE payload buffered; beyond: stream error H3_EXCESSIVE_LOAD. */
  maxFieldSectionFrame: number;
  /** Largest SETTINGS payload; beyond: connection error H3_EXCESSIVE_LOAD. */
  maxSettingsFrame: number;
}

export const DEFAULT_FRAME_LIMITS: FrameReaderLimits = {
  maxFieldSectionFrame: 1 << 20,
  maxSettingsFrame: 16 << 10,
};

export type FrameEvent =
  /** A complete frame other than DATA. */
  | { kind: 'frame'; frame: Frame }
  /** A DATA frame header; its payload follows as 'data' events (none when length is 0). */
  | { kind: 'data-start'; length: number }
  /** A piece of DATA payload: a view into the pushed input (copy it to keep it past the next push). */
  | { kind: 'data'; bytes: Uint8Array }
  /** A reserved or unknown frame type; its payload is skipped without buffering (section 9). */
  | { kind: 'unknown'; frameType: number; length: number };

/**
 * FrameReader states. Transitions:
 *
 *   TYPE --varint--> LENGTH --varint--+-- DATA ----------------> DATA_PAYLOAD --length bytes--> TYPE
 *                                     +-- HEADERS, SETTINGS, ..> PAYLOAD --length bytes, parse--> TYPE
 *                                     +-- reserved / unknown --> SKIP --length bytes--> TYPE
 *   (a zero-length payload goes straight back to TYPE)
 *   any state --H3Error--> FAILED (every later call throws the same error)
 *
 * A varint split across pushes is collected in `partial` (at most 8 bytes); only PAYLOAD copies
 * input, bounded by FrameReaderLimits; DATA_PAYLOAD and SKIP never buffer.
 */
const enum State {
  TYPE,
  LENGTH,
  PAYLOAD,
  DATA_PAYLOAD,
  SKIP,
  FAILED,
}

const STATE_NAMES = ['TYPE', 'LENGTH', 'PAYLOAD', 'DATA_PAYLOAD', 'SKIP', 'FAILED'] as const;

const CONTROL_FRAMES: ReadonlySet<number> = new Set([FRAME_SETTINGS, FRAME_GOAWAY, FRAME_MAX_PUSH_ID, FRAME_CANCEL_PUSH]);
const REQUEST_FRAMES: ReadonlySet<number> = new Set([FRAME_DATA, FRAME_HEADERS]);
const RESPONSE_FRAMES: ReadonlySet<number> = new Set([FRAME_DATA, FRAME_HEADERS, FRAME_PUSH_PROMISE]);
const KNOWN_FRAMES: ReadonlySet<number> = new Set([
  FRAME_DATA,
  FRAME_HEADERS,
  FRAME_CANCEL_PUSH,
  FRAME_SETTINGS,
  FRAME_PUSH_PROMISE,
  FRAME_GOAWAY,
  FRAME_MAX_PUSH_ID,
]);

const FRAME_NAMES: Record<number, string> = {
  [FRAME_DATA]: 'DATA',
  [FRAME_HEADERS]: 'HEADERS',
  [FRAME_CANCEL_PUSH]: 'CANCEL_PUSH',
  [FRAME_SETTINGS]: 'SETTINGS',
  [FRAME_PUSH_PROMISE]: 'PUSH_PROMISE',
  [FRAME_GOAWAY]: 'GOAWAY',
  [FRAME_MAX_PUSH_ID]: 'MAX_PUSH_ID',
};
export const frameName = (type: number): string => FRAME_NAMES[type] ?? `0x${type.toString(16)}`;

export class FrameReader {
  private state = State.TYPE;
  private failure: H3Error | undefined;
  /** Input not yet consumed: chunks[head] from offset, then the rest. */
  private chunks: Uint8Array[] = [];
  private head = 0;
  private offset = 0;
  private bufferedBytes = 0;
  /** A varint split across chunks. */
  private readonly partial = new Uint8Array(8);
  private partialHave = 0;
  private partialNeed = 0;
  private frameType = 0;
  /** Payload bytes still to come in the current frame (PAYLOAD, DATA_PAYLOAD, SKIP). */
  private remaining = 0;
  private payload: Uint8Array = new Uint8Array(0);
  private payloadHave = 0;

  constructor(
    readonly kind: FrameStreamKind,
    private readonly limits: FrameReaderLimits = DEFAULT_FRAME_LIMITS,
  ) {}

  /** Appends input. The reader keeps views of it: the caller must not modify the bytes afterwards. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.head > 32 && this.head * 2 > this.chunks.length) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
  }

  /** Input bytes pushed and not yet consumed. */
  get buffered(): number {
    return this.bufferedBytes;
  }

  /** True between frames: a stream may end here without H3_FRAME_ERROR (section 7.1). */
  get atFrameBoundary(): boolean {
    return this.state === State.TYPE && this.partialHave === 0;
  }

  /** True while inside a DATA frame's payload. */
  get inDataPayload(): boolean {
    return this.state === State.DATA_PAYLOAD;
  }

  /** Payload bytes of the current DATA frame not yet returned. */
  get dataRemaining(): number {
    return this.state === State.DATA_PAYLOAD ? this.remaining : 0;
  }

  get stateName(): string {
    return STATE_NAMES[this.state];
  }

  /**
   * The next event, or null when more input is needed. DATA payload comes in pieces of at most
   * maxData bytes; with maxData 0 the reader stops (returns null) at DATA payload, leaving it
   * for a later call. Throws H3Error on a protocol violation; after that the reader is FAILED.
   */
  next(maxData = Infinity): FrameEvent | null {
    if (this.failure) throw this.failure;
    try {
      return this.step(maxData);
    } catch (e) {
      if (e instanceof H3Error) {
        this.failure = e;
        this.state = State.FAILED;
      }
      throw e;
    }
  }

  private step(maxData: number): FrameEvent | null {
    for (;;) {
      switch (this.state) {
        case State.TYPE: {
          const type = this.readVarint();
          if (type < 0) return null;
          this.frameType = type;
          this.state = State.LENGTH;
          break;
        }
        case State.LENGTH: {
          const length = this.readVarint();
          if (length < 0) return null;
          const event = this.startFrame(length);
          if (event) return event;
          break;
        }
        case State.DATA_PAYLOAD: {
          if (maxData <= 0 || this.bufferedBytes === 0) return null;
          const bytes = this.take(Math.min(maxData, this.remaining));
          this.remaining -= bytes.length;
          if (this.remaining === 0) this.state = State.TYPE;
          return { kind: 'data', bytes };
        }
        case State.SKIP: {
          if (this.bufferedBytes === 0) return null;
          this.remaining -= this.take(Math.min(this.remaining, this.bufferedBytes)).length;
          if (this.remaining === 0) this.state = State.TYPE;
          break;
        }
        case State.PAYLOAD: {
          if (this.bufferedBytes === 0) return null;
          const piece = this.take(this.remaining);
          // A payload inside one chunk is used in place; otherwise it is assembled.
          if (this.payloadHave === 0 && piece.length === this.remaining) {
            this.remaining = 0;
            return this.finishFrame(piece);
          }
          if (this.payload.length !== this.payloadHave + this.remaining) {
            this.payload = new Uint8Array(this.payloadHave + this.remaining);
          }
          this.payload.set(piece, this.payloadHave);
          this.payloadHave += piece.length;
          this.remaining -= piece.length;
          if (this.remaining === 0) {
            const payload = this.payload;
            this.payload = new Uint8Array(0);
            this.payloadHave = 0;
            return this.finishFrame(payload);
          }
          return null;
        }
        case State.FAILED:
          throw this.failure ?? new Error('frame reader failed');
      }
    }
  }

  /** After Type and Length: checks the type against the stream kind and limits, picks the next state. */
  private startFrame(length: number): FrameEvent | null {
    const type = this.frameType;
    if (HTTP2_ONLY_FRAME_TYPES.has(type)) {
      throw connectionError(H3_FRAME_UNEXPECTED, `HTTP/2 frame type 0x${type.toString(16)} is not allowed in HTTP/3`);
    }
    if (!KNOWN_FRAMES.has(type)) {
      this.remaining = length;
      this.state = length === 0 ? State.TYPE : State.SKIP;
      return { kind: 'unknown', frameType: type, length };
    }
    const allowed = this.kind === 'control' ? CONTROL_FRAMES : this.kind === 'request' ? REQUEST_FRAMES : RESPONSE_FRAMES;
    if (!allowed.has(type)) {
      throw connectionError(H3_FRAME_UNEXPECTED, `${frameName(type)} frame on a ${this.kind} stream`);
    }
    if (type === FRAME_DATA) {
      this.remaining = length;
      this.state = length === 0 ? State.TYPE : State.DATA_PAYLOAD;
      return { kind: 'data-start', length };
    }
    if (type === FRAME_HEADERS || type === FRAME_PUSH_PROMISE) {
      if (length > this.limits.maxFieldSectionFrame) {
        throw streamError(H3_EXCESSIVE_LOAD, `${frameName(type)} frame of ${length} bytes exceeds ${this.limits.maxFieldSectionFrame}`);
      }
    } else if (type === FRAME_SETTINGS) {
      if (length > this.limits.maxSettingsFrame) {
        throw connectionError(H3_EXCESSIVE_LOAD, `SETTINGS frame of ${length} bytes exceeds ${this.limits.maxSettingsFrame}`);
      }
    } else if (length > 8) {
      // GOAWAY, MAX_PUSH_ID, CANCEL_PUSH carry one varint: never more than 8 bytes.
      throw connectionError(H3_FRAME_ERROR, `${frameName(type)} frame of ${length} bytes`);
    }
    this.remaining = length;
    this.payloadHave = 0;
    if (length === 0) {
      this.state = State.TYPE;
      return this.finishFrame(new Uint8Array(0));
    }
    this.state = State.PAYLOAD;
    return null;
  }

  private finishFrame(payload: Uint8Array): FrameEvent {
    this.state = State.TYPE;
    return { kind: 'frame', frame: parseFramePayload(this.frameType, payload) };
  }

  /** Reads one varint from the input; -1 when it has not fully arrived (the bytes so far are kept). */
  private readVarint(): number {
    if (this.partialHave === 0) {
      if (this.bufferedBytes === 0) return -1;
      const chunk = this.chunks[this.head]!;
      const size = varintSizeFromFirstByte(chunk[this.offset]!);
      if (this.offset + size <= chunk.length) {
        const value = readVarintAt(chunk, this.offset);
        this.take(size);
        return value;
      }
      this.partialNeed = size;
    }
    while (this.partialHave < this.partialNeed && this.bufferedBytes > 0) {
      const piece = this.take(this.partialNeed - this.partialHave);
      this.partial.set(piece, this.partialHave);
      this.partialHave += piece.length;
    }
    if (this.partialHave < this.partialNeed) return -1;
    this.partialHave = 0;
    return readVarintAt(this.partial, 0);
  }

  /** Consumes up to n bytes from the current chunk (never spans chunks) and returns them as a view. */
  private take(n: number): Uint8Array {
    const chunk = this.chunks[this.head]!;
    const end = Math.min(chunk.length, this.offset + n);
    const piece = chunk.subarray(this.offset, end);
    this.bufferedBytes -= piece.length;
    if (end === chunk.length) {
      this.chunks[this.head] = EMPTY;
      this.head++;
      this.offset = 0;
      if (this.head === this.chunks.length) {
        this.chunks.length = 0;
        this.head = 0;
      }
    } else {
      this.offset = end;
    }
    return piece;
  }
}

const EMPTY = new Uint8Array(0);
