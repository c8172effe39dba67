import { INTEGER_INCOMPLETE, MAX_PREFIXED_INTEGER, readInteger } from '../../fields/integer.ts';
import { QpackError, type QpackErrorCode } from './errors.ts';

export { MAX_PREFIXED_INTEGER };

/**
 * Thrown by a Reader when the input ends inside an instruction. Stream parsers catch it and wait
 * for more bytes; field-section parsers turn it into a decompression error.
 */
export class Incomplete {
  static readonly instance = new Incomplete();
}

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
    const value = readInteger(this, prefixBits, this.failBound, max);
    if (value === INTEGER_INCOMPLETE) throw Incomplete.instance;
    return value;
  }

  private readonly failBound = (message: string): never => this.fail(message);

  /** `length` bytes as a view (no copy). */
  take(length: number): Uint8Array {
    if (length > this.remaining) throw Incomplete.instance;
    const view = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return view;
  }
}
