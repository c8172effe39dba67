import { QpackError, type QpackErrorCode } from './errors.ts';

/**
 * Thrown by a Reader when the input ends inside an instruction. Stream parsers catch it and wait
 * for more bytes; field-section parsers turn it into a decompression error.
 */
export class Incomplete {
  static readonly instance = new Incomplete();
}

/** Largest integer a prefixed integer may carry: beyond this JS numbers lose precision. */
export const MAX_PREFIXED_INTEGER = Number.MAX_SAFE_INTEGER;

/** A cursor over bytes that reports malformed input as QpackError with one fixed code. */
export class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    readonly errorCode: QpackErrorCode,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(message: string): never {
    throw new QpackError(this.errorCode, message);
  }

  peek(): number {
    if (this.pos >= this.end) throw Incomplete.instance;
    return this.bytes[this.pos]!;
  }

  /**
   * Prefixed integer (RFC 7541 Section 5.1, used by RFC 9204 Section 4.1.1). The prefix occupies
   * the low `prefixBits` bits of the current byte; the bits above it belong to the caller.
   */
  integer(prefixBits: number, max = MAX_PREFIXED_INTEGER): number {
    const prefixMax = (1 << prefixBits) - 1;
    let value = this.peek() & prefixMax;
    this.pos++;
    if (value < prefixMax) return value;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.end) throw Incomplete.instance;
      const byte = this.bytes[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if (value > max) this.fail(`integer exceeds ${max}`);
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
      // Zero continuation bytes could otherwise pad an integer forever.
      if (scale > 2 ** 56) this.fail('integer encoding too long');
    }
  }

  /** `length` bytes as a view (no copy). */
  take(length: number): Uint8Array {
    if (length > this.remaining) throw Incomplete.instance;
    const view = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return view;
  }
}
