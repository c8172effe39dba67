/**
 * QUIC frames (RFC 9000 section 19, and DATAGRAM of RFC 9221): every type read far enough to step
 * over it; STREAM, CRYPTO and ACK frames kept, the ones a reassembly and a loss analysis need. Pure.
 */
import { readVarintAt, varintSizeFromFirstByte } from '../h3/varint.ts';

export interface StreamFrame {
  kind: 'stream';
  streamId: number;
  offset: number;
  length: number;
  fin: boolean;
  /** The frame's data (a view into the decrypted payload). */
  data: Buffer;
}
export interface CryptoFrame {
  kind: 'crypto';
  offset: number;
  data: Buffer;
}
export interface AckFrame {
  kind: 'ack';
  /** Acknowledged packet numbers as inclusive ranges, highest first. */
  ranges: Array<[number, number]>;
}
export type Frame = StreamFrame | CryptoFrame | AckFrame;

export class FrameError extends Error {}

class Reader {
  constructor(
    private readonly buf: Buffer,
    public at = 0,
  ) {}
  get done(): boolean {
    return this.at >= this.buf.length;
  }
  varint(): number {
    if (this.at >= this.buf.length) throw new FrameError('a frame runs past the payload');
    const size = varintSizeFromFirstByte(this.buf[this.at]!);
    if (this.at + size > this.buf.length) throw new FrameError('a frame runs past the payload');
    const value = readVarintAt(this.buf, this.at);
    this.at += size;
    return value;
  }
  bytes(n: number): Buffer {
    if (this.at + n > this.buf.length) throw new FrameError('a frame runs past the payload');
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  rest(): Buffer {
    return this.bytes(this.buf.length - this.at);
  }
}

/** The varint fields of frame types that carry nothing else (RFC 9000 section 19). */
const VARINT_FIELDS: Record<number, number> = {
  0x04: 3, // RESET_STREAM: stream id, error code, final size
  0x05: 2, // STOP_SENDING: stream id, error code
  0x10: 1, // MAX_DATA
  0x11: 2, // MAX_STREAM_DATA
  0x12: 1, // MAX_STREAMS (bidi)
  0x13: 1, // MAX_STREAMS (uni)
  0x14: 1, // DATA_BLOCKED
  0x15: 2, // STREAM_DATA_BLOCKED
  0x16: 1, // STREAMS_BLOCKED (bidi)
  0x17: 1, // STREAMS_BLOCKED (uni)
  0x19: 1, // RETIRE_CONNECTION_ID
};

/** The frames of a decrypted payload; throws FrameError on a type it does not know or a frame cut short. */
export function parseFrames(payload: Buffer): Frame[] {
  const r = new Reader(payload);
  const frames: Frame[] = [];
  while (!r.done) {
    const type = r.varint();
    if (type === 0x00 || type === 0x01 || type === 0x1e) continue; // PADDING, PING, HANDSHAKE_DONE
    if (type in VARINT_FIELDS) {
      for (let i = 0; i < VARINT_FIELDS[type]!; i++) r.varint();
    } else if (type === 0x02 || type === 0x03) {
      const largest = r.varint();
      r.varint(); // ack delay
      const count = r.varint();
      let high = largest;
      let low = high - r.varint();
      const ranges: Array<[number, number]> = [[low, high]];
      for (let i = 0; i < count; i++) {
        high = low - r.varint() - 2;
        low = high - r.varint();
        ranges.push([low, high]);
      }
      if (type === 0x03) for (let i = 0; i < 3; i++) r.varint(); // ECN counts
      frames.push({ kind: 'ack', ranges });
    } else if (type === 0x06) {
      const offset = r.varint();
      frames.push({ kind: 'crypto', offset, data: r.bytes(r.varint()) });
    } else if (type === 0x07) {
      r.bytes(r.varint()); // NEW_TOKEN
    } else if (type >= 0x08 && type <= 0x0f) {
      const streamId = r.varint();
      const offset = type & 0x04 ? r.varint() : 0;
      const length = type & 0x02 ? r.varint() : payload.length - r.at;
      frames.push({ kind: 'stream', streamId, offset, length, fin: (type & 0x01) !== 0, data: r.bytes(length) });
    } else if (type === 0x18) {
      r.varint(); // sequence number
      r.varint(); // retire prior to
      r.bytes(r.bytes(1)[0]!); // connection id
      r.bytes(16); // stateless reset token
    } else if (type === 0x1a || type === 0x1b) {
      r.bytes(8); // PATH_CHALLENGE, PATH_RESPONSE
    } else if (type === 0x1c || type === 0x1d) {
      r.varint(); // error code
      if (type === 0x1c) r.varint(); // the frame type that caused it
      r.bytes(r.varint()); // reason
    } else if (type === 0x30) {
      r.rest(); // DATAGRAM to the end
    } else if (type === 0x31) {
      r.bytes(r.varint());
    } else {
      throw new FrameError(`unknown frame type 0x${type.toString(16)}`);
    }
  }
  return frames;
}

/** The bytes of CRYPTO frames from offset 0 on, as far as they are contiguous. */
export function contiguousCrypto(frames: readonly CryptoFrame[]): Buffer {
  const sorted = [...frames].sort((a, b) => a.offset - b.offset);
  const parts: Buffer[] = [];
  let next = 0;
  for (const f of sorted) {
    if (f.offset > next) break;
    const end = f.offset + f.data.length;
    if (end > next) parts.push(f.data.subarray(next - f.offset));
    next = Math.max(next, end);
  }
  return Buffer.concat(parts);
}
